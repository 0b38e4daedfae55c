/**
 * Event types carried in an envelope's `payload` (docs/architecture.md §2.2), their schema, and the kinds the
 * state machine routes on. Names are untrusted user text: they are length-checked here and
 * escaped before they reach a message (see `template.ts`).
 */
import { RelayError, RelayErrorCode } from './errors';
import { CHANNEL_NAME_PATTERN } from './routes';

export const EventType = {
  VoiceStateUpdate: 'VOICE_STATE_UPDATE',
  /**
   * Sent by `relay forward` every few minutes; becomes the forwarder's item in the heartbeat table,
   * never a message. With `probe: true` (what `relay doctor` sends) it is verified and answered like one
   * but not recorded, so a doctor run never hides a forwarder that stopped.
   */
  ForwarderHeartbeat: 'FORWARDER_HEARTBEAT',
  /** `relay doctor --post <channel>`: one fixed, labelled test message to a configured channel. */
  RelayTest: 'RELAY_TEST',
} as const;

/** A forwarder's name in heartbeats: what `relay forward --name` becomes after cleaning. */
export const FORWARDER_NAME_PATTERN = /^[A-Za-z0-9._-]{1,40}$/;
const FORWARDER_NAME_RULE = '1-40 of A-Z a-z 0-9 . _ -';
const BAD_AT = 'at must be an ISO 8601 timestamp of a real instant';

/** Any text (a host name) as a name of {@link FORWARDER_NAME_PATTERN}: other characters become `-`. */
export function toForwarderName(text: string, fallback = 'forwarder'): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || fallback;
}

/** Decimal snowflake ids. */
export const SNOWFLAKE_PATTERN = /^[0-9]{17,20}$/;
/** Discord caps guild and channel names at 100 characters, user and display names at 32. */
export const MAX_NAME_LENGTH = 100;
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an ISO 8601 timestamp (`2026-11-21T07:00:00.000Z`, or with an offset), or
 * undefined for one that is not a real instant: a 30 February, hour 24, a leap second, year 0000,
 * an offset beyond ±23:59. `Date.parse` rolls some of those over instead of refusing them.
 */
export function parseIsoTimestamp(text: string): number | undefined {
  const m = ISO_TIMESTAMP.exec(text);
  const [offsetHours, offsetMinutes] = [Number(m?.[9] ?? 0), Number(m?.[10] ?? 0)];
  if (!m || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  // Date.UTC rolls what does not exist over (30 February → 2 March, hour 24, second 60, year 0 → 1900): the round trip refuses it.
  if (new Date(utc).toISOString().slice(0, 19) !== `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) return undefined;
  return utc + Math.floor(Number(m[7] ?? 0) * 1000) - (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
}

/**
 * How far an event's `at` may lie before the envelope's `ts`: the forwarder re-signs a spooled
 * event with a fresh `ts` but keeps its `at`, and its spool keeps events 24 hours. (After `ts`
 * it may lie only within the freshness window: nothing happens in the future.)
 */
export const MAX_EVENT_AGE_SECONDS = 24 * 3600;

/** What the Route step chooses on. `unsupported` is a well-formed event of a type the relay does not handle. */
export const EventKind = {
  VoiceJoin: 'voice.join',
  VoiceLeave: 'voice.leave',
  VoiceMove: 'voice.move',
  /** Same channel before and after: mute, deafen, stream, video. Ignored unless a route asks for it. */
  VoiceUpdate: 'voice.update',
  /** A forwarder's heartbeat: recorded in the heartbeat table (not routable). */
  ForwarderHeartbeat: 'forwarder.heartbeat',
  /** A heartbeat with `probe: true`: answered, never recorded (not routable). */
  Probe: 'relay.probe',
  /** A test message for one channel (`relay doctor --post`): posted to that channel, whatever the routes. */
  RelayTest: 'relay.test',
  Unsupported: 'unsupported',
} as const;

export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** Kinds a route may name. */
export const ROUTABLE_EVENT_KINDS = [
  EventKind.VoiceJoin,
  EventKind.VoiceLeave,
  EventKind.VoiceMove,
  EventKind.VoiceUpdate,
] as const;
export type RoutableEventKind = (typeof ROUTABLE_EVENT_KINDS)[number];

/** At most this many occupants are listed by name; `count` is always the whole number. */
export const MAX_LISTED_OCCUPANTS = 25;
/** Above any real voice channel's size; a larger count is malformed. */
export const MAX_OCCUPANT_COUNT = 100_000;

/** Who is in a voice channel right after the change, from the forwarder's cache (optional: older forwarders omit it). */
export interface VoiceOccupants {
  readonly count: number;
  /** Up to {@link MAX_LISTED_OCCUPANTS}, in the order the forwarder's cache holds them. */
  readonly members: ReadonlyArray<{ readonly id: string; readonly name: string }>;
}

export interface VoiceChannelRef {
  readonly channel_id: string;
  readonly channel_name: string;
  readonly occupants?: VoiceOccupants;
}

export interface VoiceStateUpdateEvent {
  readonly type: typeof EventType.VoiceStateUpdate;
  readonly guild: { readonly id: string; readonly name: string };
  readonly user: { readonly id: string; readonly name: string; readonly display_name: string; readonly bot: boolean };
  readonly before: VoiceChannelRef | null;
  readonly after: VoiceChannelRef | null;
  /** ISO 8601 time of the change. */
  readonly at: string;
}

/** The voice kinds, which a VOICE_STATE_UPDATE is classified into. */
export type VoiceEventKind = Exclude<EventKind, 'unsupported' | 'forwarder.heartbeat' | 'relay.probe' | 'relay.test'>;

/**
 * The text of a `RELAY_TEST` message for `channel`, as a `States.Format` string: the two `{}` are
 * the sender's name and the event id, both of characters markdown cannot act on inside code.
 */
export function relayTestFormat(channel: string): string {
  return `🩺 **Relay test** from \`{}\`: if you can read this, the relay can post to #${channel}. (event \`{}\`)`;
}

/** `RELAY_TEST`: which channel, and who asked (a name like a forwarder's). */
export interface RelayTestEvent {
  readonly type: typeof EventType.RelayTest;
  readonly channel: string;
  readonly from: string;
}

export type ParsedEvent =
  | { readonly kind: VoiceEventKind; readonly event: VoiceStateUpdateEvent }
  | { readonly kind: typeof EventKind.ForwarderHeartbeat | typeof EventKind.Probe; readonly forwarder: string; readonly at?: string }
  | { readonly kind: typeof EventKind.RelayTest; readonly channel: string; readonly from: string }
  | { readonly kind: typeof EventKind.Unsupported; readonly type: string };

function malformed(message: string): never {
  throw new RelayError(RelayErrorCode.Malformed, `payload: ${message}`);
}

function asObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(`${path} must be an object`);
  return value as Record<string, unknown>;
}

function snowflake(value: unknown, path: string): string {
  if (typeof value !== 'string' || !SNOWFLAKE_PATTERN.test(value)) {
    malformed(`${path} must be a snowflake id (a string of 17-20 digits)`);
  }
  return value;
}

function name(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    malformed(`${path} must be a string of 1-${MAX_NAME_LENGTH} characters`);
  }
  return value;
}

function occupants(value: unknown, path: string): VoiceOccupants {
  const o = asObject(value, path);
  if (!Number.isInteger(o.count) || (o.count as number) < 0 || (o.count as number) > MAX_OCCUPANT_COUNT) malformed(`${path}.count must be a whole number from 0 to ${MAX_OCCUPANT_COUNT}`);
  if (!Array.isArray(o.members) || o.members.length > MAX_LISTED_OCCUPANTS || o.members.length > (o.count as number)) {
    malformed(`${path}.members must list at most ${MAX_LISTED_OCCUPANTS} members, and no more than count`);
  }
  const members = (o.members as unknown[]).map((m, i) => {
    const member = asObject(m, `${path}.members[${i}]`);
    return { id: snowflake(member.id, `${path}.members[${i}].id`), name: name(member.name, `${path}.members[${i}].name`) };
  });
  const seen = new Set<string>();
  for (const [i, m] of members.entries()) {
    if (seen.has(m.id)) malformed(`${path}.members[${i}].id lists member ${m.id} twice`);
    seen.add(m.id);
  }
  return { count: o.count as number, members };
}

function channelRef(value: unknown, path: string): VoiceChannelRef | null {
  if (value === null) return null;
  const o = asObject(value, path);
  const ref = { channel_id: snowflake(o.channel_id, `${path}.channel_id`), channel_name: name(o.channel_name, `${path}.channel_name`) };
  return o.occupants === undefined ? ref : { ...ref, occupants: occupants(o.occupants, `${path}.occupants`) };
}

function parseVoiceStateUpdate(o: Record<string, unknown>): VoiceStateUpdateEvent {
  const guild = asObject(o.guild, 'guild');
  const user = asObject(o.user, 'user');
  if (typeof user.bot !== 'boolean') malformed('user.bot must be true or false');
  if (!('before' in o) || !('after' in o)) malformed('before and after must both be present (null when not in a channel)');
  if (typeof o.at !== 'string' || parseIsoTimestamp(o.at) === undefined) {
    malformed(BAD_AT);
  }
  return {
    type: EventType.VoiceStateUpdate,
    guild: { id: snowflake(guild.id, 'guild.id'), name: name(guild.name, 'guild.name') },
    user: {
      id: snowflake(user.id, 'user.id'),
      name: name(user.name, 'user.name'),
      display_name: name(user.display_name, 'user.display_name'),
      bot: user.bot,
    },
    before: channelRef(o.before, 'before'),
    after: afterRef(channelRef(o.after, 'after')),
    at: o.at,
  };
}

/** Occupants describe a channel after the change: the one a user is in (joined, moved into, or updated in) holds at least that user. */
function afterRef(ref: VoiceChannelRef | null): VoiceChannelRef | null {
  if (ref?.occupants && ref.occupants.count < 1) malformed('after.occupants.count must be at least 1 (the user)');
  return ref;
}

/** join = before null, after set; leave = the reverse; move = both set and different; else update. */
export function classifyVoiceStateUpdate(event: VoiceStateUpdateEvent): VoiceEventKind {
  if (event.before === null && event.after !== null) return EventKind.VoiceJoin;
  if (event.before !== null && event.after === null) return EventKind.VoiceLeave;
  if (event.before !== null && event.after !== null && event.before.channel_id !== event.after.channel_id) {
    return EventKind.VoiceMove;
  }
  return EventKind.VoiceUpdate;
}

/** Parses a v1 envelope's payload string. Throws `Relay.Malformed` with the offending field. */
export function parseEventPayload(payload: string): ParsedEvent {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    malformed('not valid JSON');
  }
  return parseEvent(value);
}

/** Parses one event (a v1 payload, parsed, or an `event` of a v2 batch). Throws `Relay.Malformed` with the offending field. */
export function parseEvent(value: unknown): ParsedEvent {
  const o = asObject(value, 'the event');
  if (typeof o.type !== 'string' || o.type.length === 0 || o.type.length > 64) malformed('type must name the event');
  if (o.type === EventType.ForwarderHeartbeat) {
    if (typeof o.forwarder !== 'string' || !FORWARDER_NAME_PATTERN.test(o.forwarder)) malformed(`forwarder must be ${FORWARDER_NAME_RULE}`);
    if (o.probe !== undefined && typeof o.probe !== 'boolean') malformed('probe must be true or false when present');
    if (o.at !== undefined && (typeof o.at !== 'string' || parseIsoTimestamp(o.at) === undefined)) malformed(BAD_AT);
    return { kind: o.probe === true ? EventKind.Probe : EventKind.ForwarderHeartbeat, forwarder: o.forwarder, ...(typeof o.at === 'string' ? { at: o.at } : {}) };
  }
  if (o.type === EventType.RelayTest) {
    if (typeof o.channel !== 'string' || !CHANNEL_NAME_PATTERN.test(o.channel)) malformed('channel must be one of the relay\'s channel names');
    if (typeof o.from !== 'string' || !FORWARDER_NAME_PATTERN.test(o.from)) malformed(`from must be ${FORWARDER_NAME_RULE}`);
    return { kind: EventKind.RelayTest, channel: o.channel, from: o.from };
  }
  if (o.type !== EventType.VoiceStateUpdate) return { kind: EventKind.Unsupported, type: o.type };
  const event = parseVoiceStateUpdate(o);
  if (event.before === null && event.after === null) malformed('before and after cannot both be null');
  return { kind: classifyVoiceStateUpdate(event), event };
}
