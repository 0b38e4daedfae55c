/** The forwarder's gateway connection (@discordjs/ws) against the real-protocol fake Discord. */
import { DiscordGateway, GATEWAY_INTENTS, type DispatchOrigin } from '../../lib/forwarder/gateway';
import type { VoiceStateChange } from '../../lib/forwarder/guild-cache';
import { FakeDiscord, GATEWAY_INTENTS as FAKE_INTENTS } from '../../testkit/fake-discord';
import { pollUntil } from '../support/until';

const GUILD = '111111111111111111';
const DOWN_GUILD = '999999999999999999';
const GENERAL = '222222222222222222';
const GAMING = '333333333333333333';
const ALICE = '444444444444444444';
const BOB = '555555555555555555';

let discord: FakeDiscord;
const running: DiscordGateway[] = [];

beforeEach(async () => {
  discord = new FakeDiscord([
    { id: GUILD, name: 'Guild', voiceChannels: [{ id: GENERAL, name: 'General' }, { id: GAMING, name: 'Gaming' }], members: [{ id: ALICE, username: 'alice' }, { id: BOB, username: 'bob' }] },
    { id: DOWN_GUILD, name: 'Down', voiceChannels: [{ id: '888888888888888888', name: 'Lobby' }], members: [{ id: BOB, username: 'bob' }], unavailable: true },
  ], 200);
  await discord.start();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.destroy()));
  await discord.stop();
});

function open(options: { guildTimeoutMs?: number } = {}) {
  const changes: Array<{ change: VoiceStateChange; origin: DispatchOrigin }> = [];
  const statuses: Array<{ connected: boolean; message: string; fields?: Record<string, unknown> }> = [];
  const gateway = new DiscordGateway({ token: discord.token, discordApi: discord.api, guildTimeoutMs: options.guildTimeoutMs ?? 300 }, {
    voiceStateUpdate: (change, origin) => changes.push({ change, origin }),
    status: (connected, message, fields) => statuses.push({ connected, message, fields }),
    error: () => undefined,
  });
  running.push(gateway);
  return { gateway, changes, statuses };
}

const until = (check: () => boolean, ms = 5000) => pollUntil(check, ms);

const moves = (changes: Array<{ change: VoiceStateChange }>) => changes.map(({ change }) => [change.userId, change.before?.channelId ?? null, change.after?.channelId ?? null]);

it('identifies with Guilds + GuildVoiceStates only, finds the gateway with the bot token and a DiscordBot User-Agent', async () => {
  const { gateway } = open();
  await gateway.connect();
  expect(GATEWAY_INTENTS).toBe(FAKE_INTENTS.Guilds | FAKE_INTENTS.GuildVoiceStates);
  expect(discord.identifies).toEqual([{ intents: GATEWAY_INTENTS, token: discord.token }]);
  expect(discord.gatewayBotRequests[0].userAgent).toMatch(/^DiscordBot \(\S+, \d+\.\d+\.\d+\)$/);
  expect(gateway.connected).toBe(true);
  await until(() => gateway.pingMs !== null);
  expect(gateway.pingMs).toBeGreaterThanOrEqual(0);
});

it('starts without a guild Discord keeps unavailable, and takes it up when it arrives', async () => {
  const { gateway, changes } = open();
  expect(await gateway.connect()).toEqual({ unavailable: [DOWN_GUILD] });
  expect(gateway.cache.get(DOWN_GUILD)).toBeUndefined();
  discord.makeAvailable(DOWN_GUILD);
  await until(() => gateway.cache.get(DOWN_GUILD) !== undefined);
  discord.setVoiceState(DOWN_GUILD, BOB, '888888888888888888');
  await until(() => changes.length === 1);
  expect(changes[0].change.guild.name).toBe('Down');
});

it('waits out rate limits on GET /gateway/bot (retry-after) and refuses a bad token as TokenInvalid', async () => {
  discord.rateLimitGatewayBot(2);
  await open().gateway.connect();
  expect(discord.gatewayBotRequests).toHaveLength(3);
  const bad = new DiscordGateway({ token: 'not-the-token', discordApi: discord.api }, { voiceStateUpdate: () => undefined, status: () => undefined, error: () => undefined });
  await expect(bad.connect()).rejects.toMatchObject({ name: 'GatewayFatalError', code: 'TokenInvalid', status: 401, message: 'Discord refused the bot token (401)' });
});

it('after INVALID_SESSION identifies again: the fresh snapshot announces nobody, later changes compare with it', async () => {
  const { gateway, changes, statuses } = open();
  await gateway.connect();
  discord.setVoiceState(GUILD, ALICE, GENERAL);
  await until(() => changes.length === 1);
  const firstSession = changes[0].origin.sessionId;
  discord.invalidateSession();
  discord.dispatchWhileAway(GUILD, BOB, GAMING); // lost with the session: only the snapshot shows it
  // @discordjs/ws keeps Discord's identify limit (one per 5 s per bucket): the second IDENTIFY waits for it.
  await until(() => discord.identifies.length === 2 && gateway.connected && gateway.cache.get(GUILD)!.voice.has(BOB), 10_000);
  discord.setVoiceState(GUILD, BOB, null);
  await until(() => changes.length === 2);
  expect(moves(changes)).toEqual([[ALICE, null, GENERAL], [BOB, GAMING, null]]);
  expect(changes[1].origin.sessionId).not.toBe(firstSession);
  expect(statuses.filter((s) => s.message === 'gateway ready')).toHaveLength(2);
});

it('follows a channel rename', async () => {
  const { gateway } = open();
  await gateway.connect();
  discord.renameChannel(GUILD, GENERAL, 'Lounge');
  await until(() => gateway.cache.channelName(gateway.cache.get(GUILD)!, GENERAL) === 'Lounge');
});

it('settles `fatal` with TokenInvalid when the token is reset while connected, and stops reconnecting', async () => {
  const { gateway, statuses } = open();
  await gateway.connect();
  discord.resetToken();
  await expect(gateway.fatal).resolves.toMatchObject({ code: 'TokenInvalid', message: 'Discord refused the bot token (gateway close 4004)' });
  await new Promise((r) => setTimeout(r, 800));
  expect(gateway.connected).toBe(false);
  expect(statuses.at(-1)).toMatchObject({ connected: false, message: 'gateway disconnected', fields: { code: 4004 } });
  expect(discord.identifies).toHaveLength(1);
});
