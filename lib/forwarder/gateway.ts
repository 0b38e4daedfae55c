/**
 * The forwarder's Discord gateway connection: discord.js's own `@discordjs/ws` (heartbeats, zombie
 * detection, RESUME, RECONNECT, INVALID_SESSION, identify throttling, sharding, close codes) with
 * Guilds + GuildVoiceStates, feeding a {@link GuildCache}.
 *
 * Not the full discord.js client: its caches and its REST client (undici) cost ~30 MB of a
 * forwarder that needs one REST call, `GET /gateway/bot`, made here over node:https.
 */
import { WebSocketManager, WebSocketShardEvents, type SessionInfo } from '@discordjs/ws';
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  Routes,
  type APIGatewayBotInfo,
  type GatewayDispatchPayload,
} from 'discord-api-types/v10';
import { send } from '../client/http';
import { parseRetryAfter } from '../client/relay-client';
import { DISCORD_USER_AGENT } from '../project-files';
import { GuildCache, type VoiceStateChange } from './guild-cache';

/** Exactly the intents the forwarder needs: guild data (names, channels) and voice states. */
export const GATEWAY_INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildVoiceStates;

/** Close codes after which Discord will not take the session back: retrying cannot help. */
const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  GatewayCloseCodes.AuthenticationFailed,
  GatewayCloseCodes.InvalidShard,
  GatewayCloseCodes.ShardingRequired,
  GatewayCloseCodes.InvalidAPIVersion,
  GatewayCloseCodes.InvalidIntents,
  GatewayCloseCodes.DisallowedIntents,
]);

/** Discord refused the connection for good; `code` is 'TokenInvalid' when it refused the token. */
export class GatewayFatalError extends Error {
  constructor(message: string, public readonly code: 'TokenInvalid' | 'GatewayClosed', public readonly status?: number) {
    super(message);
    this.name = 'GatewayFatalError';
  }
}

/** Where a VOICE_STATE_UPDATE came from: its gateway session and sequence number name it uniquely. */
export interface DispatchOrigin {
  readonly sessionId: string;
  readonly seq: number;
}

export interface GatewayHandlers {
  voiceStateUpdate(change: VoiceStateChange, origin: DispatchOrigin): void;
  /** Connection news, for the log and the health report. */
  status(connected: boolean, message: string, fields?: Record<string, unknown>): void;
  error(error: Error): void;
}

export interface DiscordGatewayOptions {
  /** The bot token. Never logged. */
  readonly token: string;
  /** Discord's REST base. @default 'https://discord.com/api' */
  readonly discordApi?: string;
  /** How long the start waits for guilds READY announced, after the last one arrived. @default 15000 (discord.js's waitGuildTimeout) */
  readonly guildTimeoutMs?: number;
  /** For each `GET /gateway/bot`. @default 15000 */
  readonly requestTimeoutMs?: number;
}

export class DiscordGateway {
  public readonly cache = new GuildCache();
  /** Settles with the reason when Discord closes the gateway for good (bad token, intents, …). */
  public readonly fatal: Promise<GatewayFatalError>;
  private readonly manager: WebSocketManager;
  private readonly sessions = new Map<number, SessionInfo>();
  private readonly ready = new Map<number, boolean>();
  private readonly latency = new Map<number, number>();
  /** Dispatches since a shard's socket closed: replayed by the RESUME that follows. */
  private readonly sinceClose = new Map<number, number>();
  /** Guilds READY announced that have not arrived yet. */
  private readonly pending = new Set<string>();
  private guildArrived: () => void = () => undefined;
  private declareFatal: (error: GatewayFatalError) => void = () => undefined;

  constructor(private readonly options: DiscordGatewayOptions, private readonly on: GatewayHandlers) {
    this.fatal = new Promise((resolve) => (this.declareFatal = resolve));
    this.manager = new WebSocketManager({
      token: options.token,
      intents: GATEWAY_INTENTS,
      // @discordjs/ws calls only rest.get(Routes.gatewayBot()); the full REST client is not loaded.
      rest: { get: (route: string) => this.fetchGatewayBot(route) } as unknown as ConstructorParameters<typeof WebSocketManager>[0]['rest'],
      // This instance's sessions only (the library's default store is shared by the whole process).
      retrieveSessionInfo: (shardId) => this.sessions.get(shardId) ?? null,
      updateSessionInfo: (shardId, info) => void (info ? this.sessions.set(shardId, info) : this.sessions.delete(shardId)),
    });
    this.manager.on(WebSocketShardEvents.Ready, (data, shardId) => {
      this.cache.resetShard(shardId, data.guilds.map((g) => g.id));
      for (const g of data.guilds) if (!this.cache.get(g.id)) this.pending.add(g.id);
      this.setReady(shardId, true, 'gateway ready', { shard: shardId });
    });
    this.manager.on(WebSocketShardEvents.Resumed, (shardId) => this.setReady(shardId, true, 'gateway resumed', { shard: shardId, replayed: this.sinceClose.get(shardId) ?? 0 }));
    this.manager.on(WebSocketShardEvents.Closed, (code, shardId) => this.onClosed(code, shardId));
    this.manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => this.onDispatch(payload, shardId));
    this.manager.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }, shardId) => void this.latency.set(shardId, latency));
    this.manager.on(WebSocketShardEvents.Error, (error) => this.on.error(error));
  }

  /** Every shard connected, and each guild READY announced arrived (or stayed away guildTimeoutMs). */
  async connect(): Promise<{ unavailable: string[] }> {
    await Promise.race([this.manager.connect(), this.fatal.then((error) => Promise.reject(error))]).catch((error: Error) => {
      throw error.message === 'Authentication failed' ? tokenRefused('gateway close 4004') : error;
    });
    await this.guildsLoaded(this.options.guildTimeoutMs ?? 15_000);
    return { unavailable: [...this.pending] };
  }

  get connected(): boolean {
    return this.ready.size > 0 && [...this.ready.values()].every(Boolean);
  }

  /** Average heartbeat round trip over the shards, once measured. */
  get pingMs(): number | null {
    const values = [...this.latency.values()];
    return values.length ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : null;
  }

  async destroy(): Promise<void> {
    await this.manager.destroy({ code: 1000, reason: 'relay forward stopping' });
  }

  private setReady(shardId: number, ready: boolean, message: string, fields: Record<string, unknown>): void {
    this.ready.set(shardId, ready);
    this.on.status(this.connected, message, fields);
  }

  private onClosed(code: number, shardId: number): void {
    this.sinceClose.set(shardId, 0);
    if (FATAL_CLOSE_CODES.has(code)) {
      const name = GatewayCloseCodes[code] ?? 'Closed';
      this.declareFatal(code === GatewayCloseCodes.AuthenticationFailed ? tokenRefused(`gateway close ${code}`) : new GatewayFatalError(`Discord closed the gateway for good (${code} ${name})`, 'GatewayClosed'));
    }
    this.setReady(shardId, false, 'gateway disconnected', { shard: shardId, code });
  }

  private onDispatch(payload: GatewayDispatchPayload, shardId: number): void {
    this.sinceClose.set(shardId, (this.sinceClose.get(shardId) ?? 0) + 1);
    const change = this.cache.apply(payload, shardId);
    if (payload.t === GatewayDispatchEvents.GuildCreate && this.pending.delete(payload.d.id)) this.guildArrived();
    if (change) this.on.voiceStateUpdate(change, { sessionId: this.sessions.get(shardId)?.sessionId ?? 'none', seq: payload.s });
  }

  private guildsLoaded(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        clearTimeout(timer);
        if (this.pending.size === 0) {
          this.guildArrived = () => undefined;
          resolve();
        } else {
          // Guilds in an outage may never come: go on without them (they arrive as GUILD_CREATE later).
          timer = setTimeout(resolve, timeoutMs);
        }
      };
      this.guildArrived = check;
      check();
    });
  }

  /** `GET /gateway/bot` over node:https: retries a 429 (after Discord's retry_after) and 5xx twice. */
  private async fetchGatewayBot(route: string): Promise<APIGatewayBotInfo> {
    if (route !== Routes.gatewayBot()) throw new Error(`unexpected Discord REST call ${route}`);
    const url = new URL(`${(this.options.discordApi ?? 'https://discord.com/api').replace(/\/+$/, '')}/v10${route}`);
    for (let attempt = 1; ; attempt++) {
      const answer = await send(url, {
        method: 'GET', headers: { authorization: `Bot ${this.options.token}`, 'user-agent': DISCORD_USER_AGENT }, body: '', timeoutMs: this.options.requestTimeoutMs ?? 15_000,
      });
      if (answer.status === 200) return JSON.parse(answer.text) as APIGatewayBotInfo;
      if (answer.status === 401) throw tokenRefused('401', 401);
      const retryable = answer.status === 429 || answer.status >= 500;
      if (!retryable || attempt === 3) throw new Error(`Discord answered GET ${route} with ${answer.status}`);
      const retryAfterMs = answer.status === 429 ? parseRetryAfter(answer.headers['retry-after'] ?? null) : undefined;
      await new Promise((r) => setTimeout(r, retryAfterMs === undefined ? 1000 * attempt : Math.min(retryAfterMs, 60_000)));
    }
  }
}

function tokenRefused(detail: string, status?: number): GatewayFatalError {
  return new GatewayFatalError(`Discord refused the bot token (${detail})`, 'TokenInvalid', status);
}
