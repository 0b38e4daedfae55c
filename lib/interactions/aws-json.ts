/**
 * A minimal AWS JSON-protocol client for the Interactions and registration functions: SigV4 with
 * node:crypto, one POST per call over node:https. The AWS SDK would be several hundred KB in a
 * function whose bundle bar is 20 KB and whose answer Discord needs within 3 s. DynamoDB, SQS
 * and CloudWatch speak AWS JSON 1.0, Secrets Manager 1.1 (register row "aws json"); the signature
 * is checked against @smithy/signature-v4's in test/interactions/aws-json.test.ts. The request
 * goes through the client's `send` (kept-alive connections across warm invocations).
 */
import { createHash, createHmac } from 'node:crypto';
import { send } from '../client/http';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A service's JSON API: `call('GetItem', {...})`. */
export type AwsJsonCall = (operation: string, body: Record<string, unknown>, timeoutMs?: number) => Promise<Record<string, unknown>>;

export interface AwsService {
  /** Signing name and endpoint prefix: `dynamodb`, `sqs`, `monitoring`, `secretsmanager`. */
  readonly name: string;
  /** The `X-Amz-Target` prefix: `DynamoDB_20120810`, `AmazonSQS`, `GraniteServiceVersion20100801`, `secretsmanager`. */
  readonly target: string;
  /** '1.0' or '1.1'. */
  readonly jsonVersion: string;
}

export const Services = {
  DynamoDB: { name: 'dynamodb', target: 'DynamoDB_20120810', jsonVersion: '1.0' },
  Sqs: { name: 'sqs', target: 'AmazonSQS', jsonVersion: '1.0' },
  CloudWatch: { name: 'monitoring', target: 'GraniteServiceVersion20100801', jsonVersion: '1.0' },
  SecretsManager: { name: 'secretsmanager', target: 'secretsmanager', jsonVersion: '1.1' },
} as const satisfies Record<string, AwsService>;

/** An AWS error answer: `name` is the exception (`ConditionalCheckFailedException`), the message AWS's. */
export class AwsCallError extends Error {
  constructor(name: string, message: string, public readonly status: number) {
    super(message);
    this.name = name;
  }
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** SigV4 headers for a POST of `body` to `/` of `host` (what every JSON-protocol call is). */
export function signJsonPost(
  input: { host: string; region: string; service: string; target: string; contentType: string; body: string; credentials: AwsCredentials; date: Date },
): Record<string, string> {
  const amzDate = input.date.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': input.contentType,
    host: input.host,
    'x-amz-date': amzDate,
    ...(input.credentials.sessionToken ? { 'x-amz-security-token': input.credentials.sessionToken } : {}),
    'x-amz-target': input.target,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), sha256(input.body)].join('\n');
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${input.credentials.secretAccessKey}`, day);
  for (const part of [input.region, input.service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** The credentials Lambda gives a function. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): AwsCredentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** `service`'s JSON API in `region`, signed with `credentials()` (read per call: Lambda's can change between invocations). */
export function awsJsonClient(service: AwsService, region: string, credentials: () => AwsCredentials): AwsJsonCall {
  const host = `${service.name}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  return (operation, payload, timeoutMs = 2000) => {
    const body = JSON.stringify(payload);
    const headers = signJsonPost({
      host, region, service: service.name, target: `${service.target}.${operation}`, contentType: `application/x-amz-json-${service.jsonVersion}`,
      body, credentials: credentials(), date: new Date(),
    });
    return send(new URL(`https://${host}/`), { method: 'POST', headers, body, timeoutMs }).then((answer) => {
      let parsed: Record<string, unknown> = {};
      try { parsed = answer.text ? JSON.parse(answer.text) as Record<string, unknown> : {}; } catch { /* not JSON: reported by status below */ }
      if (answer.status >= 200 && answer.status < 300) return parsed;
      const type = String(parsed.__type ?? `HTTP${answer.status}`).split('#').pop()!;
      throw new AwsCallError(type, String(parsed.message ?? parsed.Message ?? answer.text.slice(0, 200)), answer.status);
    });
  };
}
