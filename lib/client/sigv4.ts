/**
 * SigV4 request signing for API Gateway (`execute-api`), on `@smithy/signature-v4` with
 * `@aws-crypto/sha256-js` (`@aws-sdk/signature-v4` is now only a re-export of an old copy).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor } from '@smithy/types';

export const EXECUTE_API = 'execute-api';

export interface SignRequestInput {
  readonly method: string;
  readonly url: URL;
  /** The path to sign. @default - the URL's path as sent on the wire (percent-encoded) */
  readonly path?: string;
  /** Headers to send (and sign); `host` is added from the URL. */
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly region: string;
  /** @default 'execute-api' */
  readonly service?: string;
  readonly credentials: AwsCredentialIdentity;
  /** @default - now */
  readonly signingDate?: Date;
  /** Hash implementation. @default Sha256 from @aws-crypto/sha256-js */
  readonly sha256?: ChecksumConstructor;
}

/** A URL's query as the signer takes it: decoded, repeated keys as arrays. */
export function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const existing = query[k];
    query[k] = existing === undefined ? v : [...[existing].flat(), v];
  }
  return query;
}

// Signers kept per credential and scope: each one caches its derived signing key for the day.
const signers = new Map<string, SignatureV4>();

function signerFor(input: SignRequestInput): SignatureV4 {
  const service = input.service ?? EXECUTE_API;
  const sha256 = input.sha256 ?? Sha256;
  const c = input.credentials;
  const key = JSON.stringify([c.accessKeyId, c.secretAccessKey, c.sessionToken, input.region, service, sha256.name]);
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size >= 32) signers.clear();
    signer = new SignatureV4({
      service,
      region: input.region,
      credentials: c,
      sha256,
      // Non-S3 services expect each path segment URI-encoded (again) in the canonical request.
      uriEscapePath: true,
      // x-amz-content-sha256 is an S3 header; API Gateway hashes the payload itself.
      applyChecksum: false,
    });
    signers.set(key, signer);
  }
  return signer;
}

/** Returns the headers to send: the given ones plus `host`, `x-amz-date`, `authorization` and, for temporary credentials, `x-amz-security-token`. */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const signer = signerFor(input);
  const query = queryOf(input.url);
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: input.url.protocol,
      hostname: input.url.hostname,
      port: input.url.port ? Number(input.url.port) : undefined,
      // The path as sent on the wire (percent-encoded once), which is what the server canonicalizes.
      path: input.path ?? input.url.pathname,
      query,
      headers: { ...input.headers, host: input.url.host },
      body: input.body,
    },
    { signingDate: input.signingDate },
  );
  return signed.headers as Record<string, string>;
}

/** `eu-west-1` from `https://abc123.execute-api.eu-west-1.amazonaws.com` (and the .cn and FIPS forms). */
export function regionFromExecuteApiUrl(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(url.hostname)?.[1];
}
