/**
 * A stand-in for a Slack incoming webhook (`https://hooks.slack.com/services/…`), for the config's
 * Slack channels: validates the payload as Slack does (400 `invalid_payload` for a body that is not
 * a JSON object, `no_text` without text or blocks), answers 200 `ok`, rate-limits each webhook to
 * about one message per second (429 with `Retry-After` in seconds, as a header), and answers 404
 * `no_service` for a webhook that was removed. What it accepts is kept in the Discord sink's list
 * (`kind: 'slack'`), so `/_sink/messages` and the page show both, in order.
 */
import type { DiscordSink, RateLimit, SinkResponse } from './discord-sink';
import { SinkWebhooks } from './sink-webhooks';
import { SLACK_OK } from '../contracts/slack';

/** Slack: "1 per second", with short bursts allowed; the sink allows none, so pacing shows. */
export const SLACK_WEBHOOK_RATE_LIMIT: RateLimit = { limit: 1, windowMs: 1000 };

export interface SlackSinkStats {
  readonly accepted: number;
  readonly rateLimited: number;
  readonly invalid: number;
  readonly unknownWebhook: number;
}

/** Slack's answers are plain text. */
const text = (status: number, body: string, headers: Record<string, string> = {}): SinkResponse => ({ status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body });

export class SlackSink {
  private readonly webhooks: SinkWebhooks;
  /** When each webhook last posted (epoch ms, within the window). */
  private readonly sentAt = new Map<string, number[]>();
  private counts = { accepted: 0, rateLimited: 0, invalid: 0, unknownWebhook: 0 };

  constructor(
    channels: readonly string[],
    private readonly store: DiscordSink,
    private rateLimit: RateLimit | false = SLACK_WEBHOOK_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {
    this.webhooks = new SinkWebhooks(channels);
  }

  /** The config's Slack channels. */
  get channels(): ReadonlySet<string> {
    return this.webhooks.channels;
  }

  get stats(): SlackSinkStats {
    return { ...this.counts };
  }

  setRateLimit(rateLimit: RateLimit | false): void {
    this.rateLimit = rateLimit;
    this.sentAt.clear();
  }

  /** Removes a channel's webhook (as a workspace admin might): later posts get 404 `no_service`. */
  deleteWebhook(channel: string): boolean {
    return this.webhooks.remove(channel);
  }

  restoreWebhook(channel: string): boolean {
    return this.webhooks.restore(channel);
  }

  /** Handles `POST /_sink/slack/services/<channel>/<token>`. */
  post(channel: string, rawBody: string): SinkResponse {
    if (!this.webhooks.has(channel)) {
      this.counts.unknownWebhook++;
      return text(404, 'no_service');
    }
    const wait = this.take(channel);
    if (wait > 0) {
      this.counts.rateLimited++;
      return text(429, 'rate_limited', { 'retry-after': String(Math.ceil(wait / 1000)) });
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.counts.invalid++;
      return text(400, 'invalid_payload');
    }
    const { text: content, blocks } = body as { text?: unknown; blocks?: unknown };
    const hasText = typeof content === 'string' && content.trim() !== '';
    if (!hasText && !(Array.isArray(blocks) && blocks.length > 0)) {
      this.counts.invalid++;
      return text(400, 'no_text');
    }
    this.store.record(channel, body, 'slack');
    this.counts.accepted++;
    return text(200, SLACK_OK);
  }

  /** 0 when the webhook may post now (and counts it), else the milliseconds until it may. */
  private take(channel: string): number {
    const limit = this.rateLimit;
    if (!limit) return 0;
    const now = this.now();
    const recent = (this.sentAt.get(channel) ?? []).filter((t) => t > now - limit.windowMs);
    if (recent.length >= limit.limit) {
      this.sentAt.set(channel, recent);
      return recent[0] + limit.windowMs - now;
    }
    recent.push(now);
    this.sentAt.set(channel, recent);
    return 0;
  }
}
