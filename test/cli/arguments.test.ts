/** The CLI checks its own arguments (exit 2 naming the flag, before any round trip), with per-command help. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ExitCode } from '../../lib/cli/errors';
import { FORWARD_NODE_FLOOR, LOCAL_NODE_FLOOR, checkNodeFloor, meetsNodeFloor } from '../../lib/cli/node-floor';
import { closest } from '../../lib/cli/args';
import { main } from '../../lib/cli/main';
import { describeCause } from '../../lib/cli/causes';
import { buildVoiceEvent, checkEventText } from '../../lib/cli/voice-event';
import { banner } from '../../lib/cli/local';
import { parseEventPayload } from '../../lib/contracts/events';
import { version } from '../../package.json';
import { KEY, voiceEvent } from '../support/fixtures';
import { ensureBuilt, runBuiltCli } from '../support/built-cli';

// Not the project folder: no .relay/local.json here.
const work = mkdtempSync(join(tmpdir(), 'relay-args-'));
const keyFile = join(work, 'key.pem');
writeFileSync(keyFile, KEY.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
// Nothing listens there: a check that let a request through would fail with 7, not 2.
const TARGET = ['--url', 'https://abc123.execute-api.eu-west-1.amazonaws.com', '--kid', KEY.kid, '--key-file', keyFile];
const ENV = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
const run = (args: string[], input?: string) => runBuiltCli(args, { cwd: work, env: ENV, input });
const JOIN = ['voice-join', '--guild', '111111111111111111', '--user', '444444444444444444', '--channel', '222222222222222222'];

beforeAll(() => ensureBuilt(), 120_000);

describe('usage errors name the flag (exit 2) and send nothing', () => {
  it.each([
    ['a --user that is not a snowflake', ['send', ...TARGET, ...JOIN, '--user', 'alice'], '--user must be a Discord id (17-20 digits), got "alice"'],
    ['a --channel that is not a snowflake', ['send', ...TARGET, ...JOIN, '--channel', '12'], '--channel must be a Discord id (17-20 digits), got "12"'],
    ['a --display-name over the schema limit', ['send', ...TARGET, ...JOIN, '--display-name', 'x'.repeat(101)], '--display-name must be 1-100 characters, got 101'],
    ['a move to the channel it left', ['send', ...TARGET, 'voice-move', '--guild', '111111111111111111', '--user', '444444444444444444', '--from', '222222222222222222', '--to', '222222222222222222'], 'voice-move needs --from and --to to be different channels'],
    ['a builder without --channel', ['send', ...TARGET, 'voice-leave', '--guild', '111111111111111111', '--user', '444444444444444444'], 'voice-leave needs --channel <id>'],
    ['a non-numeric --timeout', ['send', ...TARGET, ...JOIN, '--timeout', 'soon'], '--timeout must be a whole number of at least 1, got "soon"'],
  ])('%s', async (_, args, message) => {
    const result = await run(args);
    expect(result).toMatchObject({ code: ExitCode.Usage, stdout: '' });
    expect(result.stderr).toContain(`relay: ${message}`);
    expect(result.stderr).toContain('Run `relay send --help` for usage.');
  });

  // The same checks in process (main, as bin/relay runs it): the built CLI's wiring is proven above.
  it.each([
    ['a --timeout in exponent notation', ['send', ...TARGET, ...JOIN, '--timeout', '1e3'], '--timeout must be a whole number of at least 1, got "1e3"'],
    ['an --id the relay would refuse', ['send', ...TARGET, ...JOIN, '--id', 'has space'], '--id "has space" is not an envelope id: use 1-128 characters of [A-Za-z0-9._:-]'],
    ['a --kid that is a path', ['send', ...TARGET, ...JOIN, '--kid', '../x'], '--kid "../x" is not a key id: use 1-64 characters of [A-Za-z0-9._-]'],
    ['a flag where a value should be', ['send', ...TARGET, 'voice-join', '--guild', '111111111111111111', '--user', '444444444444444444', '--channel', '--sync'], '--channel needs a value (--channel <value>'],
    ['doctor told to skip the relay check', ['doctor', '--skip', 'relay'], '--skip relay: every other check needs it, so it cannot be left out'],
    ['doctor with an empty --stack', ['doctor', '--stack', ''], '--stack takes a CloudFormation stack name'],
    ['doctor with a region AWS does not have', ['doctor', '--stack', 'DiscordEventRelay', '--region', 'not a region'], '--region takes an AWS region such as eu-west-1, got "not a region"'],
    ['doctor with a --kid that is a path', ['doctor', '--stack', 'DiscordEventRelay', '--kid', '../x'], '--kid "../x" is not a key id'],
    ['doctor waiting longer than ten minutes', ['doctor', '--wait', '601'], '--wait must be a whole number from 1 to 600, got "601"'],
  ])('%s (in process)', async (_, args, message) => {
    const [out, err]: string[][] = [[], []];
    const code = await main(args, (l) => out.push(l), (l) => err.push(l));
    expect({ code, out }).toEqual({ code: ExitCode.Usage, out: [] });
    expect(err.join('\n')).toContain(`relay: ${message}`);
    expect(err.join('\n')).toContain(`Run \`relay ${args[0]} --help\` for usage.`);
  });

  it('doctor --json with no relay to check still prints JSON: a report with no checks and the error', async () => {
    const result = await run(['doctor', '--json']);
    expect(result.code).toBe(ExitCode.Config);
    expect(JSON.parse(result.stdout)).toMatchObject({ relay: null, ok: false, exitCode: ExitCode.Config, checks: [], error: { name: 'ConfigError', message: expect.stringContaining('no relay to check') } });
  });

  it.each([
    ['an empty event', '   \n', 'the event in stdin is empty'],
    ['an event that is not an object with a type', '{}', 'the event in stdin must be a JSON object with a "type"'],
    ['a VOICE_STATE_UPDATE that breaks the schema', JSON.stringify({ type: 'VOICE_STATE_UPDATE', guild: { id: '1', name: 'g' } }), 'the event in stdin is not a valid VOICE_STATE_UPDATE: user must be an object'],
  ])('%s from stdin', async (_, input, message) => {
    const result = await run(['send', ...TARGET, '-'], input);
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain(message);
  });
});

describe('help, version and typos', () => {
  it('relay send --help shows send and its options only', async () => {
    const result = await run(['send', '--help']);
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain('--sync');
    expect(result.stdout).toContain('Exit codes:');
    for (const other of ['--token-file', '--sink-rate-limit', 'relay keygen --kid']) expect(result.stdout).not.toContain(other);
  });

  it('relay help forward shows forward only', async () => {
    const result = await run(['help', 'forward']);
    expect(result.stdout).toContain('--token-file');
    expect(result.stdout).not.toContain('--display-name');
  });

  it('relay --version prints the package version', async () => {
    expect(await run(['--version'])).toMatchObject({ code: ExitCode.Ok, stdout: `${version}\n` });
  });

  it('suggests the command or flag meant', async () => {
    expect((await run(['sned'])).stderr).toContain('unknown command "sned": did you mean "send"?');
    expect((await run(['--hlep'])).stderr).toContain('unknown command "--hlep": did you mean "--help"?');
    expect((await run(['frobnicate'])).stderr).toContain('unknown command "frobnicate". Commands: local, keygen, send, doctor, forward, commands, interact.');
    expect((await run(['send', 'voice-jion', '--user', '444444444444444444'])).stderr).toContain('"voice-jion" is neither an event builder nor a file; did you mean voice-join?');
    const missing = await run(['send', 'voice-join', '--display-name']);
    expect(missing).toMatchObject({ code: ExitCode.Usage, stderr: expect.stringContaining('--display-name needs a value (--display-name <value>)') });
    expect(missing.stderr).not.toContain('argument missing');
    expect((await run(['send', '--sycn'])).stderr).toContain('unknown option --sycn for send; did you mean --sync?');
    expect(closest('frobnicate', ['local', 'forward', 'keygen', 'send'])).toBeUndefined();
  });

  it('the banner says which channels hold live cards, and where each channel posts', () => {
    // The relay's own destinations (the built CLI prints this banner in built-cli.test.ts).
    const lines: string[] = [];
    banner({
      settings: { url: 'http://127.0.0.1:8787', region: 'us-east-1', accessKeyId: 'A', secretAccessKey: 'S', kid: 'local', privateKeyFile: '.relay/keys/local.pem', guildId: '1' },
      proxyUrl: 'http://127.0.0.1:9999',
      destinations: [{ channel: 'general', kind: 'discord', to: 'sink', cards: true }, { channel: 'audit', kind: 'discord', to: 'RELAY_WEBHOOK_AUDIT', cards: false }, { channel: 'team', kind: 'slack', to: 'sink', cards: false }],
    }, (line) => lines.push(line));
    expect(lines).toContainEqual(expect.stringMatching(/^  #team\s+→ the sink \(as a Slack incoming webhook\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^  #general\s+→ the sink · live voice cards: one message per voice session, edited in place$/));
    expect(lines).toContainEqual(expect.stringMatching(/^  #audit\s+→ your webhook \(URL from RELAY_WEBHOOK_AUDIT\)$/));
    expect(lines.at(-1)).toBe('Ctrl-C stops (a second Ctrl-C at once).');
    expect(lines.join('\n')).not.toContain('dead letters');
  });

  it('the banner says when dead letters from an earlier run are waiting, and how to see and move them', () => {
    const lines: string[] = [];
    banner({
      settings: { url: 'http://127.0.0.1:8787', region: 'us-east-1', accessKeyId: 'A', secretAccessKey: 'S', kid: 'local', privateKeyFile: '.relay/keys/local.pem', guildId: '1' },
      proxyUrl: 'http://127.0.0.1:9999', destinations: [],
    }, (line) => lines.push(line), 2);
    expect(lines).toContain('  dead letters   2 waiting from an earlier run (reasons: curl http://127.0.0.1:8787/_lanes; move them back: curl -X POST http://127.0.0.1:8787/_lanes/redrive)');
  });

  it('a config the stack cannot build (card routes with --direct-delivery) is a configuration error in one line, not a stack trace', async () => {
    const config = join(__dirname, '..', '..', 'examples', 'cards.config.ts');
    const started = await run(['local', '--port', '0', '--config', config, '--direct-delivery']);
    expect(started.code).toBe(ExitCode.Config);
    expect(started.stderr.trim()).toBe('relay: the relay cannot be built from this config with --direct-delivery: the voice.join route is a card route, which needs the delivery lanes (not directDelivery); the voice.leave route is a card route, which needs the delivery lanes (not directDelivery); the voice.move route is a card route, which needs the delivery lanes (not directDelivery)');
  });
});

describe('defaults outside the project folder', () => {
  it('says .relay/local.json was not found, not just "needs --guild"', async () => {
    const result = await run(['send', ...TARGET, 'voice-join', '--user', '444444444444444444', '--channel', '222222222222222222']);
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain(`voice-join needs --guild <id>: no .relay/local.json in ${work}`);
  });

  it('says .relay/local.json was not found when there is no URL', async () => {
    const result = await run(['send', ...JOIN]);
    expect(result.code).toBe(ExitCode.Config);
    expect(result.stderr).toContain(`no relay URL: pass --url (the IngestUrl stack output) or set RELAY_URL; no .relay/local.json in ${work}`);
  });

  it('names --region when the URL does not tell it', async () => {
    const result = await run(['send', '--url', 'https://relay.example.com', '--kid', KEY.kid, '--key-file', keyFile, ...JOIN]);
    expect(result.code).toBe(ExitCode.Config);
    expect(result.stderr).toContain('cannot tell the region from relay.example.com: pass --region <region> (or set AWS_REGION)');
  });
});

describe('Node floors', () => {
  it('compares versions', () => {
    expect(meetsNodeFloor('20.20.2', FORWARD_NODE_FLOOR)).toBe(false);
    expect(meetsNodeFloor('22.4.1', FORWARD_NODE_FLOOR)).toBe(false);
    expect(meetsNodeFloor('22.5.0', FORWARD_NODE_FLOOR)).toBe(true);
    expect(meetsNodeFloor('v24.9.0', FORWARD_NODE_FLOOR)).toBe(true);
    expect(meetsNodeFloor('21.7.0', LOCAL_NODE_FLOOR)).toBe(false);
    expect(() => checkNodeFloor('forward', FORWARD_NODE_FLOOR, '20.20.2')).toThrow('`relay forward` needs Node.js 22.5 or later (for node:sqlite');
  });

  // The machine's own Node (Debian's, 20 here) running the built file directly, as a unit file might.
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => {
    try {
      return !meetsNodeFloor(execFileSync(n, ['--version'], { encoding: 'utf8' }).trim(), FORWARD_NODE_FLOOR);
    } catch {
      return false;
    }
  });
  (systemNode ? it : it.skip)(`relay forward on an older system Node exits 3 naming the floor and the project's Node (${systemNode ?? 'none here'})`, async () => {
    const result = await runBuiltCli(['forward'], { cwd: work, node: systemNode, env: { DISCORD_TOKEN: 'x' } });
    expect(result.code).toBe(ExitCode.Config);
    expect(result.stderr).toMatch(/`relay forward` needs Node\.js 22\.5 or later \(for node:sqlite, the forwarder's durable spool\); this is Node 2[01]\./);
    expect(result.stderr).not.toContain('ERR_UNKNOWN_BUILTIN_MODULE');
  });
});

describe('causes print as text', () => {
  it('takes the message out of Lambda error JSON and Discord answer bodies', () => {
    expect(describeCause(JSON.stringify({ errorType: 'Relay.Stale', errorMessage: 'ts: 900 s old; the window is ±300 s' }))).toBe('ts: 900 s old; the window is ±300 s');
    expect(describeCause('general webhook answered ApiGateway.404: {"message": "Unknown Webhook", "code": 10015}')).toBe('general webhook answered ApiGateway.404: Unknown Webhook (Discord code 10015)');
    expect(describeCause('plain text')).toBe('plain text');
  });
});

describe('the README example event', () => {
  it('is the file in examples/ and passes the CLI checks and the relay schema', () => {
    const root = join(__dirname, '..', '..');
    const file = readFileSync(join(root, 'examples', 'voice-join.json'), 'utf8');
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`\`\`\`json\n${file}\`\`\``);
    // No `at` in the file: the CLI stamps the time of sending, and changes nothing else.
    const sent = JSON.parse(checkEventText(file, 'examples/voice-join.json')) as { at: string };
    expect(Math.abs(Date.parse(sent.at) - Date.now())).toBeLessThan(5000);
    expect({ ...sent, at: undefined }).toEqual({ ...JSON.parse(file), at: undefined });
    expect(parseEventPayload(JSON.stringify(sent))).toMatchObject({ kind: 'voice.join' });
  });

  it('an event file with its own at is sent byte for byte', () => {
    const text = JSON.stringify({ ...voiceEvent('join'), at: new Date().toISOString() }, null, 3);
    expect(checkEventText(text, 'x.json')).toBe(text);
  });
});

describe('relay send --occupants: what live cards count', () => {
  const local = { file: '/x/.relay/local.json', settings: { guildId: '123456789012345678' } };
  const base = { user: '444444444444444444', 'display-name': 'Alice', channel: '222222222222222222', 'channel-name': 'General' };

  it('the channel joined holds n, listing the user; a leave that empties the channel holds 0; a move counts the channel moved into', () => {
    expect(buildVoiceEvent('voice-join', { ...base, occupants: '3' }, local).after).toEqual({ channel_id: '222222222222222222', channel_name: 'General', occupants: { count: 3, members: [{ id: '444444444444444444', name: 'Alice' }] } });
    expect(buildVoiceEvent('voice-leave', { ...base, occupants: '0' }, local).before).toEqual({ channel_id: '222222222222222222', channel_name: 'General', occupants: { count: 0, members: [] } });
    const move = buildVoiceEvent('voice-move', { user: base.user, from: '222222222222222222', to: '333333333333333333', occupants: '2' }, local);
    expect(move.before).not.toHaveProperty('occupants');
    expect(move.after?.occupants).toEqual({ count: 2, members: [expect.objectContaining({ id: base.user })] });
  });

  it.each([['voice-join', '0'], ['voice-join', 'two'], ['voice-leave', '-1'], ['voice-join', '1e3'], ['voice-join', '0x10'], ['voice-join', '100001']] as const)('%s --occupants %s is a usage error', (builder, value) => {
    expect(() => buildVoiceEvent(builder, { ...base, occupants: value }, local)).toThrow(/--occupants is how many are in the channel after the change: a whole number from [01].* to 100,000/);
  });

  it('a leave with people still there leaves the count to the card, which knows their names', () => {
    expect(buildVoiceEvent('voice-leave', { ...base, occupants: '2' }, local).before).not.toHaveProperty('occupants');
  });
});
