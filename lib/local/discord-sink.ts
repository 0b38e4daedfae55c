/**
 * A stand-in for Discord's webhook endpoint: validates messages like Discord (limits → 400 with
 * Discord's error JSON), rate-limits each webhook like Discord (429 with `retry_after` and the
 * `X-RateLimit-*` headers), answers 404 for unknown webhooks, and records what it accepts.
 * Execute Webhook posts a message; Edit Webhook Message (`PATCH …/messages/<id>`) changes one in
 * place, or answers 404 Unknown Message (10008) for a message it does not hold (a moderator
 * deleted it, or it is older than what the sink keeps).
 */
import { randomUUID } from 'node:crypto';
import type { ChannelKind } from '../contracts/routes';
import { SinkWebhooks } from './sink-webhooks';

export interface RateLimit {
  /** Requests per window and webhook. */
  readonly limit: number;
  readonly windowMs: number;
}

/** Roughly Discord's per-webhook limit (unofficial): 5 requests per 2 s. */
export const DISCORD_WEBHOOK_RATE_LIMIT: RateLimit = { limit: 5, windowMs: 2000 };

export interface SinkMessage {
  /** Discord's message id (a snowflake-like string), what an edit names. */
  readonly id: string;
  readonly channel: string;
  /** Which kind of webhook took it: a Discord webhook, or a Slack incoming webhook (SlackSink). */
  readonly kind: ChannelKind;
  /** The JSON that reached the webhook; after edits, the message as it now reads. */
  body: unknown;
  readonly receivedAt: string;
  /** How many times it was edited, and when last. */
  edits: number;
  editedAt?: string;
}

export interface SinkResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

export interface SinkStats {
  readonly accepted: number;
  readonly edited: number;
  readonly unknownMessage: number;
  readonly rateLimited: number;
  readonly invalid: number;
  readonly unknownWebhook: number;
}

// Discord's documented limits.
const LIMITS = { content: 2000, embeds: 10, title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, author: 256, embedTotal: 6000 };

type FieldErrors = Record<string, unknown>;

function maxLength(n: number) {
  return { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${n} or fewer in length.` }] };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Discord's validation of a webhook message body: field errors in Discord's shape, or undefined. */
export function validateWebhookMessage(body: Record<string, unknown>): { errors?: FieldErrors; empty?: boolean } {
  const errors: FieldErrors = {};
  if (body.content !== undefined && typeof body.content !== 'string') errors.content = { _errors: [{ code: 'BASE_TYPE_STRING', message: 'Must be a string.' }] };
  else if (str(body.content).length > LIMITS.content) errors.content = maxLength(LIMITS.content);
  const embeds = body.embeds === undefined ? [] : body.embeds;
  if (!Array.isArray(embeds)) errors.embeds = { _errors: [{ code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' }] };
  else if (embeds.length > LIMITS.embeds) errors.embeds = maxLength(LIMITS.embeds);
  else {
    let total = 0;
    const embedErrors: FieldErrors = {};
    embeds.forEach((e: Record<string, any>, i) => {
      const own: FieldErrors = {};
      if (str(e?.title).length > LIMITS.title) own.title = maxLength(LIMITS.title);
      if (str(e?.description).length > LIMITS.description) own.description = maxLength(LIMITS.description);
      const fields = Array.isArray(e?.fields) ? e.fields : [];
      if (fields.length > LIMITS.fields) own.fields = maxLength(LIMITS.fields);
      fields.forEach((f: Record<string, unknown>, j: number) => {
        const fe: FieldErrors = {};
        if (str(f?.name).length > LIMITS.fieldName) fe.name = maxLength(LIMITS.fieldName);
        if (str(f?.value).length > LIMITS.fieldValue) fe.value = maxLength(LIMITS.fieldValue);
        if (Object.keys(fe).length) own.fields = { ...(own.fields as object), [j]: fe };
        total += str(f?.name).length + str(f?.value).length;
      });
      if (str(e?.footer?.text).length > LIMITS.footer) own.footer = { text: maxLength(LIMITS.footer) };
      if (str(e?.author?.name).length > LIMITS.author) own.author = { name: maxLength(LIMITS.author) };
      total += str(e?.title).length + str(e?.description).length + str(e?.footer?.text).length + str(e?.author?.name).length;
      if (Object.keys(own).length) embedErrors[i] = own;
    });
    if (Object.keys(embedErrors).length) errors.embeds = embedErrors;
    else if (total > LIMITS.embedTotal) errors.embeds = { _errors: [{ code: 'MAX_EMBED_SIZE_EXCEEDED', message: `Embed size exceeds maximum size of ${LIMITS.embedTotal}` }] };
  }
  if (Object.keys(errors).length) return { errors };
  const empty = str(body.content).trim() === '' && (!Array.isArray(body.embeds) || body.embeds.length === 0);
  return empty ? { empty } : {};
}

interface Bucket {
  remaining: number;
  resetAt: number;
}

/** How much the sink remembers: a long-running local relay must not grow without bound. */
export interface SinkRetention {
  /** Newest messages kept for `/_sink/messages` and the page. @default 1000 */
  readonly messages?: number;
  /** Newest requests whose headers are kept. @default 100 */
  readonly requestHeaders?: number;
}

/** Drops the oldest entries beyond `max`. */
function keepNewest<T>(list: T[], max: number): void {
  if (list.length > max) list.splice(0, list.length - max);
}

export class DiscordSink {
  /** The newest accepted messages, oldest first (at most `retention.messages`). */
  public readonly messages: SinkMessage[] = [];
  /** Headers of the newest requests that reached a webhook (in-process only; not served). */
  public readonly requestHeaders: Array<{ channel: string; headers: Record<string, string> }> = [];
  private readonly maxMessages: number;
  private readonly maxRequestHeaders: number;
  /** The config's channels: the only webhooks there are to delete or restore. */
  private readonly webhooks: SinkWebhooks;
  private readonly buckets = new Map<string, Bucket>();
  private counts = { accepted: 0, edited: 0, unknownMessage: 0, rateLimited: 0, invalid: 0, unknownWebhook: 0 };
  private lastId = 0n;

  constructor(
    channels: readonly string[],
    private rateLimit: RateLimit | false = DISCORD_WEBHOOK_RATE_LIMIT,
    private readonly now: () => number = Date.now,
    retention: SinkRetention = {},
  ) {
    this.webhooks = new SinkWebhooks(channels);
    this.maxMessages = retention.messages ?? 1000;
    this.maxRequestHeaders = retention.requestHeaders ?? 100;
  }

  get stats(): SinkStats {
    return { ...this.counts };
  }

  setRateLimit(rateLimit: RateLimit | false): void {
    this.rateLimit = rateLimit;
    this.buckets.clear();
  }

  /** The config's channels: the only webhooks there are to delete or restore. */
  get channels(): ReadonlySet<string> {
    return this.webhooks.channels;
  }

  /** Deletes a channel's webhook (as a server admin might): later posts get 404. False when the config has no such channel. */
  deleteWebhook(channel: string): boolean {
    return this.webhooks.remove(channel);
  }

  /** Gives a channel its webhook back. False when the config has no such channel. */
  restoreWebhook(channel: string): boolean {
    return this.webhooks.restore(channel);
  }

  /** Deletes a message (as a moderator might): later edits of it get 404 Unknown Message. */
  deleteMessage(id: string): boolean {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i >= 0) this.messages.splice(i, 1);
    return i >= 0;
  }

  /** Handles `POST /api/webhooks/<channel>/…[?wait=true]`. */
  execute(channel: string, wait: boolean, rawBody: string, headers: Record<string, string> = {}): SinkResponse {
    const checked = this.check(channel, rawBody, headers);
    if ('response' in checked) return checked.response;
    const message = this.record(channel, checked.body, 'discord');
    this.counts.accepted++;
    if (!wait) return { status: 204, headers: checked.limitHeaders };
    return { status: 200, headers: checked.limitHeaders, body: this.asDiscordMessage(message) };
  }

  /** Keeps an accepted message, Discord's or (from SlackSink) Slack's, in the one list `/_sink/messages` serves. */
  record(channel: string, body: unknown, kind: ChannelKind): SinkMessage {
    const message: SinkMessage = { id: this.nextId(), channel, kind, body, receivedAt: new Date(this.now()).toISOString(), edits: 0 };
    this.messages.push(message);
    keepNewest(this.messages, this.maxMessages);
    return message;
  }

  /** Handles `PATCH /api/webhooks/<channel>/…/messages/<id>`: the fields sent replace the message's. */
  edit(channel: string, messageId: string, rawBody: string, headers: Record<string, string> = {}): SinkResponse {
    const checked = this.check(channel, rawBody, headers);
    if ('response' in checked) return checked.response;
    const message = this.messages.find((m) => m.channel === channel && m.id === messageId);
    if (!message) {
      this.counts.unknownMessage++;
      return { status: 404, headers: checked.limitHeaders, body: { message: 'Unknown Message', code: 10008 } };
    }
    message.body = { ...(message.body as Record<string, unknown>), ...checked.body };
    message.edits++;
    message.editedAt = new Date(this.now()).toISOString();
    this.counts.edited++;
    return { status: 200, headers: checked.limitHeaders, body: this.asDiscordMessage(message) };
  }

  /** What every webhook request goes through: the webhook exists, the bucket has room, the body is a valid message. */
  private check(channel: string, rawBody: string, headers: Record<string, string>): { body: Record<string, unknown>; limitHeaders: Record<string, string> } | { response: SinkResponse } {
    this.requestHeaders.push({ channel, headers });
    keepNewest(this.requestHeaders, this.maxRequestHeaders);
    if (!this.webhooks.has(channel)) {
      this.counts.unknownWebhook++;
      return { response: { status: 404, headers: {}, body: { message: 'Unknown Webhook', code: 10015 } } };
    }
    const limit = this.take(channel);
    if (limit.status === 429) {
      this.counts.rateLimited++;
      return { response: limit.response };
    }
    const refuse = (body: unknown): { response: SinkResponse } => {
      this.counts.invalid++;
      return { response: { status: 400, headers: limit.headers, body } };
    };
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      return refuse({ message: 'The request body contains invalid JSON.', code: 50109 });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse({ message: 'Invalid Form Body', code: 50035, errors: {} });
    const { errors, empty } = validateWebhookMessage(body as Record<string, unknown>);
    if (errors) return refuse({ message: 'Invalid Form Body', code: 50035, errors });
    if (empty) return refuse({ message: 'Cannot send an empty message', code: 50006 });
    return { body: body as Record<string, unknown>, limitHeaders: limit.headers };
  }

  /** Snowflake-like ids: time-ordered and unique even within one millisecond. */
  private nextId(): string {
    const fromClock = BigInt(this.now() - 1420070400000) << 22n;
    this.lastId = fromClock > this.lastId ? fromClock : this.lastId + 1n;
    return String(this.lastId);
  }

  private asDiscordMessage(m: SinkMessage): Record<string, unknown> {
    const b = m.body as Record<string, unknown>;
    return {
      id: m.id, type: 0, channel_id: m.channel, content: b.content ?? '', embeds: b.embeds ?? [],
      author: { id: `sink-${m.channel}`, username: (b.username as string) ?? `${m.channel} webhook`, bot: true }, mentions: [], timestamp: m.receivedAt,
      edited_timestamp: m.editedAt ?? null, webhook_id: `sink-${m.channel}`, nonce: randomUUID(),
    };
  }

  private take(channel: string): { status: 200; headers: Record<string, string> } | { status: 429; response: SinkResponse } {
    if (!this.rateLimit) return { status: 200, headers: {} };
    const now = this.now();
    let bucket = this.buckets.get(channel);
    if (!bucket || now >= bucket.resetAt) {
      bucket = { remaining: this.rateLimit.limit, resetAt: now + this.rateLimit.windowMs };
      this.buckets.set(channel, bucket);
    }
    const resetAfter = (bucket.resetAt - now) / 1000;
    const headers = (remaining: number) => ({
      'x-ratelimit-limit': String(this.rateLimit ? this.rateLimit.limit : 0),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': (bucket!.resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-bucket': `sink-${channel}`,
    });
    if (bucket.remaining <= 0) {
      return {
        status: 429,
        response: {
          status: 429,
          headers: { ...headers(0), 'retry-after': String(Math.ceil(resetAfter)), 'x-ratelimit-scope': 'shared' },
          body: { message: 'You are being rate limited.', retry_after: Number(resetAfter.toFixed(3)), global: false },
        },
      };
    }
    bucket.remaining--;
    return { status: 200, headers: headers(bucket.remaining) };
  }
}
