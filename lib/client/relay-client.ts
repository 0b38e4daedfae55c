/**
 * `RelayClient`: sends events to a relay's ingest API. Each attempt builds the envelope with the
 * shared contract module (same id, fresh `ts`), signs it with Ed25519, and signs the HTTP request
 * with SigV4 using credentials from the standard AWS chain. Network errors, timeouts, 429 and 5xx
 * are retried with exponential backoff and full jitter, honouring `Retry-After`.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { BATCH_ENVELOPE_VERSION, ENVELOPE_ID_PATTERN, ENVELOPE_VERSION, MAX_BATCH_EVENTS, MAX_PAYLOAD_BYTES, signEnvelope, type Envelope, type EnvelopeVersion } from '../contracts/envelope';
import { EventType } from '../contracts/events';
import { RelayOutcome } from '../contracts/lane';

const RELAY_OUTCOME_CHECKED = RelayOutcome.Checked;
import { IngestRoute } from '../contracts/routes';
import { HttpTimeoutError, send, type HttpAnswer } from './http';
import { parsePrivateKey } from './keys';
import { regionFromExecuteApiUrl, signRequest } from './sigv4';

/** Each attempt's timeout unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface RelayClientOptions {
  /** The ingest API's base URL (stack output `IngestUrl`, or the local relay's URL). */
  readonly url: string;
  /** Key id the relay knows the public key by. */
  readonly kid: string;
  /** The Ed25519 private key, or its PKCS#8 PEM text. */
  readonly privateKey: KeyObject | string;
  /** @default - from the URL (`…execute-api.<region>.amazonaws.com`), else AWS_REGION / AWS_DEFAULT_REGION */
  readonly region?: string;
  /** @default - the standard AWS chain: environment, shared config/SSO, container and instance roles */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Per-attempt timeout. @default DEFAULT_TIMEOUT_MS (10000) */
  readonly timeoutMs?: number;
  /** Attempts in all, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** @default 250 */
  readonly baseDelayMs?: number;
  /** Cap on one backoff pause (a longer `Retry-After` is honoured up to 60 s). @default 20000 */
  readonly maxDelayMs?: number;
}

export interface SendOptions {
  /** The idempotency key. @default - a random UUID */
  readonly id?: string;
}

export interface SendResult {
  readonly id: string;
  readonly executionArn: string;
  readonly attempts: number;
}

export interface SyncResult {
  readonly id: string;
  readonly executionArn?: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  /** `Relay.*` code: the error of a failed execution, or e.g. `Relay.Ignored` of a successful one. */
  readonly code?: string;
  readonly cause?: string;
  /** The execution's output, parsed. */
  readonly output?: unknown;
  readonly attempts: number;
}

/** One event of a batch (`RelayClient.sendBatch`). */
export interface BatchEvent {
  /** The event's idempotency key. @default - a random UUID */
  readonly id?: string;
  readonly event: unknown;
}

export interface BatchSendResult extends SendResult {
  /** Each event's id, in the batch's order. */
  readonly ids: readonly string[];
}

/** What the relay did with one event of a batch (the execution output's `events`). */
export interface EventOutcome {
  readonly id: string;
  readonly outcome: RelayOutcome;
  readonly kind?: string;
  /** The channel it was queued to (the first, when it went to several). */
  readonly channel?: string;
  /** Every channel it was queued to, when it went to more than one. */
  readonly channels?: readonly string[];
  /** `Relay.*`: why it was rejected, ignored or failed, or `Relay.Duplicate`. */
  readonly code?: string;
  readonly reason?: string;
  readonly cause?: string;
}

export interface BatchSyncResult extends SyncResult {
  readonly ids: readonly string[];
  /** Each event's outcome, in the batch's order; absent when the execution failed as a whole (the envelope was rejected). */
  readonly events?: readonly EventOutcome[];
}

/** One attempt's raw answer (`RelayClient.attempt`). */
export interface AttemptResult {
  readonly id: string;
  readonly answer: HttpAnswer;
  readonly ms: number;
}

export type RelayClientErrorKind =
  /** Bad options or event: nothing was sent. */
  | 'invalid'
  /** 403: the IAM identity may not call the API, or the request signature was refused. */
  | 'forbidden'
  /** Another 4xx: the API refused the request as such. */
  | 'rejected'
  /** 429/5xx, a timeout or a network error on every attempt. */
  | 'unavailable';

export class RelayClientError extends Error {
  constructor(
    public readonly kind: RelayClientErrorKind,
    message: string,
    public readonly status?: number,
    public readonly attempts = 0,
    /** For `invalid`: the option at fault, so a caller can name its own flag or setting. */
    public readonly option?: keyof RelayClientOptions,
  ) {
    super(message);
    this.name = 'RelayClientError';
  }
}

const RETRY_AFTER_CAP_MS = 60_000;

/** An envelope ready to sign, and where it goes. */
interface Prepared {
  readonly v: EnvelopeVersion;
  readonly id: string;
  readonly url: URL;
  readonly payload: string;
}

function checkedId(id: string = randomUUID()): string {
  if (typeof id !== 'string' || !ENVELOPE_ID_PATTERN.test(id)) throw new RelayClientError('invalid', `id "${id}" must be 1-128 characters of [A-Za-z0-9._:-]`);
  return id;
}

/** Milliseconds from a `Retry-After` header (delta-seconds, possibly fractional, or an HTTP date). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export class RelayClient {
  private readonly url: URL;
  private readonly region: string;
  private readonly privateKey: KeyObject;
  private readonly credentials: AwsCredentialIdentityProvider;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  /** Overridable in tests. */
  protected random: () => number = Math.random;
  protected sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  constructor(private readonly options: RelayClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new RelayClientError('invalid', `url "${options.url}" is not a URL; use the IngestUrl stack output, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com`, undefined, 0, 'url');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RelayClientError('invalid', `url must be http(s), got ${url.protocol}`, undefined, 0, 'url');
    this.url = url;
    const region = options.region ?? regionFromExecuteApiUrl(url) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new RelayClientError('invalid', `cannot tell the region from ${url.host}; pass region (or set AWS_REGION)`, undefined, 0, 'region');
    this.region = region;
    this.privateKey = typeof options.privateKey === 'string' ? parsePrivateKey(options.privateKey) : options.privateKey;
    const creds = options.credentials ?? fromNodeProviderChain();
    this.credentials = typeof creds === 'function' ? creds : async () => creds;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
  }

  /** The key id envelopes are signed under. */
  get kid(): string {
    return this.options.kid;
  }

  /** Starts an execution; resolves with its ARN once the relay has accepted the event. */
  async send(event: unknown, options: SendOptions = {}): Promise<SendResult> {
    return this.started(await this.post(this.prepare(IngestRoute.Events, event, options)));
  }

  /** Runs the execution and resolves with its outcome (a relay rejection is an outcome, not an exception). */
  async sendSync(event: unknown, options: SendOptions = {}): Promise<SyncResult> {
    return this.outcome(await this.post(this.prepare(IngestRoute.EventsSync, event, options)));
  }

  /**
   * Several events in one signed envelope (v2; 1-10 events, at most 16 KiB in all): one request and
   * one execution, each event claimed, routed and queued on its own under its own id. Events of a
   * batch are handled side by side: keep two whose order matters (one member's join and leave) in
   * separate sends.
   */
  async sendBatch(events: readonly BatchEvent[], options: SendOptions = {}): Promise<BatchSendResult> {
    const prepared = this.prepareBatch(IngestRoute.Events, events, options);
    return { ...this.started(await this.post(prepared)), ids: prepared.ids };
  }

  /** {@link sendBatch}, waiting for the execution: each event's outcome, in order. */
  async sendBatchSync(events: readonly BatchEvent[], options: SendOptions = {}): Promise<BatchSyncResult> {
    const prepared = this.prepareBatch(IngestRoute.EventsSync, events, options);
    const result = this.outcome(await this.post(prepared));
    const outcomes = (result.output as { events?: EventOutcome[] } | undefined)?.events;
    return { ...result, ids: prepared.ids, ...(Array.isArray(outcomes) ? { events: outcomes } : {}) };
  }

  /**
   * Whether the relay takes batched envelopes: one probe heartbeat (verified, never recorded) in a
   * v2 envelope through `/events/sync`. A relay older than batches answers `Relay.Malformed`
   * (false); one that cannot be reached rejects, so the caller can ask again later.
   */
  async acceptsBatches(forwarder = 'forwarder'): Promise<boolean> {
    const probe = { type: EventType.ForwarderHeartbeat, forwarder, probe: true, at: new Date().toISOString() };
    const result = await this.sendBatchSync([{ id: `batch-probe:${randomUUID()}`, event: probe }]);
    return result.status === 'SUCCEEDED' && result.events?.[0]?.outcome === RELAY_OUTCOME_CHECKED;
  }

  private started({ id, body, attempts }: { id: string; body: unknown; attempts: number }): SendResult {
    const executionArn = (body as { executionArn?: unknown }).executionArn;
    if (typeof executionArn !== 'string') throw new RelayClientError('rejected', `unexpected answer from ${this.url.host}: no executionArn`, 200, attempts);
    return { id, executionArn, attempts };
  }

  private outcome({ id, body, attempts }: { id: string; body: unknown; attempts: number }): SyncResult {
    const b = body as { executionArn?: string; status?: SyncResult['status']; error?: string; cause?: string; output?: string };
    if (!b.status) throw new RelayClientError('rejected', `unexpected answer from ${this.url.host}: no status`, 200, attempts);
    let output: unknown;
    if (typeof b.output === 'string') {
      try {
        output = JSON.parse(b.output);
      } catch {
        output = b.output;
      }
    }
    const code = b.error ?? (output as { code?: string } | undefined)?.code;
    return { id, executionArn: b.executionArn, status: b.status, code, cause: b.cause, output, attempts };
  }

  /**
   * One signed attempt at `route`, no retry: the raw answer, for tools that judge it themselves
   * (`relay doctor`). Network errors and timeouts reject.
   */
  async attempt(route: string, event: unknown, options: SendOptions = {}): Promise<AttemptResult> {
    const prepared = this.prepare(route, event, options);
    const started = Date.now();
    const { response, networkError } = await this.signedAttempt(prepared);
    if (!response) throw networkError;
    return { id: prepared.id, answer: response, ms: Date.now() - started };
  }

  private prepare(route: string, event: unknown, options: SendOptions): Prepared {
    const id = checkedId(options.id);
    const payload = typeof event === 'string' ? event : JSON.stringify(event);
    if (payload === undefined) throw new RelayClientError('invalid', 'the event must be a JSON value or a JSON string');
    return this.prepared(route, ENVELOPE_VERSION, id, payload, 'the event');
  }

  private prepareBatch(route: string, events: readonly BatchEvent[], options: SendOptions): Prepared & { ids: string[] } {
    if (!Array.isArray(events) || events.length < 1 || events.length > MAX_BATCH_EVENTS) {
      throw new RelayClientError('invalid', `a batch holds 1-${MAX_BATCH_EVENTS} events, got ${Array.isArray(events) ? events.length : typeof events}`);
    }
    const items = events.map((e, i) => {
      if (typeof e !== 'object' || e === null || e.event === undefined) throw new RelayClientError('invalid', `batch[${i}] must be { id?, event }`);
      return { id: checkedId(e.id), event: e.event };
    });
    const ids = items.map((item) => item.id);
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice) throw new RelayClientError('invalid', `id "${twice}" appears twice in the batch; each event needs its own id`);
    return { ...this.prepared(route, BATCH_ENVELOPE_VERSION, checkedId(options.id), JSON.stringify(items), 'the batch'), ids };
  }

  private prepared(route: string, v: EnvelopeVersion, id: string, payload: string, what: string): Prepared {
    const size = Buffer.byteLength(payload, 'utf8');
    if (size > MAX_PAYLOAD_BYTES) throw new RelayClientError('invalid', `${what} is ${size} bytes; the relay accepts at most ${MAX_PAYLOAD_BYTES}`);
    const url = new URL(route.replace(/^\//, ''), this.url.href.endsWith('/') ? this.url : new URL(`${this.url.href}/`));
    return { v, id, url, payload };
  }

  /** Re-signed every attempt: a fresh ts keeps a late retry inside the freshness window. A network error or timeout is returned, not thrown. */
  private async signedAttempt({ v, id, url, payload }: Prepared): Promise<{ response?: HttpAnswer; networkError?: Error; credentials: AwsCredentialIdentity }> {
    const envelope: Envelope = signEnvelope({ v, id, kid: this.options.kid, ts: Math.floor(Date.now() / 1000), payload }, this.privateKey);
    const body = JSON.stringify(envelope);
    const credentials = await this.credentials();
    const headers = await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: this.region, credentials });
    try {
      return { response: await send(url, { method: 'POST', headers, body, timeoutMs: this.timeoutMs }), credentials };
    } catch (error) {
      return { networkError: error as Error, credentials };
    }
  }

  private async post(prepared: Prepared): Promise<{ id: string; body: unknown; attempts: number }> {
    const { id, url } = prepared;
    let lastProblem = '';
    let lastStatus: number | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      const { response, networkError, credentials } = await this.signedAttempt(prepared);
      if (!response) {
        const e = networkError as NodeJS.ErrnoException;
        lastProblem = e instanceof HttpTimeoutError ? e.message : `network error: ${e.code ?? e.message}`;
        lastStatus = undefined;
        if (attempt < this.maxAttempts) await this.sleep(this.backoff(attempt));
        continue;
      }
      const text = response.text;
      if (response.status >= 200 && response.status <= 299) {
        try {
          return { id, body: JSON.parse(text), attempts: attempt };
        } catch {
          throw new RelayClientError('rejected', `unexpected answer from ${url.host}: not JSON`, response.status, attempt);
        }
      }
      if (response.status === 429 || response.status >= 500) {
        lastProblem = `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
        lastStatus = response.status;
        retryAfterMs = parseRetryAfter(response.headers['retry-after'] ?? null);
        if (attempt < this.maxAttempts) {
          await this.sleep(retryAfterMs === undefined ? this.backoff(attempt) : Math.min(retryAfterMs, RETRY_AFTER_CAP_MS));
        }
        continue;
      }
      if (response.status === 403) {
        throw new RelayClientError('forbidden', this.forbiddenMessage(credentials, text), 403, attempt);
      }
      throw new RelayClientError('rejected', `${url.host} answered HTTP ${response.status}: ${text.slice(0, 500)}`, response.status, attempt);
    }
    throw new RelayClientError('unavailable', `gave up after ${this.maxAttempts} attempts to ${url.host}; last: ${lastProblem}`, lastStatus, this.maxAttempts);
  }

  /** Full jitter: a uniform pause between 0 and min(cap, base·2^(attempt-1)). */
  private backoff(attempt: number): number {
    return Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
  }

  private forbiddenMessage(credentials: AwsCredentialIdentity, body: string): string {
    let reason = body;
    try {
      const parsed = JSON.parse(body) as { message?: string; Message?: string };
      reason = parsed.message ?? parsed.Message ?? body;
    } catch {
      // not JSON: keep the text
    }
    const key = credentials.accessKeyId;
    const shown = key.length > 8 ? `${key.slice(0, 4)}…${key.slice(-4)}` : key;
    return [
      `403 Forbidden from ${this.url.host}: ${reason.slice(0, 300)}`,
      `The request was signed with access key ${shown}${credentials.sessionToken ? ' (temporary credentials)' : ''} for region ${this.region}.`,
      'That identity must be allowed to call the relay: attach the stack output CallerPolicyArn to it, e.g.',
      '  aws iam attach-role-policy --role-name <role> --policy-arn <CallerPolicyArn>',
      'Run `aws sts get-caller-identity` to see which role or user that key belongs to.',
    ].join('\n');
  }
}
