/**
 * From gateway voice state changes to relay events: the event (docs/architecture.md §2.2), its stable id, and
 * the debounce that keeps flapping (join+leave, leave+rejoin) from becoming notices.
 */
import { EventType, MAX_NAME_LENGTH, type VoiceChannelRef, type VoiceStateUpdateEvent } from '../contracts/events';

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
