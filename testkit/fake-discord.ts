/**
 * A fake Discord speaking the real gateway protocol (v10, JSON, no compression) and the one REST
 * route a bot needs to find it (`GET /api/v10/gateway/bot`), so discord.js's unmodified
 * `@discordjs/ws` can connect: HELLO → IDENTIFY → READY → GUILD_CREATE (with voice states),
 * heartbeats and ACKs, VOICE_STATE_UPDATE and CHANNEL_UPDATE dispatches, RESUME with replay,
 * RECONNECT, INVALID_SESSION, unavailable guilds, a reset token (close 4004) and a rate-limited REST route.
 * Also the commands' bulk overwrite (`PUT /api/v10/applications/:app[/guilds/:guild]/commands`),
 * with Discord's answers: 401 for a wrong token, 403 Missing Access outside its guilds, 400
 * Invalid Form Body (nested `errors`) for a bad name, 429 on demand.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeChannel {
  readonly id: string;
  readonly name: string;
}

export interface FakeMember {
  readonly id: string;
  readonly username: string;
  readonly globalName?: string;
  readonly nick?: string;
  readonly bot?: boolean;
}

export interface FakeGuild {
  readonly id: string;
  readonly name: string;
  readonly voiceChannels: readonly FakeChannel[];
  readonly members: readonly FakeMember[];
  /** Listed in READY but not sent (a Discord outage) until {@link FakeDiscord.makeAvailable}. */
  readonly unavailable?: boolean;
}

interface VoiceState {
  channel_id: string | null;
  self_mute: boolean;
  self_deaf: boolean;
  self_video: boolean;
}

interface Session {
  readonly id: string;
  seq: number;
  /** Every dispatch sent in this session, for RESUME replay. */
  readonly sent: Array<{ s: number; t: string; d: unknown }>;
  socket?: WebSocket;
}

export const GATEWAY_INTENTS = { Guilds: 1 << 0, GuildVoiceStates: 1 << 7 } as const;

/** The fake's bot user, and the application it belongs to (the same id, as for any bot made in the Developer Portal). */
export const FAKE_APPLICATION_ID = '900000000000000001';

const COMMANDS_ROUTE = /^\/api\/v10\/applications\/([0-9]+)(?:\/guilds\/([0-9]+))?\/commands\/?$/;
/** Discord's rule for command and option names (CHAT_INPUT: lower case where the script has case). */
const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** A PUT of the commands, for assertions. */
export interface CommandsRequest {
  readonly applicationId: string;
  /** Undefined for the global commands. */
  readonly guildId?: string;
  readonly userAgent?: string;
  readonly contentType?: string;
  readonly status: number;
}

export class FakeDiscord {
  /** IDENTIFY and RESUME payloads received, for assertions. */
  public readonly identifies: Array<{ intents: number; token: string }> = [];
  /** User-Agent of each `GET /gateway/bot`. */
  public readonly gatewayBotRequests: Array<{ userAgent: string | undefined }> = [];
  public readonly resumes: Array<{ session_id: string; seq: number }> = [];
  public heartbeats = 0;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<string, Session>();
  private current?: Session;
  private readonly voice = new Map<string, Map<string, VoiceState>>();
  private url = '';
  private currentToken = newToken();
  private rateLimitedAnswers = 0;
  private readonly unavailable = new Set<string>();
  private readonly channelNames = new Map<string, string>();
  /** Registered commands by `global` or guild id. */
  private readonly commands = new Map<string, unknown[]>();
  /** Every commands PUT, for assertions. */
  public readonly commandsRequests: CommandsRequest[] = [];
  private rateLimitedCommands: { count: number; retryAfter: number } = { count: 0, retryAfter: 0 };

  constructor(private readonly guilds: readonly FakeGuild[], private readonly heartbeatIntervalMs = 41_250) {
    for (const g of guilds) {
      this.voice.set(g.id, new Map());
      if (g.unavailable) this.unavailable.add(g.id);
    }
    this.server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v10/gateway/bot')) {
        this.gatewayBotRequests.push({ userAgent: req.headers['user-agent'] });
        if (this.rateLimitedAnswers > 0) {
          this.rateLimitedAnswers--;
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0.05' }).end('{"message":"You are being rate limited.","retry_after":0.05,"global":false}');
          return;
        }
        if (req.headers.authorization !== `Bot ${this.token}`) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"401: Unauthorized","code":0}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          url: this.url.replace('http', 'ws'), shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
        }));
        return;
      }
      const commands = req.method === 'PUT' ? COMMANDS_ROUTE.exec(req.url?.split('?')[0] ?? '') : null;
      if (commands) return void this.onCommands(req, res, commands[1], commands[2]);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"404: Not Found","code":0}');
    });
    this.wss = new WebSocketServer({ server: this.server });
    this.wss.on('connection', (socket) => this.onConnection(socket));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** The bot token Discord accepts now. */
  get token(): string {
    return this.currentToken;
  }

  /** The REST base a bot should use (`--discord-api`). */
  get api(): string {
    return `${this.url}/api`;
  }

  get connected(): boolean {
    return this.current?.socket?.readyState === 1;
  }

  /** Puts a member in a channel before anyone connects (shown in GUILD_CREATE, never as an event). */
  seedVoiceState(guildId: string, userId: string, channelId: string, state: Partial<VoiceState> = {}): void {
    this.voice.get(guildId)!.set(userId, { channel_id: channelId, self_mute: false, self_deaf: false, self_video: false, ...state });
  }

  /** A member joins, leaves (channelId null), moves, or changes mute/deaf/video: dispatches VOICE_STATE_UPDATE. */
  setVoiceState(guildId: string, userId: string, channelId: string | null, state: Partial<VoiceState> = {}): void {
    const states = this.voice.get(guildId)!;
    const previous = states.get(userId);
    const next: VoiceState = { self_mute: false, self_deaf: false, self_video: false, ...previous, ...state, channel_id: channelId };
    if (channelId === null) states.delete(userId);
    else states.set(userId, next);
    this.dispatch('VOICE_STATE_UPDATE', this.voiceStatePayload(guildId, userId, next));
  }

  /** Renames a channel: dispatches CHANNEL_UPDATE. */
  renameChannel(guildId: string, channelId: string, name: string): void {
    this.channelNames.set(channelId, name);
    this.dispatch('CHANNEL_UPDATE', { id: channelId, type: 2, name, guild_id: guildId, position: 0, permission_overwrites: [], bitrate: 64000, user_limit: 0, parent_id: null });
  }

  /** An unavailable guild comes back: dispatches its GUILD_CREATE. */
  makeAvailable(guildId: string): void {
    this.unavailable.delete(guildId);
    this.dispatch('GUILD_CREATE', this.guildCreate(this.guilds.find((g) => g.id === guildId)!));
  }

  /** The next `count` answers of `GET /gateway/bot` are 429 with retry-after 0.05 s. */
  rateLimitGatewayBot(count: number): void {
    this.rateLimitedAnswers = count;
  }

  /** The next `count` commands PUTs are 429 with `retry_after` (seconds). */
  rateLimitCommands(count: number, retryAfterSeconds = 0.05): void {
    this.rateLimitedCommands = { count, retryAfter: retryAfterSeconds };
  }

  /** The commands registered in a guild, or globally (no guild id); undefined when none were ever put there. */
  registeredCommands(guildId?: string): unknown[] | undefined {
    return this.commands.get(guildId ?? 'global');
  }

  /** The developer resets the bot token: the old one is refused (REST 401, gateway close 4004). */
  resetToken(): void {
    this.currentToken = newToken();
    this.current?.socket?.close(4004, 'Authentication failed.');
  }

  /** Ends the session (op 9, not resumable): the client must IDENTIFY again and gets a fresh snapshot. */
  invalidateSession(): void {
    const session = this.current;
    if (!session) return;
    this.sessions.delete(session.id);
    session.socket?.send(JSON.stringify({ op: 9, d: false }));
  }

  /** Drops the connection without a close frame, as a network failure would. */
  dropConnection(): void {
    this.current?.socket?.terminate();
  }

  /** Asks the client to reconnect and resume (op 7). */
  requestReconnect(): void {
    this.current?.socket?.send(JSON.stringify({ op: 7, d: null }));
  }

  /** Dispatches an event only into the session's replay buffer, as if sent while the client was away. */
  dispatchWhileAway(guildId: string, userId: string, channelId: string | null): void {
    const states = this.voice.get(guildId)!;
    const next: VoiceState = { self_mute: false, self_deaf: false, self_video: false, channel_id: channelId };
    if (channelId === null) states.delete(userId);
    else states.set(userId, next);
    const session = this.current!;
    session.seq += 1;
    session.sent.push({ s: session.seq, t: 'VOICE_STATE_UPDATE', d: this.voiceStatePayload(guildId, userId, next) });
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onCommands(req: IncomingMessage, res: ServerResponse, applicationId: string, guildId: string | undefined): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        this.commandsRequests.push({ applicationId, guildId, userAgent: req.headers['user-agent'], contentType: req.headers['content-type'], status });
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      };
      if (this.rateLimitedCommands.count > 0) {
        this.rateLimitedCommands.count--;
        const retryAfter = this.rateLimitedCommands.retryAfter;
        return answer(429, { message: 'You are being rate limited.', retry_after: retryAfter, global: false }, { 'retry-after': String(Math.ceil(retryAfter)) });
      }
      if (req.headers.authorization !== `Bot ${this.token}`) return answer(401, { message: '401: Unauthorized', code: 0 });
      // The token is this application's bot's: another application, or a guild the app is not in, is Missing Access.
      if (applicationId !== FAKE_APPLICATION_ID || (guildId !== undefined && !this.guilds.some((g) => g.id === guildId))) {
        return answer(403, { message: 'Missing Access', code: 50001 });
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(400, { message: '400: Bad Request', code: 50109 });
      }
      const errors = commandListErrors(body);
      if (errors) return answer(400, { code: 50035, errors, message: 'Invalid Form Body' });
      const stored = (body as Array<Record<string, unknown>>).map((c, i) => ({
        id: String(BigInt('1100000000000000000') + BigInt(i)), application_id: applicationId, version: '1', ...(guildId ? { guild_id: guildId } : {}), ...c,
      }));
      this.commands.set(guildId ?? 'global', stored);
      answer(200, stored);
    });
  }

  private member(guild: FakeGuild, userId: string) {
    const m = guild.members.find((x) => x.id === userId);
    if (!m) throw new Error(`no member ${userId} in ${guild.name}`);
    return {
      user: { id: m.id, username: m.username, global_name: m.globalName ?? null, discriminator: '0', avatar: null, bot: m.bot ?? false },
      nick: m.nick ?? null, roles: [], joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0,
    };
  }

  private voiceStatePayload(guildId: string, userId: string, state: VoiceState) {
    const guild = this.guilds.find((g) => g.id === guildId)!;
    return {
      guild_id: guildId, user_id: userId, member: this.member(guild, userId), session_id: `voice-${userId}`,
      deaf: false, mute: false, suppress: false, request_to_speak_timestamp: null, self_stream: false, ...state,
    };
  }

  private guildCreate(guild: FakeGuild) {
    return {
      id: guild.id, name: guild.name, icon: null, owner_id: guild.members[0]?.id ?? '1', afk_channel_id: null, afk_timeout: 300,
      verification_level: 0, default_message_notifications: 0, explicit_content_filter: 0, mfa_level: 0, premium_tier: 0,
      system_channel_flags: 0, nsfw_level: 0, preferred_locale: 'en-US', features: [], emojis: [], stickers: [],
      roles: [{ id: guild.id, name: '@everyone', permissions: '0', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      joined_at: '2024-01-01T00:00:00.000Z', large: false, unavailable: false, member_count: guild.members.length,
      channels: guild.voiceChannels.map((c, i) => ({ id: c.id, type: 2, name: this.channelNames.get(c.id) ?? c.name, guild_id: guild.id, position: i, permission_overwrites: [], bitrate: 64000, user_limit: 0, parent_id: null })),
      members: guild.members.map((m) => this.member(guild, m.id)),
      voice_states: [...this.voice.get(guild.id)!.entries()].map(([userId, s]) => ({
        user_id: userId, session_id: `voice-${userId}`, deaf: false, mute: false, suppress: false, request_to_speak_timestamp: null, self_stream: false, ...s,
      })),
      presences: [], threads: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [],
    };
  }

  private dispatch(t: string, d: unknown, session: Session | undefined = this.current): void {
    if (!session) return;
    session.seq += 1;
    session.sent.push({ s: session.seq, t, d });
    if (session.socket?.readyState === 1) session.socket.send(JSON.stringify({ op: 0, t, s: session.seq, d }));
  }

  private onConnection(socket: WebSocket): void {
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs } }));
    socket.on('message', (raw) => {
      const { op, d } = JSON.parse(raw.toString()) as { op: number; d: any };
      if (op === 1) {
        this.heartbeats++;
        socket.send(JSON.stringify({ op: 11 }));
      } else if (op === 2) {
        this.identifies.push({ intents: d.intents, token: d.token });
        if (d.token !== this.token) return socket.close(4004, 'Authentication failed.');
        const session: Session = { id: randomBytes(16).toString('hex'), seq: 0, sent: [], socket };
        this.sessions.set(session.id, session);
        this.current = session;
        this.dispatch('READY', {
          v: 10, user: { id: '900000000000000001', username: 'relay-bot', discriminator: '0', bot: true, avatar: null, global_name: null },
          guilds: this.guilds.map((g) => ({ id: g.id, unavailable: true })), session_id: session.id,
          resume_gateway_url: this.url.replace('http', 'ws'), application: { id: FAKE_APPLICATION_ID, flags: 0 },
        }, session);
        // Only the intents asked for: GUILD_CREATE needs Guilds.
        if (d.intents & GATEWAY_INTENTS.Guilds) for (const g of this.guilds) if (!this.unavailable.has(g.id)) this.dispatch('GUILD_CREATE', this.guildCreate(g), session);
      } else if (op === 6) {
        this.resumes.push({ session_id: d.session_id, seq: d.seq });
        const session = this.sessions.get(d.session_id);
        if (!session || d.token !== this.token) {
          socket.send(JSON.stringify({ op: 9, d: false }));
          return;
        }
        session.socket = socket;
        this.current = session;
        for (const missed of session.sent.filter((e) => e.s > d.seq)) socket.send(JSON.stringify({ op: 0, ...missed }));
        this.dispatch('RESUMED', {}, session);
      }
    });
  }
}

/** Discord's `errors` object for a command list it refuses (nested by index and field), or undefined when it is valid. */
function commandListErrors(body: unknown): Record<string, unknown> | undefined {
  const leaf = (code: string, message: string) => ({ _errors: [{ code, message }] });
  if (!Array.isArray(body)) return leaf('LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType');
  const errors: Record<string, unknown> = {};
  const check = (item: unknown, at: Record<string, unknown>, key: string) => {
    const found: Record<string, unknown> = {};
    const c = (typeof item === 'object' && item !== null ? item : {}) as { name?: unknown; description?: unknown; options?: unknown };
    if (typeof c.name !== 'string' || !COMMAND_NAME.test(c.name) || c.name !== c.name.toLowerCase()) {
      found.name = leaf('APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 100) {
      found.description = leaf('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    if (Array.isArray(c.options)) {
      const options: Record<string, unknown> = {};
      c.options.forEach((o, i) => check(o, options, String(i)));
      if (Object.keys(options).length) found.options = options;
    }
    if (Object.keys(found).length) at[key] = found;
  };
  body.forEach((item, i) => check(item, errors, String(i)));
  return Object.keys(errors).length ? errors : undefined;
}

function newToken(): string {
  return `fake.${randomBytes(12).toString('hex')}`;
}
