/** registerCommands against the fake Discord: the bulk overwrite per guild or globally, and Discord's refusals summarised without the token. */
import { RELAY_SUBCOMMANDS, relayCommandDefinitions } from '../../lib/contracts/interactions';
import { DISCORD_USER_AGENT } from '../../lib/project-files';
import { DiscordRegistrationError, botTokenProblem, errorPaths, registerCommands } from '../../lib/interactions/register';
import { FAKE_APPLICATION_ID, FakeDiscord } from '../../testkit/fake-discord';

const GUILD_A = '111111111111111111';
const GUILD_B = '222222222222222222';
const discord = new FakeDiscord([GUILD_A, GUILD_B].map((id) => ({ id, name: `Guild ${id}`, voiceChannels: [], members: [] })));
let apiBase = '';
const waits: number[] = [];
const base = () => ({ applicationId: FAKE_APPLICATION_ID, botToken: discord.token, apiBase, sleep: async (ms: number) => void waits.push(ms) });

beforeAll(async () => {
  apiBase = `${await discord.start()}/api/v10`;
});
afterAll(() => discord.stop());
beforeEach(() => {
  discord.commandsRequests.length = 0;
  waits.length = 0;
});

const failure = async (promise: Promise<unknown>): Promise<DiscordRegistrationError> => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DiscordRegistrationError);
  return error as DiscordRegistrationError;
};

it('overwrites the commands in each guild, one PUT per guild, with the house User-Agent', async () => {
  const results = await registerCommands({ ...base(), scope: 'guild', guildIds: [GUILD_A, GUILD_B] });
  expect(results).toEqual([
    { target: `guild ${GUILD_A}`, guildId: GUILD_A, commands: 1, subcommands: RELAY_SUBCOMMANDS.length },
    { target: `guild ${GUILD_B}`, guildId: GUILD_B, commands: 1, subcommands: RELAY_SUBCOMMANDS.length },
  ]);
  expect(discord.commandsRequests).toEqual([GUILD_A, GUILD_B].map((guildId) => ({ applicationId: FAKE_APPLICATION_ID, guildId, userAgent: DISCORD_USER_AGENT, contentType: 'application/json', status: 200 })));
  expect(discord.registeredCommands(GUILD_B)).toEqual([expect.objectContaining({ ...(relayCommandDefinitions()[0] as object), guild_id: GUILD_B, id: expect.stringMatching(/^\d+$/) })]);
  expect(discord.registeredCommands()).toBeUndefined();
});

it('registers globally with one PUT, and removes with an empty list', async () => {
  expect(await registerCommands({ ...base(), scope: 'global', guildIds: [GUILD_A] })).toEqual([{ target: 'global', commands: 1, subcommands: 5 }]);
  expect(discord.commandsRequests.map((r) => r.guildId)).toEqual([undefined]);
  expect(await registerCommands({ ...base(), scope: 'global', commands: [] })).toEqual([{ target: 'global', commands: 0, subcommands: 0 }]);
  expect(discord.registeredCommands()).toEqual([]);
});

it('a refused token names the application and the fix, never the token', async () => {
  const wrong = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789';
  const error = await failure(registerCommands({ ...base(), botToken: wrong, scope: 'guild', guildIds: [GUILD_A] }));
  expect(error.message).toBe(`Discord refused the bot token (401): check the secret holds the bot token of application ${FAKE_APPLICATION_ID}`);
  expect(error.status).toBe(401);
  expect(`${error.message}${error.stack}`).not.toContain(wrong);
});

it('summarises Invalid Form Body: status, code, message and the first field paths', async () => {
  const bad = [{ name: 'Relay Now', description: 'x', options: [{ type: 1, name: 'ok', description: '' }] }];
  const error = await failure(registerCommands({ ...base(), scope: 'guild', guildIds: [GUILD_A], commands: bad }));
  expect(error.message).toBe(`Discord refused the commands for guild ${GUILD_A} (400 Invalid Form Body, code 50035): 0.name: Command name is invalid (APPLICATION_COMMAND_INVALID_NAME); 0.options.0.description: Must be between 1 and 100 in length. (BASE_TYPE_BAD_LENGTH)`);
  expect(error.discordCode).toBe(50035);
});

it('names the fix for a guild the app is not in (403 Missing Access)', async () => {
  const error = await failure(registerCommands({ ...base(), scope: 'guild', guildIds: ['333333333333333333'] }));
  expect(error.message).toMatch(/^Discord refused the commands for guild 333333333333333333 \(403 Missing Access, code 50001\)\. Fix: invite the app to guild 333333333333333333 with the applications\.commands scope/);
});

it('waits out a 429 (retry_after, capped) and then succeeds', async () => {
  discord.rateLimitCommands(2, 0.25);
  expect(await registerCommands({ ...base(), scope: 'guild', guildIds: [GUILD_A] })).toEqual([expect.objectContaining({ commands: 1 })]);
  expect(waits).toEqual([250, 250]);
  expect(discord.commandsRequests.map((r) => r.status)).toEqual([429, 429, 200]);

  discord.rateLimitCommands(1, 3600);
  await registerCommands({ ...base(), scope: 'global' });
  expect(waits.slice(2)).toEqual([10_000]);
});

it('gives up after three 429s with Discord\'s answer', async () => {
  discord.rateLimitCommands(4, 0.01);
  const error = await failure(registerCommands({ ...base(), scope: 'global' }));
  expect(error.status).toBe(429);
  expect(error.message).toContain('(429 You are being rate limited.)');
  expect(discord.commandsRequests).toHaveLength(4);
  discord.rateLimitCommands(0);
});

it('says Discord cannot be reached, naming the host', async () => {
  const error = await failure(registerCommands({ ...base(), apiBase: 'http://127.0.0.1:1/api/v10', scope: 'global' }));
  expect(error.message).toBe('cannot reach Discord (http://127.0.0.1:1) to register the commands for global: ECONNREFUSED. Check the network and try again');
});

describe('the token shape check', () => {
  it.each([
    ['', 'is empty'],
    ['Bot abc.def.ghi', 'starts with "Bot "'],
    ['c0ffee00'.repeat(8), 'the application\'s public key'],
    ['1111111111111111111', 'that is an id'],
    ['abcdefghijklmnopqrstuvwxyzABCDEF', 'does not look like a bot token'],
    ['{"token":"a.b.c"}', 'holds JSON'],
  ])('%j is refused', (text, problem) => {
    expect(botTokenProblem(text)).toContain(problem);
  });
  it('a token passes', () => {
    expect(botTokenProblem('MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789')).toBeUndefined();
  });
});

it('errorPaths stops after three paths', () => {
  const leaf = { _errors: [{ code: 'X', message: 'bad' }] };
  expect(errorPaths({ 0: { name: leaf, description: leaf }, 1: { name: leaf, type: leaf } })).toEqual(['0.name: bad (X)', '0.description: bad (X)', '1.name: bad (X)']);
});

it('a global refusal (403) says to check the application id', async () => {
  const error = await failure(registerCommands({ ...base(), applicationId: '123456789012345678', scope: 'global' }));
  expect(error.message).toBe('Discord refused the commands for global (403 Missing Access, code 50001). Fix: check that 123456789012345678 is the Application ID of the app whose bot token this is');
});
