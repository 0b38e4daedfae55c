/**
 * The signed envelope (docs/architecture.md §2.1): the one place that knows its fields, limits and signing
 * string. The Verify Lambda, the signing client and the local relay all import this module.
 *
 * Kept free of dependencies beyond `node:crypto` so that it bundles into a few KB.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { RelayError, RelayErrorCode } from './errors';

/** One event, whose `payload` is the event's JSON text. */
export const ENVELOPE_VERSION = 1 as const;
/** A batch: `payload` is the JSON text of 1-{@link MAX_BATCH_EVENTS} `{ id, event }` items, each event with its own id. */
export const BATCH_ENVELOPE_VERSION = 2 as const;
export type EnvelopeVersion = typeof ENVELOPE_VERSION | typeof BATCH_ENVELOPE_VERSION;
export const MAX_BATCH_EVENTS = 10;
/** `id` is the idempotency key. */
export const ENVELOPE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const SIGNATURE_PATTERN = /^[0-9a-fA-F]{128}$/;
/** A raw 32-byte Ed25519 public key as hex, as Discord writes them. */
export const PUBLIC_KEY_HEX_PATTERN = /^[0-9a-fA-F]{64}$/;
/** Upper bound on the UTF-8 size of `payload`, a batch's too; a voice event is well under 1 KiB. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
export const DEFAULT_FRESHNESS_SECONDS = 300;

export interface UnsignedEnvelope {
  readonly v: EnvelopeVersion;
  readonly id: string;
  readonly kid: string;
  /** Unix time in whole seconds. */
  readonly ts: number;
  /** The event as a JSON string, so that the signed bytes are the verified bytes. */
  readonly payload: string;
}

export interface Envelope extends UnsignedEnvelope {
  /** Ed25519 signature of {@link signingString}, 128 hex characters. */
  readonly sig: string;
}

/** The exact text that is signed: `${v}.${id}.${kid}.${ts}.${payload}`. */
export function signingString(envelope: UnsignedEnvelope): string {
  return `${envelope.v}.${envelope.id}.${envelope.kid}.${envelope.ts}.${envelope.payload}`;
}

export function signEnvelope(unsigned: UnsignedEnvelope, privateKey: KeyObject): Envelope {
  const sig = sign(null, Buffer.from(signingString(unsigned), 'utf8'), privateKey).toString('hex');
  return { v: unsigned.v, id: unsigned.id, kid: unsigned.kid, ts: unsigned.ts, payload: unsigned.payload, sig };
}

/**
 * True when `sig` is a valid Ed25519 signature of the envelope's signing string by `publicKey`.
 * Callers check the envelope with {@link parseEnvelope} first: it refuses lone surrogates, the one
 * case where two strings have the same UTF-8 bytes.
 */
export function verifyEnvelopeSignature(envelope: Envelope, publicKey: KeyObject): boolean {
  return verify(null, Buffer.from(signingString(envelope), 'utf8'), publicKey, Buffer.from(envelope.sig, 'hex'));
}

// DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410): the raw 32 bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function publicKeyFromHex(hex: string): KeyObject {
  if (!PUBLIC_KEY_HEX_PATTERN.test(hex)) {
    throw new Error('an Ed25519 public key must be 64 hex characters (the raw 32-byte key)');
  }
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/** The 64-hex public key of an Ed25519 key (given the private key, of its public half). */
export function publicKeyToHex(key: KeyObject): string {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519' || der.length !== ED25519_SPKI_PREFIX.length + 32) {
    throw new Error('not an Ed25519 key');
  }
  return der.subarray(ED25519_SPKI_PREFIX.length).toString('hex');
}

/** A UTF-16 surrogate without its other half: not Unicode, so it has no UTF-8 bytes of its own. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function malformed(message: string): never {
  throw new RelayError(RelayErrorCode.Malformed, message);
}

/**
 * Checks the shape of an envelope (not its signature or freshness) and returns it typed.
 * Throws `Relay.Malformed` naming the field, or `Relay.TooLarge` for an oversized payload.
 */
export function parseEnvelope(input: unknown): Envelope {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    malformed('the envelope must be a JSON object');
  }
  const e = input as Record<string, unknown>;
  if (e.v !== ENVELOPE_VERSION && e.v !== BATCH_ENVELOPE_VERSION) malformed('v: must be 1 (one event) or 2 (a batch)');
  if (typeof e.id !== 'string' || !ENVELOPE_ID_PATTERN.test(e.id)) {
    malformed('id: must be 1-128 characters of [A-Za-z0-9._:-]');
  }
  if (typeof e.kid !== 'string' || !KEY_ID_PATTERN.test(e.kid)) {
    malformed('kid: must be 1-64 characters of [A-Za-z0-9._-]');
  }
  if (typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts) || e.ts < 0) {
    malformed('ts: must be a Unix time in whole seconds');
  }
  if (typeof e.payload !== 'string') malformed('payload: must be the event as a JSON string');
  const lone = e.payload.isWellFormed() ? null : LONE_SURROGATE.exec(e.payload);
  if (lone) {
    // UTF-8 encoding would turn it into U+FFFD, so one signature would verify several payloads.
    malformed(`payload: a lone surrogate (\\u${lone[0].charCodeAt(0).toString(16)}) at index ${lone.index}; the signed text must be valid Unicode`);
  }
  const payloadBytes = Buffer.byteLength(e.payload, 'utf8');
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new RelayError(RelayErrorCode.TooLarge, `payload: ${payloadBytes} bytes, the limit is ${MAX_PAYLOAD_BYTES}`);
  }
  if (typeof e.sig !== 'string' || !SIGNATURE_PATTERN.test(e.sig)) malformed('sig: must be 128 hex characters');
  return { v: e.v, id: e.id, kid: e.kid, ts: e.ts, payload: e.payload, sig: e.sig };
}

/** One event of a batch: its own idempotency key, and the event itself (not its JSON text). */
export interface BatchItem {
  readonly id: string;
  readonly event: unknown;
}

/**
 * The items of a v2 payload. Throws `Relay.Malformed` for anything that is not 1-10 objects with
 * distinct ids: without an id, an event cannot even be answered for. The events themselves are
 * checked one by one, so one bad event never turns its batch away.
 */
export function parseBatchPayload(payload: string): BatchItem[] {
  let items: unknown;
  try {
    items = JSON.parse(payload);
  } catch {
    malformed('payload: not valid JSON');
  }
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH_EVENTS) malformed(`payload: a batch is an array of 1-${MAX_BATCH_EVENTS} { id, event } items`);
  const ids = new Set<string>();
  return items.map((item: { id?: unknown; event?: unknown } | null, i) => {
    const id = item?.id;
    if (typeof id !== 'string' || !ENVELOPE_ID_PATTERN.test(id) || ids.has(id)) malformed(`payload[${i}].id: must be a distinct id of 1-128 [A-Za-z0-9._:-]`);
    ids.add(id);
    return { id, event: item!.event };
  });
}
