/**
 * Delivery lanes (docs/architecture.md "Delivery lanes"): what the relay workflow claims in the
 * dedupe table and puts on a channel's lane, and what the delivery workflow reads back. The
 * constructs, the delivery handlers and local mode all spell these names from here.
 */

import type { VoiceStateUpdateEvent } from './events';

/** A voice channel a card event updates, with who is in it after the change (when the forwarder said). */
export interface CardVoiceChannel {
  readonly channel_id: string;
  readonly channel_name: string;
  readonly occupants?: { readonly count: number; readonly members: ReadonlyArray<{ readonly id: string; readonly name: string }> };
}

/** What a card route adds to its events: the route's settings. */
export interface CardSettings {
  readonly minMembers?: number;
  readonly pingRoleId?: string;
}

/** One formatted event on a lane: the SQS message body. A message route's carries `line`; a card route's `voice`. */
export interface LaneEvent {
  readonly id: string;
  readonly kind: string;
  readonly channel: string;
  /** The event's message line, rendered from the route's template (user text escaped). */
  readonly line?: string;
  /**
   * A route to a Slack channel: its template and the voice event as Verify passed it; Coalesce
   * renders the line with Slack's escaping (lib/contracts/slack.ts).
   */
  readonly slack?: { readonly template: string; readonly event: VoiceStateUpdateEvent };
  /** Card routes: the voice channels whose cards the event updates (the one joined or left; both for a move). */
  readonly voice?: readonly CardVoiceChannel[];
  /** Card routes: who changed (raw text, escaped when rendered), for events without occupants. */
  readonly user?: { readonly id: string; readonly display_name: string };
  /** Card routes: when the change happened (ISO). */
  readonly at?: string;
  readonly card?: CardSettings;
  /** With the Discord app: the guild and member of a voice event, which the delivery workflow checks against the guild settings. */
  readonly guildId?: string;
  readonly userId?: string;
  /**
   * Epoch seconds at which Verify accepted the envelope. Absent on notices the relay raises itself
   * (alarm changes, written by an EventBridge rule, which has no epoch clock).
   */
  readonly receivedAt?: number;
}

/**
 * Dedupe-table key of a live card: one session per webhook channel and voice channel. `#` cannot
 * appear in an envelope id (`ENVELOPE_ID_PATTERN`), so no event's claim can share a card's key.
 */
export function cardKey(channel: string, voiceChannelId: string): string {
  return `card#${channel}#${voiceChannelId}`;
}

/** Attributes of a card's item in the dedupe table. */
export const CardAttribute = {
  MessageId: 'messageId',
  /** The session facts as JSON (`CardSession`). */
  Session: 'session',
  /**
   * ISO time of the change that ended the last session. An ended card's item keeps only this (no
   * message id): a change older than it (sent late) is skipped instead of starting a phantom session.
   */
  EndedAt: 'endedAt',
} as const;

/** What a card remembers between edits. */
export interface CardSession {
  /** ISO time of the first post. */
  readonly startedAt: string;
  readonly peak: number;
  /** Ids of everyone seen in the session (up to MAX_SEEN), and how many that was in all. */
  readonly seen: readonly string[];
  readonly seenCount: number;
  /** Who is in the channel now, as last known. */
  readonly members: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  readonly count: number;
  /** ISO time of the change the card last showed: an older update (sent late, re-sent from a spool) never overwrites it. */
  readonly updatedAt?: string;
}

/** What a card step does with Discord. */
export const CardAction = {
  Post: 'post',
  Edit: 'edit',
  End: 'end',
  Skip: 'skip',
} as const;
export type CardAction = (typeof CardAction)[keyof typeof CardAction];

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
  /** A forwarder heartbeat, recorded in the heartbeat table. */
  Recorded: 'recorded',
  /** A probe heartbeat (`relay doctor`): verified and answered, not recorded. */
  Checked: 'checked',
  /** An event of a batch that Verify turned away (`code`, `reason`); its batch went on. */
  Rejected: 'rejected',
  /**
   * Accepted but not handled (`code`: Relay.Internal, or Relay.DeliveryFailed on the direct path;
   * `cause` says whether it was kept as a dead letter). A lone (v1) event's failure fails the execution instead.
   */
  Failed: 'failed',
} as const;
export type RelayOutcome = (typeof RelayOutcome)[keyof typeof RelayOutcome];

/** Attribute names of the dedupe table. */
export const DedupeAttribute = {
  /** Partition key: the envelope id. */
  Id: 'id',
  /** One of {@link ClaimState}. */
  State: 'state',
  /** Epoch seconds until which the item belongs to the execution that wrote it (its enqueue may still be under way). */
  LeaseUntil: 'leaseUntil',
  /**
   * Epoch seconds after which the claim can no longer be taken over: between `leaseUntil` and
   * this, a copy may claim the id again and re-send it, which SQS's 5-minute deduplication drops
   * if the first send got through ({@link CLAIM_TAKEOVER_SECONDS}).
   */
  TakeoverUntil: 'takeoverUntil',
  /** The execution that wrote the claim: only it may release it (`$$.Execution.Id`). */
  ClaimedBy: 'claimedBy',
  /** Epoch seconds after which DynamoDB's TTL (or local mode's sweeper) deletes the item. */
  ExpiresAt: 'expiresAt',
  Channel: 'channel',
  /** ISO time the message carrying the event was accepted by Discord. */
  DeliveredAt: 'deliveredAt',
  /**
   * The channels that have posted the event (a string set, added to by each delivery). An event
   * sent to several channels is skipped only on a channel named here; an item of an older relay
   * (`state` delivered, no set) counts as delivered everywhere.
   */
  DeliveredTo: 'deliveredTo',
} as const;

/**
 * Whether a lane event on `channel` was already posted, by its claim as the delivery workflow
 * read it: the channel is in `deliveredTo`, or the item is delivered with no `deliveredTo` (one
 * written before events went to several channels).
 */
export function deliveredOn(claim: { readonly [attribute: string]: { readonly S?: string; readonly SS?: readonly string[] } | undefined } | undefined, channel: string): boolean {
  if (!claim) return false;
  const to = claim[DedupeAttribute.DeliveredTo]?.SS;
  if (Array.isArray(to)) return to.includes(channel);
  return claim[DedupeAttribute.State]?.S === ClaimState.Delivered;
}

/**
 * An id's life: `queued` (one conditional write, before the event is sent to its lane) →
 * `delivered`. An enqueue that fails deletes the claim; an execution that died before its send
 * leaves a claim a copy can take over once its lease ran out, until `takeoverUntil`.
 * `claimed` is what relays before this version wrote first (then `queued` in a second write);
 * such items are never taken over.
 */
export const ClaimState = {
  Claimed: 'claimed',
  Queued: 'queued',
  Delivered: 'delivered',
} as const;
export type ClaimState = (typeof ClaimState)[keyof typeof ClaimState];

/** SQS FIFO's deduplication interval: a second send of the same deduplication id within it is accepted and dropped. */
export const SQS_DEDUPLICATION_SECONDS = 300;
/**
 * How long after an event was first received (Verify's `receivedAt`) a copy may still take over
 * its claim: the copy's own send must land inside the first send's deduplication interval, so
 * that a re-send is never a second message. From Verify to a landed send takes at most 82 s (the
 * guild settings read, the claim, the envelope's batch send and the enqueue alone, every attempt
 * timing out: a test adds them up from task-retries.ts); 38 s more are kept for clocks and latency.
 */
export const CLAIM_TAKEOVER_SECONDS = 180;

/**
 * How a dead letter's `RelayReason` starts when the relay workflow, not Discord, kept it: its
 * claim or its send to the lane failed after the retries (`RelayError` is the AWS error).
 */
export const QUEUE_FAILURE_REASON = 'the relay workflow could not queue it';

/** Message attributes a dead-lettered lane event carries: why it was refused. */
export const DeadLetterAttribute = {
  Reason: 'RelayReason',
  Error: 'RelayError',
} as const;

