/**
 * Delivery lanes (docs/architecture.md "Delivery lanes"): what the relay workflow claims in the
 * dedupe table and puts on a channel's lane, and what the delivery workflow reads back. The
 * constructs, the delivery handlers and local mode all spell these names from here.
 */

/** One formatted event on a lane: the SQS message body. */
export interface LaneEvent {
  readonly id: string;
  readonly kind: string;
  readonly channel: string;
  /** The event's message line, rendered from the route's template (user text escaped). */
  readonly line: string;
  /**
   * Epoch seconds at which Verify accepted the envelope. Absent on notices the relay raises itself
   * (alarm changes, written by an EventBridge rule, which has no epoch clock).
   */
  readonly receivedAt?: number;
}

/** The kind of a lane event that reports an alarm change (monitoring's alarm channel). */
export const ALARM_NOTICE_KIND = 'relay.alarm';

/** Outcomes a relay execution SUCCEEDS with (`output.outcome`). */
export const RelayOutcome = {
  /** Claimed and on its channel's lane; the delivery workflow posts it. */
  Queued: 'queued',
  /** The id was already queued or delivered: nothing more is posted. */
  Duplicate: 'duplicate',
  /** No route for the event kind. */
  Ignored: 'ignored',
  /** Posted by the relay workflow itself (the pre-lanes direct path). */
  Delivered: 'delivered',
  /** A forwarder heartbeat, recorded as the ForwarderHeartbeat metric. */
  Recorded: 'recorded',
} as const;
export type RelayOutcome = (typeof RelayOutcome)[keyof typeof RelayOutcome];

/** Attribute names of the dedupe table. */
export const DedupeAttribute = {
  /** Partition key: the envelope id. */
  Id: 'id',
  /** One of {@link ClaimState}. */
  State: 'state',
  /** Epoch seconds until which a `claimed` item belongs to the execution that wrote it. */
  LeaseUntil: 'leaseUntil',
  /** Epoch seconds after which DynamoDB's TTL (or local mode's sweeper) deletes the item. */
  ExpiresAt: 'expiresAt',
  Channel: 'channel',
  /** ISO time the message carrying the event was accepted by Discord. */
  DeliveredAt: 'deliveredAt',
} as const;

/**
 * An id's life: `claimed` (lease held while it is being queued) → `queued` → `delivered`. A
 * claim whose lease ran out without reaching `queued` (its execution died) can be claimed again.
 */
export const ClaimState = {
  Claimed: 'claimed',
  Queued: 'queued',
  Delivered: 'delivered',
} as const;
export type ClaimState = (typeof ClaimState)[keyof typeof ClaimState];

/** Message attributes a dead-lettered lane event carries: why it was refused. */
export const DeadLetterAttribute = {
  Reason: 'RelayReason',
  Error: 'RelayError',
} as const;

/** The delivery workflow's answer: how many events were posted, skipped as already delivered, dead-lettered. */
export interface DeliveryOutcome {
  readonly posted: number;
  readonly messages: number;
  readonly skipped: number;
  readonly deadLettered: number;
}
