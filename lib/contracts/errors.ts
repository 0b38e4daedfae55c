/**
 * Error codes a caller can see (docs/architecture.md §2.4). The Verify Lambda throws them (as the error *name*,
 * which Lambda reports as `errorType`), the state machine catches them by name and ends in a Fail
 * state carrying the same code. Nothing else spells these strings.
 */
export const RelayErrorCode = {
  InvalidSignature: 'Relay.InvalidSignature',
  UnknownKey: 'Relay.UnknownKey',
  Stale: 'Relay.Stale',
  Malformed: 'Relay.Malformed',
  TooLarge: 'Relay.TooLarge',
  GuildNotAllowed: 'Relay.GuildNotAllowed',
  Duplicate: 'Relay.Duplicate',
  Ignored: 'Relay.Ignored',
  DeliveryFailed: 'Relay.DeliveryFailed',
  /** Anything the relay did not anticipate (a bug or an AWS fault), never a caller's mistake. */
  Internal: 'Relay.Internal',
} as const;

export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

/** The codes the Verify step can reject an envelope with; each ends the execution as FAILED. */
export const VERIFY_REJECTION_CODES = [
  // Spelled out rather than read off RelayErrorCode: a literal array is one a bundler can drop where it is unused (the Verify bundle).
  'Relay.Malformed',
  'Relay.TooLarge',
  'Relay.UnknownKey',
  'Relay.InvalidSignature',
  'Relay.Stale',
  'Relay.GuildNotAllowed',
] as const satisfies readonly RelayErrorCode[];

export type VerifyRejectionCode = (typeof VERIFY_REJECTION_CODES)[number];

/** A rejection with a code from the contract. `name` is the code so that Step Functions sees it as the error. */
export class RelayError extends Error {
  public readonly code: RelayErrorCode;

  constructor(code: RelayErrorCode, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

export function isRelayError(error: unknown): error is RelayError {
  return error instanceof RelayError;
}
