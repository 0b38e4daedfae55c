/**
 * Checks a request's SigV4 signature the way API Gateway's AWS_IAM authorization does, and
 * answers refusals with API Gateway's 403 messages. For the local relay only: it knows a fixed
 * set of credentials instead of IAM.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { EXECUTE_API, queryOf } from '../client/sigv4';
import { NodeSha256 } from './node-sha256';

export interface LocalCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface IncomingSignedRequest {
  readonly method: string;
  /** The request target as received: path and query, percent-encoded. */
  readonly rawUrl: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type SigV4Result = { readonly ok: true; readonly accessKeyId: string } | { readonly ok: false; readonly message: string };

/** API Gateway accepts signatures up to 5 minutes away from its clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function amzDateToMs(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export class SigV4Verifier {
  private readonly credentials: ReadonlyMap<string, LocalCredential>;
  // One signer per credential keeps smithy's derived-key cache warm.
  private readonly signers = new Map<string, SignatureV4>();

  constructor(credentials: readonly LocalCredential[], private readonly region: string, private readonly service = EXECUTE_API) {
    this.credentials = new Map(credentials.map((c) => [c.accessKeyId, c]));
  }

  async verify(request: IncomingSignedRequest, nowMs = Date.now()): Promise<SigV4Result> {
    const authorization = header(request.headers, 'authorization');
    if (!authorization) return { ok: false, message: 'Forbidden' };
    const m = AUTHORIZATION.exec(authorization);
    if (!m) return { ok: false, message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.` };
    const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m;
    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.includes('host')) return { ok: false, message: `'Host' must be a 'SignedHeader' in the AWS Authorization.` };
    const amzDate = header(request.headers, 'x-amz-date');
    const signedAt = amzDate === undefined ? undefined : amzDateToMs(amzDate);
    if (amzDate === undefined || signedAt === undefined || !signedHeaders.includes('x-amz-date')) {
      return { ok: false, message: `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.` };
    }
    if (signedAt < nowMs - MAX_CLOCK_SKEW_MS) {
      return { ok: false, message: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - MAX_CLOCK_SKEW_MS)} (${formatAmzDate(nowMs)} - 5 min.)` };
    }
    if (signedAt > nowMs + MAX_CLOCK_SKEW_MS) {
      return { ok: false, message: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(nowMs + MAX_CLOCK_SKEW_MS)} (${formatAmzDate(nowMs)} + 5 min.)` };
    }
    if (scopeDate !== amzDate.slice(0, 8)) return { ok: false, message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.` };
    if (service !== this.service) return { ok: false, message: `Credential should be scoped to correct service: '${this.service}'. ` };
    if (region !== this.region) return { ok: false, message: `Credential should be scoped to a valid region. ` };
    const credential = this.credentials.get(accessKeyId);
    const token = header(request.headers, 'x-amz-security-token');
    if (!credential || (token ?? undefined) !== credential.sessionToken) {
      return { ok: false, message: 'The security token included in the request is invalid.' };
    }

    // Recompute over exactly the headers the caller signed, with the values received.
    const url = new URL(request.rawUrl, 'http://local');
    const query = queryOf(url);
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = header(request.headers, name);
      if (value === undefined) return { ok: false, message: MISMATCH };
      headers[name] = value;
    }
    let signer = this.signers.get(accessKeyId);
    if (!signer) {
      signer = new SignatureV4({ service, region, credentials: credential, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
      this.signers.set(accessKeyId, signer);
    }
    const expected = await signer.sign(
      { method: request.method, protocol: 'http:', hostname: headers.host ?? '', path: url.pathname, query, headers, body: request.body },
      { signingDate: new Date(signedAt) },
    );
    const expectedSignature = /Signature=([0-9a-f]{64})$/.exec(String(expected.headers.authorization))?.[1] ?? '';
    const same = expectedSignature.length === signature.length && timingSafeEqual(Buffer.from(expectedSignature), Buffer.from(signature));
    return same ? { ok: true, accessKeyId } : { ok: false, message: MISMATCH };
  }
}
