/**
 * Verify step of the relay state machine: checks a signed envelope (docs/architecture.md §2.1) and returns the
 * normalized event the Route and Format steps use, or throws a `Relay.*` error that the state
 * machine turns into a Fail state with the same code.
 *
 * Order: shape and size first (cheap, no key needed), then key id, then the signature, then
 * freshness, then the payload. Checking the signature before freshness means a forged envelope is
 * always reported as a bad signature, whatever its timestamp.
 */
import type { KeyObject } from 'node:crypto';
import { VerifyEnv } from '../contracts/env';
import {
  BATCH_ENVELOPE_VERSION,
  DEFAULT_FRESHNESS_SECONDS,
  ENVELOPE_ID_PATTERN,
  KEY_ID_PATTERN,
  parseBatchPayload,
  parseEnvelope,
  publicKeyFromHex,
  verifyEnvelopeSignature,
  type EnvelopeVersion,
} from '../contracts/envelope';
import { RelayError, RelayErrorCode } from '../contracts/errors';
import { EventKind, MAX_EVENT_AGE_SECONDS, SNOWFLAKE_PATTERN, parseEvent, parseEventPayload, parseIsoTimestamp, type ParsedEvent, type VoiceEventKind, type VoiceStateUpdateEvent } from '../contracts/events';
import { renderVoiceFields, type TemplateFields } from '../contracts/template';

export interface VerifyConfig {
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  readonly allowedGuildIds: ReadonlySet<string>;
  readonly freshnessSeconds: number;
}

/** The Verify step's output: what the Route and Format states read. */
export type VerifiedEvent =
  | {
      readonly id: string;
      readonly kid: string;
      readonly kind: VoiceEventKind;
      readonly type: VoiceStateUpdateEvent['type'];
      readonly event: VoiceStateUpdateEvent;
      readonly text: TemplateFields;
      /** Epoch seconds at which the envelope was accepted: the dedupe claim's clock. */
      readonly receivedAt: number;
    }
  | { readonly id: string; readonly kid: string; readonly kind: typeof EventKind.Unsupported; readonly type: string; readonly receivedAt: number }
  /** No guild: a heartbeat says the forwarder is alive, whatever guilds it serves (a probe only that the relay answers). */
  | { readonly id: string; readonly kid: string; readonly kind: typeof EventKind.ForwarderHeartbeat | typeof EventKind.Probe; readonly forwarder: string; readonly receivedAt: number }
  /** No guild either: a test message names a channel, and its text is fixed. */
  | { readonly id: string; readonly kid: string; readonly kind: typeof EventKind.RelayTest; readonly channel: string; readonly from: string; readonly receivedAt: number };

/** An event of a batch that Verify turned away (its envelope was sound): answered as `rejected` with the code, never routed. */
export interface RejectedEvent {
  readonly id: string;
  readonly kid: string;
  readonly rejected: { readonly code: RelayErrorCode; readonly reason: string };
}

/**
 * The Verify step's output: the envelope's events, one for a v1 envelope, each handled on its own
 * by the relay workflow's Map. A v1 envelope whose event is unusable is rejected whole (it throws).
 */
export interface VerifiedEnvelope {
  readonly v: EnvelopeVersion;
  readonly id: string;
  readonly kid: string;
  readonly events: readonly (VerifiedEvent | RejectedEvent)[];
}

/** Reads the step's settings from the environment the stack sets. Throws (failing the cold start) when they are unusable. */
export function loadVerifyConfig(env: NodeJS.ProcessEnv): VerifyConfig {
  const keysJson = env[VerifyEnv.PublicKeys];
  if (!keysJson) throw new Error(`${VerifyEnv.PublicKeys} is not set`);
  const parsed: unknown = JSON.parse(keysJson);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${VerifyEnv.PublicKeys} must be a JSON object of key id to public key hex`);
  }
  const publicKeys = new Map<string, KeyObject>();
  for (const [kid, hex] of Object.entries(parsed)) {
    if (!KEY_ID_PATTERN.test(kid) || typeof hex !== 'string') throw new Error(`${VerifyEnv.PublicKeys}: bad entry for key id "${kid}"`);
    publicKeys.set(kid, publicKeyFromHex(hex));
  }
  const allowedGuildIds = new Set((env[VerifyEnv.AllowedGuildIds] ?? '').split(',').filter(Boolean));
  for (const id of allowedGuildIds) {
    if (!SNOWFLAKE_PATTERN.test(id)) throw new Error(`${VerifyEnv.AllowedGuildIds}: "${id}" is not a snowflake id`);
  }
  const freshness = env[VerifyEnv.FreshnessSeconds];
  const freshnessSeconds = freshness === undefined ? DEFAULT_FRESHNESS_SECONDS : Number(freshness);
  if (!Number.isInteger(freshnessSeconds) || freshnessSeconds <= 0) {
    throw new Error(`${VerifyEnv.FreshnessSeconds} must be a positive whole number of seconds`);
  }
  return { publicKeys, allowedGuildIds, freshnessSeconds };
}

export function verifyEnvelope(input: unknown, config: VerifyConfig, nowMs: number = Date.now()): VerifiedEnvelope {
  const envelope = parseEnvelope(input);
  const { id, kid } = envelope;
  const key = config.publicKeys.get(kid);
  if (!key) throw new RelayError(RelayErrorCode.UnknownKey, `kid: "${kid}" is not a key this relay accepts`);
  if (!verifyEnvelopeSignature(envelope, key)) {
    throw new RelayError(RelayErrorCode.InvalidSignature, `sig: not a valid signature by key "${kid}"`);
  }
  const receivedAt = Math.floor(nowMs / 1000);
  const skew = envelope.ts - receivedAt;
  if (Math.abs(skew) > config.freshnessSeconds) {
    const when = skew < 0 ? `${-skew} s old` : `${skew} s in the future`;
    throw new RelayError(RelayErrorCode.Stale, `ts: ${when}; the window is ±${config.freshnessSeconds} s`);
  }
  const { v, ts, payload } = envelope;
  const batch = v === BATCH_ENVELOPE_VERSION;
  // A v1 envelope is one event under the envelope's id, rejected whole; a batch's events are judged one by one.
  const events = (batch ? parseBatchPayload(payload) : [{ id, event: undefined }]).map((item) => {
    try {
      return verifyEvent(item.id, kid, batch ? parseEvent(item.event) : parseEventPayload(payload), ts, receivedAt, config);
    } catch (error) {
      if (!batch || !(error instanceof RelayError)) throw error;
      return { id: item.id, kid, rejected: { code: error.code, reason: error.message } };
    }
  });
  return { v, id, kid, events };
}

/** One event of a verified envelope: its time, its guild, and what the Route and Format states read. */
function verifyEvent(id: string, kid: string, parsed: ParsedEvent, ts: number, receivedAt: number, config: VerifyConfig): VerifiedEvent {
  checkEventTime(parsed, ts, config.freshnessSeconds);
  // One spread for every kind: the bundle stays under its 10 KB bar.
  const out = { id, kid, ...parsed, receivedAt };
  if (!('event' in parsed)) return out as VerifiedEvent;
  if (!config.allowedGuildIds.has(parsed.event.guild.id)) {
    throw new RelayError(RelayErrorCode.GuildNotAllowed, `guild ${parsed.event.guild.id} is not in this relay's allowed guilds`);
  }
  return { ...out, type: parsed.event.type, text: renderVoiceFields(parsed.event) } as VerifiedEvent;
}

/**
 * An event's `at` lies within the freshness window after the envelope's `ts` (nothing happens in
 * the future: a far-future `at` would freeze a live card) and at most a day before it (a spooled
 * event is re-signed with a fresh `ts`, keeping its `at`).
 */
function checkEventTime(parsed: ParsedEvent, ts: number, freshnessSeconds: number): void {
  const at = 'event' in parsed ? parsed.event.at : 'at' in parsed ? parsed.at : undefined;
  if (at === undefined) return;
  const offset = Math.round((parseIsoTimestamp(at)! / 1000) - ts);
  if (offset > freshnessSeconds || -offset > MAX_EVENT_AGE_SECONDS + freshnessSeconds) {
    const side = offset > 0 ? 'after' : 'before';
    throw new RelayError(RelayErrorCode.Stale, `at: ${at} is ${Math.abs(offset)} s ${side} ts; the most is ${offset > 0 ? freshnessSeconds : MAX_EVENT_AGE_SECONDS + freshnessSeconds} s ${side}`);
  }
}

/**
 * The handler for a given environment. Lambda uses `process.env`; the local relay passes the
 * environment the synthesized stack gives the function. Settings are read on first use.
 */
export function createHandler(env: NodeJS.ProcessEnv, log: (line: string) => void = (line) => console.warn(line)): (input: unknown) => Promise<VerifiedEnvelope> {
  let config: VerifyConfig | undefined;
  return async (input: unknown) => {
    config ??= loadVerifyConfig(env);
    try {
      return verifyEnvelope(input, config);
    } catch (error) {
      if (error instanceof RelayError) {
        // One line per rejection for operators; ids and codes only, never payload text.
        const id = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
        const safeId = typeof id === 'string' && ENVELOPE_ID_PATTERN.test(id) ? id : undefined;
        log(JSON.stringify({ level: 'WARN', message: 'envelope rejected', code: error.code, id: safeId }));
      }
      throw error;
    }
  };
}

