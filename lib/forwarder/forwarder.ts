/**
 * `relay forward`: the long-running bot that is the relay's eyes on the Discord gateway.
 *
 *   gateway (@discordjs/ws, Guilds + GuildVoiceStates) → debounce → spool (node:sqlite) → RelayClient
 *
 * No false notices: the voice-state cache is primed from GUILD_CREATE before any event counts, and
 * only VOICE_STATE_UPDATE dispatches produce events, so a restart, reconnect or RESUME never
 * announces people who were already in a channel. Nothing accepted into the spool is lost or sent
 * twice by us; ids are derived from the gateway dispatch so the relay can drop duplicates.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayClientError } from '../client/relay-client';
import { MAX_BATCH_EVENTS, MAX_PAYLOAD_BYTES } from '../contracts/envelope';
import { EventType, MAX_LISTED_OCCUPANTS, toForwarderName, type VoiceChannelRef, type VoiceOccupants } from '../contracts/events';
import { BatchSupport, type BatchProbeIntervals } from './batch-support';
import { FORWARDER_DEFAULTS } from './defaults';
import { DiscordGateway, type DispatchOrigin, type GatewayFatalError } from './gateway';
import type { CachedGuild, VoiceMember, VoiceStateChange } from './guild-cache';
import { jsonLogger, type Logger } from './logger';
import type { Spool, SpooledEvent } from './spool';
import { Debouncer, eventIdFor, safeName, toVoiceEvent, withOccupants, type NetChangeKind, type VoiceChange } from './voice-changes';

/** What the forwarder sends through: RelayClient, or anything shaped like it. */
export interface EventSender {
  send(event: unknown, options: { id: string }): Promise<unknown>;
  /** Several events in one envelope (v2). @default - each event sent alone */
  sendBatch?(events: readonly { id: string; event: unknown }[]): Promise<unknown>;
  /**
   * Whether the relay takes batched envelopes (batch-support.ts): a relay older than batches would
   * start an execution for one and fail it, long after the spool let the events go.
   */
  acceptsBatches?(forwarder?: string): Promise<boolean>;
}

/** The heartbeat event type: the relay records it as the forwarder's item in its heartbeat table. */
export const FORWARDER_HEARTBEAT = EventType.ForwarderHeartbeat;

export interface ForwarderOptions {
  /** The bot token. Never logged. */
  readonly token: string;
  readonly sender: EventSender;
  readonly spool: Spool;
  /** @default - every guild the bot is in */
  readonly allowedGuildIds?: readonly string[];
  /** @default true */
  readonly skipBots?: boolean;
  /** Forward mute, deafen, stream and video changes too. @default false */
  readonly forwardUpdates?: boolean;
  /** @default FORWARDER_DEFAULTS.debounceMs (3000) */
  readonly debounceMs?: number;
  /** @default FORWARDER_DEFAULTS.heartbeatMs (5 minutes); 0 turns heartbeats off */
  readonly heartbeatMs?: number;
  /** Port for GET /healthz; 0 picks a free one. @default - no health server */
  readonly healthPort?: number;
  /** @default FORWARDER_DEFAULTS.healthHost ('127.0.0.1') */
  readonly healthHost?: string;
  /** Discord's REST base (tests point it at a fake). @default 'https://discord.com/api' */
  readonly discordApi?: string;
  /** Names this forwarder in heartbeats. @default 'forwarder' */
  readonly name?: string;
  /**
   * How often to ask the relay whether it takes batches: `retryMs` while it says no,
   * `recheckMs` while it says yes.
   * @default - batch-support.ts: { retryMs: 5 min, recheckMs: 1 h }
   */
  readonly batchProbe?: BatchProbeIntervals;
  /** Spool retry backoff. @default { baseMs: 1000, maxMs: 300000 } */
  readonly retry?: { readonly baseMs: number; readonly maxMs: number };
  /** @default JSON lines on stdout at info */
  readonly log?: Logger;
}

export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'disconnected';
  readonly gateway: { readonly connected: boolean; readonly pingMs: number | null };
  readonly guilds: number;
  readonly spool: { readonly depth: number; readonly capacity: number; readonly oldestAgeSeconds: number | null; readonly dead: number };
  readonly lastDelivery: string | null;
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly uptimeSeconds: number;
}

export class Forwarder {
  private readonly gateway: DiscordGateway;
  private readonly log: Logger;
  private readonly debouncer: Debouncer;
  private readonly allowed?: ReadonlySet<string>;
  private readonly startedAt = Date.now();
  private connected = false;
  private running = false;
  /** Set by stop(): the gateway closing is then expected, not news. */
  private stopping = false;
  private lastDelivery: Date | null = null;
  private lastError: { at: Date; message: string } | null = null;
  private wake: () => void = () => undefined;
  private loop?: Promise<void>;
  private heartbeat?: NodeJS.Timeout;
  private expiry?: NodeJS.Timeout;
  private health?: Server;
  private spoolFullWarned = false;
  /** Whether the relay takes batches; undefined for a sender that cannot send them. */
  private readonly batchSupport?: BatchSupport;

  constructor(private readonly options: ForwarderOptions) {
    this.log = options.log ?? jsonLogger();
    const { sender } = options;
    if (sender.sendBatch && sender.acceptsBatches) {
      this.batchSupport = new BatchSupport(() => sender.acceptsBatches!(toForwarderName(options.name ?? 'forwarder')), this.log, options.batchProbe);
    }
    this.allowed = options.allowedGuildIds?.length ? new Set(options.allowedGuildIds) : undefined;
    this.debouncer = new Debouncer(options.debounceMs ?? FORWARDER_DEFAULTS.debounceMs, (change, kind) => this.onNetChange(change, kind));
    this.gateway = new DiscordGateway({ token: options.token, discordApi: options.discordApi }, {
      voiceStateUpdate: (change, origin) => this.onVoiceStateUpdate(change, origin),
      status: (connected, msg, fields) => this.setConnected(connected, msg, fields),
      error: (error) => this.log.error('gateway error', { error: error.message }),
    });
  }

  /** Settles when Discord closes the gateway for good (the token was reset, …): restarting will not help. */
  get fatal(): Promise<GatewayFatalError> {
    return this.gateway.fatal;
  }

  /** Connects to the gateway and starts delivering; resolves once the guilds are loaded. */
  async start(): Promise<void> {
    this.running = true;
    // Events left from an earlier run go out first, even before the gateway is up.
    this.log.info('starting', { spoolDepth: this.options.spool.depth(), spool: this.options.spool.file });
    this.batchSupport?.askIfDue();
    this.loop = this.deliveryLoop();
    if (this.options.healthPort !== undefined) await this.startHealth(this.options.healthPort);
    const { unavailable } = await this.gateway.connect();
    // A stop() while the gateway connected: start no timers (they would outlive the stop).
    if (this.stopping) return;
    if (unavailable.length) this.log.warn('guilds unavailable (Discord outage); they are forwarded once Discord sends them', { guilds: unavailable });
    const guilds = [...this.gateway.cache.values()];
    this.log.info('forwarding', {
      guilds: guilds.map((g) => ({ id: g.id, forwarded: !this.allowed || this.allowed.has(g.id), inVoice: g.voice.size })),
      spoolDepth: this.options.spool.depth(),
    });
    const heartbeatMs = this.options.heartbeatMs ?? FORWARDER_DEFAULTS.heartbeatMs;
    if (heartbeatMs > 0) this.heartbeat = setInterval(() => void this.sendHeartbeat(), heartbeatMs);
    this.expiry = setInterval(() => this.expireSpool(), 60_000);
    this.batchSupport?.startClock();
    this.expireSpool();
  }

  /**
   * Graceful stop: held debounced changes go to the spool, the send in flight gets up to `graceMs`,
   * and everything not yet accepted stays queued for the next start.
   */
  async stop(graceMs = 3000): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearInterval(this.heartbeat);
    clearInterval(this.expiry);
    this.batchSupport?.stop();
    this.debouncer.flushAll();
    this.wake();
    await this.gateway.destroy();
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, graceMs).unref())]);
    await new Promise<void>((resolve) => (this.health ? this.health.close(() => resolve()) : resolve()));
    this.log.info('stopped', { spoolDepth: this.options.spool.depth() });
  }

  /** Port of the health server, once started. */
  get healthPort(): number | undefined {
    return (this.health?.address() as AddressInfo | null)?.port;
  }

  healthReport(now = Date.now()): HealthReport {
    const spool = this.options.spool;
    const oldest = spool.oldestCreatedAt();
    const failing = this.lastError !== null && (this.lastDelivery === null || this.lastError.at > this.lastDelivery);
    return {
      status: !this.connected ? 'disconnected' : failing && spool.depth() > 0 ? 'degraded' : 'ok',
      gateway: { connected: this.connected, pingMs: this.gateway.pingMs },
      guilds: this.gateway.cache.size,
      spool: { depth: spool.depth(), capacity: spool.capacity, oldestAgeSeconds: oldest === undefined ? null : Math.round((now - oldest) / 1000), dead: spool.deadCount() },
      lastDelivery: this.lastDelivery?.toISOString() ?? null,
      lastError: this.lastError && { at: this.lastError.at.toISOString(), message: this.lastError.message },
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
    };
  }

  private setConnected(connected: boolean, msg: string, fields: Record<string, unknown> = {}): void {
    this.connected = connected;
    if (this.stopping) return;
    this.log[connected ? 'info' : 'warn'](msg, fields);
  }

  private channelRef(guild: CachedGuild, member: VoiceMember | null): VoiceChannelRef | null {
    return member && { channel_id: member.channelId, channel_name: this.gateway.cache.channelName(guild, member.channelId) };
  }

  private onVoiceStateUpdate({ guild, userId, user, before, after }: VoiceStateChange, origin: DispatchOrigin): void {
    if (this.allowed && !this.allowed.has(guild.id)) return;
    if ((this.options.skipBots ?? true) && user.bot) return;
    this.debouncer.push({
      guildId: guild.id,
      guildName: guild.name,
      userId,
      userName: user.userName,
      displayName: user.displayName,
      bot: user.bot,
      before: this.channelRef(guild, before),
      after: this.channelRef(guild, after),
      at: new Date(),
      gatewaySessionId: origin.sessionId,
      seq: origin.seq,
    });
  }

  /** Who is in the channel now, from the gateway cache; bots left out when they are skipped. */
  private occupantsOf(guildId: string, channelId: string): VoiceOccupants | undefined {
    if (!this.gateway.cache.get(guildId)) return undefined;
    const skipBots = this.options.skipBots ?? true;
    const present = this.gateway.cache.occupants(guildId, channelId).filter(([, m]) => !(skipBots && m.bot));
    const members = present.slice(0, MAX_LISTED_OCCUPANTS).map(([id, m]) => ({ id, name: safeName(m.displayName, id) }));
    return { count: present.length, members };
  }

  private onNetChange(change: VoiceChange, kind: NetChangeKind): void {
    if (kind === 'none') {
      this.log.debug('no net change after debounce', { guild: change.guildId, user: change.userId });
      return;
    }
    if (kind === 'update' && !this.options.forwardUpdates) return;
    const id = eventIdFor(change);
    const event = withOccupants(toVoiceEvent(change), (channelId) => this.occupantsOf(change.guildId, channelId));
    const { added, dropped } = this.options.spool.add(id, JSON.stringify(event));
    if (!added) this.log.info('already queued', { id });
    if (dropped > 0) this.log.error('spool full: dropped the oldest events', { dropped, capacity: this.options.spool.capacity });
    const depth = this.options.spool.depth();
    if (depth >= 0.8 * this.options.spool.capacity && !this.spoolFullWarned) {
      this.spoolFullWarned = true;
      this.log.warn('spool over 80% full: the relay is not accepting events', { depth, capacity: this.options.spool.capacity });
    } else if (depth < 0.5 * this.options.spool.capacity) {
      this.spoolFullWarned = false;
    }
    this.log.info('queued', { id, kind });
    this.wake();
  }

  private waitForWork(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Sends the spool head, in order; a failure holds the line (order matters) until its backoff ends. */
  private async deliveryLoop(): Promise<void> {
    while (this.running) {
      const head = this.options.spool.head();
      if (!head) {
        await this.waitForWork();
        continue;
      }
      const wait = head.nextAttemptAt - Date.now();
      if (wait > 0) {
        await this.waitForWork(wait);
        continue;
      }
      const batch = await this.batchFrom(head);
      await (batch.length > 1 ? this.deliverBatch(batch) : this.deliver(head));
    }
  }

  /**
   * The head and what is already due behind it, in order, as one envelope: up to 10 events and
   * 16 KiB, ending before a member's second event (the relay handles a batch's events side by
   * side; separate envelopes at least go out one after the other) and before an event of another
   * guild (the relay reads one guild's settings once for an envelope). Nothing waits to fill a batch:
   * a lone event goes out alone, at once. Only to a relay that said it takes batches.
   */
  private async batchFrom(head: SpooledEvent): Promise<{ id: string; event: unknown; spooled: SpooledEvent }[]> {
    const first = { id: head.id, event: parsed(head.payload), spooled: head };
    if (!this.batchSupport || first.event === undefined || !(await this.batchSupport.takesBatches(this.options.spool.oldest(2).length > 1))) return [first];
    const now = Date.now();
    const batch = [first];
    const members = new Set([memberOf(first.event)]);
    const guild = guildOf(first.event);
    for (const spooled of this.options.spool.oldest(MAX_BATCH_EVENTS).slice(1)) {
      // A row that is not JSON (never written by this forwarder) goes alone, as its own text.
      const event = parsed(spooled.payload);
      const member = memberOf(event);
      if (spooled.nextAttemptAt > now || member === undefined || members.has(member) || guildOf(event) !== guild) break;
      const items = [...batch, { id: spooled.id, event, spooled }];
      if (Buffer.byteLength(JSON.stringify(items.map(({ id, event: e }) => ({ id, event: e }))), 'utf8') > MAX_PAYLOAD_BYTES) break;
      batch.push(items[items.length - 1]);
      members.add(member);
    }
    return batch;
  }

  private async deliverBatch(batch: readonly { id: string; event: unknown; spooled: SpooledEvent }[]): Promise<void> {
    const ids = batch.map((b) => b.id);
    try {
      await this.options.sender.sendBatch!(batch.map(({ id, event }) => ({ id, event })));
      this.options.spool.remove(...ids);
      this.lastDelivery = new Date();
      for (const { id, spooled } of batch) this.log.info('delivered', { id, attempts: spooled.attempts + 1, batch: batch.length });
    } catch (error) {
      const e = error as Error;
      this.lastError = { at: new Date(), message: e.message.split('\n')[0] };
      if (error instanceof RelayClientError && (error.kind === 'rejected' || error.kind === 'invalid')) {
        // Refused as a batch (a relay older than batches answers so): each event goes alone, and is judged alone.
        this.log.warn('relay refused the batch; sending its events one by one', { ids, status: error.status, error: this.lastError.message });
        for (const { spooled } of batch) await this.deliver(spooled);
        return;
      }
      const delay = this.retryDelay(batch[0].spooled.attempts);
      for (const id of ids) this.options.spool.markFailed(id, this.lastError.message, Date.now() + delay);
      const level = error instanceof RelayClientError && error.kind === 'forbidden' ? 'error' : 'warn';
      this.log[level]('delivery failed; kept in the spool', { ids, attempts: batch[0].spooled.attempts + 1, retryInMs: Math.round(delay), error: this.lastError.message });
    }
  }

  /** Exponential backoff with jitter, from the spool's retry settings. */
  private retryDelay(attempts: number): number {
    const retry = this.options.retry ?? { baseMs: 1000, maxMs: 300_000 };
    return Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(attempts, 20)) * (0.5 + Math.random() / 2);
  }

  private async deliver(event: SpooledEvent): Promise<void> {
    try {
      await this.options.sender.send(event.payload, { id: event.id });
      this.options.spool.remove(event.id);
      this.lastDelivery = new Date();
      this.log.info('delivered', { id: event.id, attempts: event.attempts + 1 });
    } catch (error) {
      const e = error as Error;
      this.lastError = { at: new Date(), message: e.message.split('\n')[0] };
      if (error instanceof RelayClientError && (error.kind === 'rejected' || error.kind === 'invalid')) {
        // The relay will never take this event: keep it aside, let the rest through.
        this.options.spool.bury(event.id, e.message);
        this.log.error('relay refused the event; moved to dead letters', { id: event.id, status: error.status, error: this.lastError.message });
        return;
      }
      const delay = this.retryDelay(event.attempts);
      this.options.spool.markFailed(event.id, this.lastError.message, Date.now() + delay);
      const level = error instanceof RelayClientError && error.kind === 'forbidden' ? 'error' : 'warn';
      this.log[level]('delivery failed; kept in the spool', { id: event.id, attempts: event.attempts + 1, retryInMs: Math.round(delay), error: this.lastError.message });
    }
  }

  private async sendHeartbeat(): Promise<void> {
    const name = toForwarderName(this.options.name ?? 'forwarder');
    const at = new Date();
    try {
      await this.options.sender.send(
        { type: FORWARDER_HEARTBEAT, forwarder: name, at: at.toISOString(), guilds: this.gateway.cache.size, gateway_connected: this.connected, spool_depth: this.options.spool.depth() },
        { id: `hb:${name}:${at.getTime()}` },
      );
      this.log.debug('heartbeat sent');
    } catch (error) {
      this.log.warn('heartbeat not sent', { error: (error as Error).message.split('\n')[0] });
    }
  }

  private expireSpool(): void {
    const expired = this.options.spool.expire();
    if (expired > 0) this.log.warn('dropped events older than the spool keeps', { expired });
  }

  private async startHealth(port: number): Promise<void> {
    this.health = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') {
        const report = this.healthReport();
        res.writeHead(report.status === 'disconnected' ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
    });
    await new Promise<void>((resolve) => this.health!.listen(port, this.options.healthHost ?? FORWARDER_DEFAULTS.healthHost, resolve));
  }
}

/** A spooled payload's event, or undefined when it is not JSON. */
function parsed(payload: string): unknown {
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return undefined;
  }
}

/** Who a spooled voice event is about (`guild:user`); undefined for anything else, which goes alone. */
function guildOf(event: unknown): unknown {
  return (event as { guild?: { id?: unknown } } | null)?.guild?.id;
}

function memberOf(event: unknown): string | undefined {
  const e = event as { guild?: { id?: unknown }; user?: { id?: unknown } } | null;
  return typeof e?.guild?.id === 'string' && typeof e.user?.id === 'string' ? `${e.guild.id}:${e.user.id}` : undefined;
}
