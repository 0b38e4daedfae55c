/**
 * From gateway voice state changes to relay events: the event (docs/architecture.md §2.2), its stable id, and
 * the debounce that keeps flapping (join+leave, leave+rejoin) from becoming notices.
 */
import { EventType, MAX_LISTED_OCCUPANTS, MAX_NAME_LENGTH, type VoiceChannelRef, type VoiceOccupants, type VoiceStateUpdateEvent } from '../contracts/events';
import { MAX_PAYLOAD_BYTES } from '../contracts/envelope';

/** One VOICE_STATE_UPDATE as the forwarder saw it, with names from the gateway cache. */
export interface VoiceChange {
  readonly guildId: string;
  readonly guildName: string;
  readonly userId: string;
  readonly userName: string;
  readonly displayName: string;
  readonly bot: boolean;
  readonly before: VoiceChannelRef | null;
  readonly after: VoiceChannelRef | null;
  readonly at: Date;
  /** Gateway session and sequence number of the dispatch: together they name it uniquely. */
  readonly gatewaySessionId: string;
  readonly seq: number;
}

/** Names are user text: never empty, never over the schema's limit. */
export function safeName(name: string | null | undefined, fallback: string): string {
  const trimmed = (name ?? '').slice(0, MAX_NAME_LENGTH);
  return trimmed.length > 0 ? trimmed : fallback.slice(0, MAX_NAME_LENGTH);
}

export function toVoiceEvent(change: VoiceChange): VoiceStateUpdateEvent {
  return {
    type: EventType.VoiceStateUpdate,
    guild: { id: change.guildId, name: safeName(change.guildName, change.guildId) },
    user: { id: change.userId, name: safeName(change.userName, change.userId), display_name: safeName(change.displayName, change.userName || change.userId), bot: change.bot },
    before: change.before,
    after: change.after,
    at: change.at.toISOString(),
  };
}

/** Who is in a voice channel now, by channel id (from the forwarder's gateway cache). */
export type OccupantsOf = (channelId: string) => VoiceOccupants | undefined;

/** Leaves room under the envelope's payload limit for everything else in the event. */
const OCCUPANTS_BUDGET_BYTES = MAX_PAYLOAD_BYTES - 2048;

/**
 * The event with the channels' occupants after the change. Lists are cut to
 * {@link MAX_LISTED_OCCUPANTS} names, and halved again while the payload would not fit (counts stay whole).
 */
export function withOccupants(event: VoiceStateUpdateEvent, occupantsOf: OccupantsOf): VoiceStateUpdateEvent {
  let limit = MAX_LISTED_OCCUPANTS;
  const attach = (ref: VoiceChannelRef | null): VoiceChannelRef | null => {
    const found = ref && occupantsOf(ref.channel_id);
    return ref && found ? { ...ref, occupants: { count: found.count, members: found.members.slice(0, limit) } } : ref;
  };
  for (;;) {
    const out = { ...event, before: attach(event.before), after: attach(event.after) };
    if (limit === 0 || Buffer.byteLength(JSON.stringify(out)) <= OCCUPANTS_BUDGET_BYTES) return out;
    limit = Math.floor(limit / 2);
  }
}

/**
 * The envelope id: the same gateway dispatch (replayed after a RESUME, or sent again from the
 * spool) always gets the same id, so the relay can drop duplicates.
 */
export function eventIdFor(change: VoiceChange): string {
  return `vsu:${change.guildId}:${change.userId}:${change.gatewaySessionId.replace(/[^A-Za-z0-9]/g, '').slice(0, 40)}:${change.seq}`;
}

export type NetChangeKind = 'join' | 'leave' | 'move' | 'update' | 'none';

export function netKind(before: VoiceChannelRef | null, after: VoiceChannelRef | null): NetChangeKind {
  if (before === null && after === null) return 'none';
  if (before === null) return 'join';
  if (after === null) return 'leave';
  return before.channel_id === after.channel_id ? 'update' : 'move';
}

export interface Timers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

/**
 * Holds a member's changes for `windowMs` from the first one, then emits the net change (first
 * `before` → last `after`, with the last change's names and id). A join and leave inside the
 * window cancel out; a leave and join of another channel become one move. Emission is delayed by
 * at most the window.
 */
export class Debouncer {
  private readonly pending = new Map<string, { first: VoiceChange; last: VoiceChange; timer: unknown; moved: boolean }>();

  constructor(
    private readonly windowMs: number,
    private readonly emit: (change: VoiceChange, kind: NetChangeKind) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  push(change: VoiceChange): void {
    const key = `${change.guildId}:${change.userId}`;
    const held = this.pending.get(key);
    const moved = netKind(change.before, change.after) !== 'update';
    if (held) {
      held.last = change;
      held.moved ||= moved;
      return;
    }
    if (this.windowMs <= 0) {
      this.release(change, change, moved);
      return;
    }
    const timer = this.timers.setTimeout(() => this.flushKey(key), this.windowMs);
    this.pending.set(key, { first: change, last: change, timer, moved });
  }

  /** Emits everything held now (on shutdown), so nothing pending is lost. */
  flushAll(): void {
    for (const key of [...this.pending.keys()]) this.flushKey(key);
  }

  get size(): number {
    return this.pending.size;
  }

  private flushKey(key: string): void {
    const held = this.pending.get(key);
    if (!held) return;
    this.timers.clearTimeout(held.timer);
    this.pending.delete(key);
    this.release(held.first, held.last, held.moved);
  }

  private release(first: VoiceChange, last: VoiceChange, moved: boolean): void {
    const net: VoiceChange = { ...last, before: first.before };
    const kind = netKind(net.before, net.after);
    // Back in the channel it started in after leaving it: a rejoin, not a state change.
    this.emit(net, kind === 'update' && moved ? 'none' : kind);
  }
}
