/**
 * The delivery workflow's Pace step: how long to wait after an answer from Discord, the way good
 * clients (discord.js, discord.py) pace a webhook — on a 429, Discord's `retry_after` (or Slack's
 * `Retry-After` header); after a
 * success that used the bucket's last request (`X-RateLimit-Remaining: 0`),
 * `X-RateLimit-Reset-After`. Wait's `SecondsPath` takes whole seconds, so both round up.
 * It also describes a refusal for the dead-letter queue, with secrets redacted.
 */
import { describeOutsideText } from '../contracts/redact';

/** What the Post task leaves for Pace: its result (status and headers) or, for a 429, its error. */
export interface PostAnswer {
  readonly status?: number;
  /** As `apigateway:invoke` returns them: each name maps to a list of values; names in any case. */
  readonly headers?: Record<string, string | readonly string[] | undefined>;
  /** Set when the task failed: `ApiGateway.<status>`. */
  readonly Error?: string;
  /** The response body, as text. */
  readonly Cause?: string;
}

export interface PaceDecision {
  /** Whole seconds to wait before the next request to this webhook (0: go on). */
  readonly waitSeconds: number;
  /** Why, for the execution history. */
  readonly reason: string;
  /** What Discord answered (a failed post's body), webhook tokens redacted and cut to 500 characters: a dead-letter reason may quote it. */
  readonly detail: string;
}

/** Longest wait an Express execution spends on one answer; a longer `retry_after` (a global or Cloudflare limit) is capped. */
export const MAX_WAIT_SECONDS = 60;
/** When a 429 carries no usable `retry_after`. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

function header(headers: PostAnswer['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : (value as string | undefined);
  }
  return undefined;
}

function wholeSeconds(seconds: number): number {
  return Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil(seconds)));
}

function retryAfter(cause: string | undefined): number | undefined {
  try {
    const value = (JSON.parse(cause ?? '') as { retry_after?: unknown }).retry_after;
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `Retry-After` as delta-seconds (RFC 9110); an HTTP date is not one. */
function retryAfterHeader(headers: PostAnswer['headers']): number | undefined {
  const value = header(headers, 'retry-after');
  const seconds = value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  return seconds !== undefined && Number.isFinite(seconds) ? seconds : undefined;
}

export function paceAfter(answer: PostAnswer): PaceDecision {
  return { ...waitAfter(answer), detail: describeOutsideText(typeof answer.Cause === 'string' ? answer.Cause : '') };
}

function waitAfter(answer: PostAnswer): Omit<PaceDecision, 'detail'> {
  if (answer.Error === 'ApiGateway.429') {
    // Discord says `retry_after` in the body; Slack says `Retry-After` (seconds) as a header, which
    // reaches here only if the failed task kept its headers (else Slack's 429 waits the default).
    const seconds = retryAfter(answer.Cause) ?? retryAfterHeader(answer.headers);
    return seconds === undefined
      ? { waitSeconds: DEFAULT_RETRY_AFTER_SECONDS, reason: '429 without retry_after' }
      : { waitSeconds: Math.max(1, wholeSeconds(seconds)), reason: `429: retry_after ${seconds}` };
  }
  if (header(answer.headers, 'x-ratelimit-remaining') === '0') {
    const resetAfter = Number(header(answer.headers, 'x-ratelimit-reset-after'));
    if (Number.isFinite(resetAfter) && resetAfter > 0) return { waitSeconds: wholeSeconds(resetAfter), reason: `bucket empty: reset after ${resetAfter}` };
  }
  return { waitSeconds: 0, reason: 'bucket has room' };
}
