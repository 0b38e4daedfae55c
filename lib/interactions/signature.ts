/**
 * Discord's request signature (register row "interaction signature"): Ed25519, by the
 * application's key, over the UTF-8 bytes of `X-Signature-Timestamp` followed by the raw body,
 * in hex in `X-Signature-Ed25519`. Checked before anything of the body is read; the timestamp must
 * also be within {@link INTERACTION_MAX_SKEW_SECONDS} of the clock, so a captured request cannot
 * be replayed later. The Ed25519 code is the envelope's (`publicKeyFromHex`, node:crypto).
 */
import { verify, type KeyObject } from 'node:crypto';
import { SIGNATURE_PATTERN } from '../contracts/envelope';
import { INTERACTION_MAX_SKEW_SECONDS } from '../contracts/interactions';

const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;

/** True only for a well-formed, fresh signature by `publicKey` over `timestamp` + `body`. */
export function isSignedByDiscord(
  signature: string | undefined,
  timestamp: string | undefined,
  body: Buffer,
  publicKey: KeyObject,
  nowMs: number,
): boolean {
  if (!signature || !timestamp || !SIGNATURE_PATTERN.test(signature) || !TIMESTAMP_PATTERN.test(timestamp)) return false;
  if (Math.abs(Number(timestamp) - nowMs / 1000) > INTERACTION_MAX_SKEW_SECONDS) return false;
  try {
    return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), body]), publicKey, Buffer.from(signature, 'hex'));
  } catch {
    return false;
  }
}
