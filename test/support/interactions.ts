/**
 * The interactions handler for the security tests, with nothing behind it but memory: requests
 * signed as Discord signs them, a guild settings store that records every call (and can fail on
 * demand), a facts reader that counts its reads, and every line the handler logs.
 */
import type { KeyObject } from 'node:crypto';
import { discordSignature } from '../../lib/interactions/simulate';
import { InteractionHeader } from '../../lib/contracts/interactions';
import type { GuildSettingsStore } from '../../lib/interactions/guild-settings';
import { createInteractionsHandler, type InteractionRequest, type InteractionResponse } from '../../lib/interactions/handler';
import type { RelayFacts } from '../../lib/interactions/status';

export { discordSignature } from '../../lib/interactions/simulate';

export interface SignOptions {
  /** @default 'application/json'; null sends none. */
  readonly contentType?: string | null;
  /** @default the clock, in seconds */
  readonly timestamp?: string;
  /** Deliver the body as base64, as API Gateway does for binary bodies and the local relay always does. @default false */
  readonly base64?: boolean;
  /** Sign these bytes instead of the body (a signature of a different body). */
  readonly signedBody?: Buffer;
}

/** A request as API Gateway's payload 2.0 hands it over (header names lower case), signed by `privateKey` at `nowMs`. */
export function signedRequest(body: Buffer | string, privateKey: KeyObject, nowMs: number, o: SignOptions = {}): InteractionRequest {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const timestamp = o.timestamp ?? String(Math.floor(nowMs / 1000));
  const headers: Record<string, string> = {
    [InteractionHeader.Signature]: discordSignature(timestamp, o.signedBody ?? bytes, privateKey),
    [InteractionHeader.Timestamp]: timestamp,
  };
  if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
  return { headers, body: o.base64 ? bytes.toString('base64') : bytes.toString('utf8'), isBase64Encoded: o.base64 ?? false };
}

type Settings = Pick<GuildSettingsStore, 'optOut' | 'optIn' | 'setPause' | 'read'>;

/** The store's four operations over a map; `calls` names each call in order, `fail` makes every call throw it. */
export class RecordingStore implements Settings {
  readonly calls: string[] = [];
  fail?: Error;
  private readonly optedOut = new Map<string, Set<string>>();
  private readonly pausedUntil = new Map<string, number>();

  constructor(private readonly worstCase = false) {}

  private record(method: string): void {
    this.calls.push(method);
    if (this.fail) throw this.fail;
  }

  private members(guildId: string): Set<string> {
    const set = this.optedOut.get(guildId) ?? new Set<string>();
    this.optedOut.set(guildId, set);
    return set;
  }

  async optOut(guildId: string, userId: string): Promise<boolean> {
    this.record('optOut');
    const set = this.members(guildId);
    const added = !set.has(userId);
    set.add(userId);
    return added;
  }

  async optIn(guildId: string, userId: string): Promise<boolean> {
    this.record('optIn');
    return this.members(guildId).delete(userId);
  }

  async setPause(guildId: string, until: Date | undefined, _by: string, now: Date): Promise<{ wasPaused: boolean }> {
    this.record('setPause');
    const wasPaused = (this.pausedUntil.get(guildId) ?? 0) > now.getTime();
    this.pausedUntil.set(guildId, until?.getTime() ?? 0);
    return { wasPaused };
  }

  async read(guildId: string, now: Date): Promise<{ paused: boolean; pausedUntil?: string; optedOut: number }> {
    this.record('read');
    // The longest answer a real table can give: paused, with the most opt-outs the relay keeps.
    if (this.worstCase) return { paused: true, pausedUntil: new Date(now.getTime() + 1440 * 60_000).toISOString(), optedOut: 10_000 };
    const until = this.pausedUntil.get(guildId) ?? 0;
    return { paused: until > now.getTime(), ...(until > now.getTime() ? { pausedUntil: new Date(until).toISOString() } : {}), optedOut: this.members(guildId).size };
  }
}

/** The longest facts `/relay status` can be given. */
export const WORST_CASE_FACTS: RelayFacts = {
  lane: { waiting: Number.MAX_SAFE_INTEGER, inFlight: Number.MAX_SAFE_INTEGER, oldestAgeSeconds: Number.MAX_SAFE_INTEGER },
  deadLetters: Number.MAX_SAFE_INTEGER,
  lastDelivery: new Date(8.64e15).toISOString(),
  lastHeartbeat: new Date(-8.64e15).toISOString(),
  lookBackHours: Number.MAX_SAFE_INTEGER,
};

export interface TestHandler {
  readonly handle: (request: InteractionRequest) => Promise<InteractionResponse>;
  readonly store: RecordingStore;
  /** Calls of the store and reads of the facts, in order (`facts` for a read). */
  readonly touched: () => string[];
  /** Every line the handler logged. */
  readonly lines: string[];
}

export function testHandler(o: { publicKey: KeyObject; allowedGuildIds: readonly string[]; now: () => number; facts?: RelayFacts; worstCase?: boolean }): TestHandler {
  const store = new RecordingStore(o.worstCase);
  const factsRead: string[] = [];
  const lines: string[] = [];
  const handle = createInteractionsHandler({
    publicKey: o.publicKey,
    allowedGuildIds: new Set(o.allowedGuildIds),
    // GuildSettingsStore has private fields, so a structural stand-in needs the double cast.
    settings: store as unknown as GuildSettingsStore,
    facts: async () => {
      factsRead.push('facts');
      return o.facts ?? { deadLetters: 0, lastDelivery: null, lastHeartbeat: null, lookBackHours: 24 };
    },
    now: o.now,
    log: (line) => lines.push(line),
  });
  return { handle, store, touched: () => [...store.calls, ...factsRead], lines };
}
