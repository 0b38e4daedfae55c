/** relay commands register and relay interact, in process (main, as bin/relay runs it): their argument and setting errors, and each against a stand-in. */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../lib/cli/errors';
import { DEFAULT_MEMBER_ID } from '../../lib/cli/interact';
import { main } from '../../lib/cli/main';
import { publicKeyToHex } from '../../lib/contracts/envelope';
import { ephemeralReply } from '../../lib/interactions/handler';
import { isSignedByDiscord } from '../../lib/interactions/signature';
import { FAKE_APPLICATION_ID, FakeDiscord } from '../../testkit/fake-discord';

const GUILD = '111111111111111111';
const HEX = 'c0ffee00'.repeat(8);
const work = mkdtempSync(join(tmpdir(), 'relay-commands-'));
const file = (name: string, text: string, mode = 0o600) => {
  const path = join(work, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
};
const baseConfig = {
  channels: { general: { secretName: 'relay/webhooks/general' } },
  routes: [{ event: 'voice.join', channel: 'general', template: '{user} joined {channel}' }],
  forwarderKeys: { k1: HEX },
  allowedGuildIds: [GUILD],
};
const withApp = file('app.json', JSON.stringify({ ...baseConfig, discordApp: { applicationId: FAKE_APPLICATION_ID, publicKey: HEX } }));
const withoutApp = file('plain.json', JSON.stringify(baseConfig));
const emptyToken = file('empty-token', ' \n');
const TOKEN_LIKE = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789';

async function run(args: string[], cwd = work): Promise<{ code: number; out: string; err: string }> {
  const [out, err]: string[][] = [[], []];
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(args, (l) => out.push(l), (l) => err.push(l));
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    process.chdir(before);
  }
}

describe('relay commands register', () => {
  const discord = new FakeDiscord([{ id: GUILD, name: 'Guild', voiceChannels: [], members: [] }]);
  let api = '';
  beforeAll(async () => {
    api = `${await discord.start()}/api/v10`;
  });
  afterAll(() => discord.stop());

  it.each([
    ['no subcommand', ['commands'], 'commands needs a subcommand: relay commands register --token-file <file>'],
    ['an unknown subcommand', ['commands', 'list'], 'unknown subcommand "list" for commands (subcommands: register)'],
    ['no --token-file', ['commands', 'register', '--config', withApp], 'commands register needs --token-file <file>'],
    ['--global with --guild', ['commands', 'register', '--token-file', emptyToken, '--global', '--guild', GUILD], '--global and --guild exclude each other'],
    ['a --guild that is not an id', ['commands', 'register', '--token-file', emptyToken, '--guild', 'main'], '--guild must be a Discord id (17-20 digits), got "main"'],
    ['a --guild the relay does not serve', ['commands', 'register', '--token-file', emptyToken, '--config', withApp, '--guild', '999999999999999999'], 'guild 999999999999999999 is not in allowedGuildIds'],
  ])('%s is a usage error', async (_, args, message) => {
    const result = await run(args);
    expect(result).toMatchObject({ code: ExitCode.Usage, out: '' });
    expect(result.err).toContain(`relay: ${message}`);
    expect(result.err).toContain('Run `relay commands --help` for usage.');
  });

  it('a config without discordApp names the field and the fix', async () => {
    const result = await run(['commands', 'register', '--token-file', emptyToken, '--config', withoutApp]);
    expect(result).toMatchObject({ code: ExitCode.Config, out: '' });
    expect(result.err).toContain(`relay: ${withoutApp} has no discordApp: add discordApp: { applicationId: "<Application ID>", publicKey: "<Public Key>" }`);
  });

  it('a missing config is a configuration error', async () => {
    const result = await run(['commands', 'register', '--token-file', emptyToken, '--config', join(work, 'nope.json')]);
    expect(result.code).toBe(ExitCode.Config);
    expect(result.err).toContain('nope.json does not exist');
  });

  it.each([
    ['an empty token file', emptyToken, 'is empty; put the bot token in it'],
    ['a token file holding the public key', file('public-key', `${HEX}\n`), 'holds 64 hex characters: that is the application\'s public key, not the bot token'],
    ['a token file others can read', file('open-token', TOKEN_LIKE, 0o644), 'is readable by others (mode 0644)'],
  ])('%s is refused without quoting it', async (_, tokenFile, message) => {
    const result = await run(['commands', 'register', '--token-file', tokenFile, '--config', withApp, '--discord-api', api]);
    expect(result).toMatchObject({ code: ExitCode.Config, out: '' });
    expect(result.err).toContain(message);
    expect(result.err).not.toContain(HEX);
    expect(result.err).not.toContain(TOKEN_LIKE);
    expect(discord.commandsRequests).toEqual([]);
  });

  it('registers in each allowed guild and prints one line per guild', async () => {
    const token = file('token', `${discord.token}\n`);
    expect(await run(['commands', 'register', '--token-file', token, '--config', withApp, '--discord-api', api])).toEqual({ code: ExitCode.Ok, out: `✓ /relay registered in guild ${GUILD} (5 subcommands)`, err: '' });
    expect(discord.registeredCommands(GUILD)).toHaveLength(1);
    expect(await run(['commands', 'register', '--token-file', token, '--config', withApp, '--discord-api', api, '--global'])).toMatchObject({ code: ExitCode.Ok, out: '✓ /relay registered globally (5 subcommands)' });
  });

  it('a refused token exits 3 naming the token file, not the token', async () => {
    const result = await run(['commands', 'register', '--token-file', file('wrong-token', TOKEN_LIKE), '--config', withApp, '--discord-api', api]);
    expect(result).toMatchObject({ code: ExitCode.Config, out: '' });
    expect(result.err).toContain(`relay: Discord refused the bot token (401): check the token file ${join(work, 'wrong-token')} holds the bot token of application ${FAKE_APPLICATION_ID}`);
    expect(result.err).not.toContain(TOKEN_LIKE);
  });
});

describe('relay interact', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyFile = file('app-key.pem', privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  const received: Array<Record<string, any>> = [];
  let status = 200;
  const endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const body = Buffer.concat(chunks);
      const signed = isSignedByDiscord(req.headers['x-signature-ed25519'] as string, req.headers['x-signature-timestamp'] as string, body, publicKey, Date.now());
      if (!signed || req.headers['content-type'] !== 'application/json') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"invalid request signature"}');
      const interaction = JSON.parse(body.toString('utf8')) as Record<string, any>;
      received.push(interaction);
      const reply = interaction.type === 1 ? { type: 1 } : ephemeralReply(`ran ${interaction.data.options[0].name}`);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? reply : { message: 'nope' }));
    });
  });
  const relayDir = join(work, 'relay-folder');
  const plainDir = join(work, 'plain-folder');
  const noneDir = join(work, 'no-settings');
  const localSettings = (extra: Record<string, unknown>) => ({ url: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: 'AKIA', secretAccessKey: 's', kid: 'local', privateKeyFile: keyFile, guildId: GUILD, ...extra });

  beforeAll(async () => {
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/interactions`;
    for (const [dir, settings] of [[relayDir, localSettings({ interactions: { url, applicationId: FAKE_APPLICATION_ID, publicKey: publicKeyToHex(publicKey), privateKeyFile: keyFile } })], [plainDir, localSettings({})]] as const) {
      mkdirSync(join(dir, '.relay'), { recursive: true });
      writeFileSync(join(dir, '.relay', 'local.json'), JSON.stringify(settings), { mode: 0o600 });
    }
    mkdirSync(noneDir);
  });
  afterAll(() => new Promise((r) => endpoint.close(r)));
  beforeEach(() => {
    received.length = 0;
    status = 200;
  });

  it.each([
    ['nothing to send', ['interact'], 'interact needs what to send: one of ping, optout, optin, pause, resume, status'],
    ['a mistyped subcommand', ['interact', 'optuot'], 'unknown interaction "optuot"; did you mean optout?'],
    ['pause without --minutes', ['interact', 'pause'], 'pause needs --minutes <n> (1-1440)'],
    ['--minutes above a day', ['interact', 'pause', '--minutes', '1441'], '--minutes must be a whole number from 1 to 1,440, got "1441"'],
    ['--minutes of zero', ['interact', 'pause', '--minutes', '0'], '--minutes must be a whole number from 1 to 1,440, got "0"'],
    ['--minutes on another subcommand', ['interact', 'optout', '--minutes', '5'], '--minutes is for pause only, not optout'],
    ['a --user that is not an id', ['interact', 'optout', '--user', 'alice'], '--user must be a Discord id (17-20 digits), got "alice"'],
  ])('%s is a usage error', async (_, args, message) => {
    const result = await run(args, relayDir);
    expect(result).toMatchObject({ code: ExitCode.Usage, out: '' });
    expect(result.err).toContain(`relay: ${message}`);
    expect(received).toEqual([]);
  });

  it('a local relay started without discordApp says how to start one with it', async () => {
    const result = await run(['interact', 'optout'], plainDir);
    expect(result).toMatchObject({ code: ExitCode.Config, out: '' });
    expect(result.err).toContain('the local relay was started without discordApp in its config: run `npx relay local --config examples/discord-app.config.ts`');
  });

  it('no local relay at all is a configuration error', async () => {
    const result = await run(['interact', 'ping'], noneDir);
    expect(result.code).toBe(ExitCode.Config);
    expect(result.err).toContain('no .relay/local.json in');
  });

  it('pings: a signed PING gets PONG', async () => {
    expect(await run(['interact', 'ping'], relayDir)).toEqual({ code: ExitCode.Ok, out: 'PONG', err: '' });
    expect(received).toEqual([{ id: expect.stringMatching(/^\d{17,20}$/), application_id: FAKE_APPLICATION_ID, type: 1, token: expect.stringMatching(/^[\w-]{64}$/), version: 1 }]);
  });

  it('sends /relay pause as Discord does, signed, and prints the ephemeral reply', async () => {
    expect(await run(['interact', 'pause', '--minutes', '30', '--manage'], relayDir)).toEqual({ code: ExitCode.Ok, out: 'ran pause\n(only you can see this)', err: '' });
    expect(received[0]).toMatchObject({
      type: 2, application_id: FAKE_APPLICATION_ID, guild_id: GUILD, version: 1,
      member: { user: { id: DEFAULT_MEMBER_ID, username: 'local-member' }, permissions: '32', roles: [] },
      data: { name: 'relay', type: 1, options: [{ type: 1, name: 'pause', options: [{ type: 4, name: 'minutes', value: 30 }] }] },
    });
    await run(['interact', 'optout', '--user', '444444444444444444', '--guild', '222222222222222222'], relayDir);
    expect(received[1]).toMatchObject({ guild_id: '222222222222222222', member: { user: { id: '444444444444444444' }, permissions: '0' }, data: { options: [{ name: 'optout', options: [] }] } });
  });

  it('a refusal prints the status and the body and exits 5', async () => {
    status = 400;
    const result = await run(['interact', 'status', '--manage'], relayDir);
    expect(result).toMatchObject({ code: ExitCode.Rejected, out: '' });
    expect(result.err).toContain('relay: the interactions endpoint answered 400: {"message":"nope"}');
  });

  it('an endpoint that cannot be reached exits 7', async () => {
    const result = await run(['interact', 'ping', '--url', 'http://127.0.0.1:1/interactions'], relayDir);
    expect(result.code).toBe(ExitCode.Unavailable);
    expect(result.err).toContain('cannot reach http://127.0.0.1:1/interactions: ECONNREFUSED');
  });
});

it('each command has its own help', async () => {
  const commands = await run(['commands', '--help']);
  expect(commands.out).toContain('relay commands register --token-file <file> [--config <file>] [--global] [--guild <id>]...');
  expect(commands.out).not.toContain('--discord-api');
  const interact = await run(['help', 'interact']);
  expect(interact.out).toContain('relay interact <ping|optout|optin|pause|resume|status> [options]');
  expect(interact.out).toContain('--minutes <n>        pause only, and required there: 1-1440');
});
