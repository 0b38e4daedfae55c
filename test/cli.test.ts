/** The built `relay` CLI end to end, in child processes, against a local stand-in for the ingest API. */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrivateKey } from '../lib/client/keys';
import { publicKeyToHex, type Envelope } from '../lib/contracts/envelope';
import { RelayErrorCode } from '../lib/contracts/errors';
import { ExitCode } from '../lib/cli/errors';
import { BUILT_CLI, PROJECT_NODE, ensureBuilt } from './support/built-cli';
import { FakeIngest } from '../testkit/fake-ingest';
import { KEY } from './support/fixtures';

const root = join(__dirname, '..');
// The built CLI, as `npx relay` runs it (faster to start than tsx on the sources).
const node = PROJECT_NODE;
const cli = BUILT_CLI;
const ingest = new FakeIngest();
let url: string;
let work: string;
let keyFile: string;

beforeAll(async () => {
  ensureBuilt();
  url = await ingest.start();
  work = mkdtempSync(join(tmpdir(), 'relay-cli-'));
  keyFile = join(work, 'test.pem');
  writeFileSync(keyFile, KEY.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
});
afterAll(() => ingest.stop());

/** Runs `relay …` asynchronously (the stand-in server lives in this process). */
function relay(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      node,
      [cli, ...args],
      {
        cwd: options.cwd ?? work,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: work,
          AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
          AWS_REGION: 'eu-west-1',
          AWS_CONFIG_FILE: join(work, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          ...options.env,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

const sendArgs = () => ['send', '--url', url, '--kid', KEY.kid, '--key-file', keyFile];
const joinArgs = ['voice-join', '--guild', '111111111111111111', '--user', '444444444444444444', '--channel', '222222222222222222', '--display-name', 'Alice', '--channel-name', 'General'];

describe('relay --help', () => {
  it('documents the commands and every exit code', async () => {
    const { code, stdout } = await relay(['--help']);
    expect(code).toBe(0);
    for (const text of ['relay keygen --kid <name>', 'relay send voice-join', '--sync', 'Exit codes:']) expect(stdout).toContain(text);
    for (const value of Object.values(ExitCode)) expect(stdout).toMatch(new RegExp(`^  ${value}  `, 'm'));
  });

  it('relay doctor --help: its checks, where it finds the relay, its own exit codes', async () => {
    const { code, stdout } = await relay(['doctor', '--help']);
    expect(code).toBe(0);
    for (const text of ['relay doctor [--stack <name>] [--post <channel>]', 'OperatorPolicyArn', '--skip <check>', 'ingest-auth', '.relay/local.json', 'Exit: 0 every check passed (warnings allowed), 8 a check failed', '3 no relay to check']) expect(stdout).toContain(text);
    expect(stdout).not.toContain('4  forbidden');
    expect(await relay(['doctor', '--skip', 'pipes'])).toMatchObject({ code: ExitCode.Usage, stderr: expect.stringContaining('did you mean "pipe"') });
  });

  it('exits 2 with a hint on an unknown command or flag', async () => {
    expect(await relay(['frobnicate'])).toMatchObject({ code: ExitCode.Usage, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(await relay(['send', '--bogus'])).toMatchObject({ code: ExitCode.Usage, stderr: expect.stringContaining('Run `relay send --help`') });
  });
});

describe('relay keygen', () => {
  it('writes a 0600 PKCS#8 key and prints its public key and the config line', async () => {
    const { code, stdout } = await relay(['keygen', '--kid', 'fwd-1']);
    expect(code).toBe(0);
    const file = join(work, '.relay', 'keys', 'fwd-1.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pem = readFileSync(file, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const hex = publicKeyToHex(parsePrivateKey(pem));
    expect(stdout).toContain(`public key:  ${hex}`);
    expect(stdout).toContain(`'fwd-1': '${hex}',`);
    expect(stdout).not.toContain(pem.split('\n')[1]);
  });

  it('never overwrites a key, and refuses a bad key id', async () => {
    await relay(['keygen', '--kid', 'once', '--out', join(work, 'once.pem')]);
    expect(await relay(['keygen', '--kid', 'once', '--out', join(work, 'once.pem')])).toMatchObject({ code: ExitCode.Config, stderr: expect.stringContaining('already exists') });
    expect(await relay(['keygen', '--kid', 'a/b'])).toMatchObject({ code: ExitCode.Config, stderr: expect.stringContaining('key id "a/b"') });
    expect(await relay(['keygen'])).toMatchObject({ code: ExitCode.Usage });
  });
});

describe('relay send', () => {
  it('sends a built voice-join event and prints the execution ARN', async () => {
    ingest.script();
    const { code, stdout } = await relay([...sendArgs(), ...joinArgs, '--id', 'cli-1']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^accepted cli-1 → arn:aws:states:/);
    const envelope = ingest.envelopes()[0] as unknown as Envelope;
    expect(envelope).toMatchObject({ id: 'cli-1', kid: KEY.kid });
    expect(JSON.parse(envelope.payload)).toMatchObject({
      type: 'VOICE_STATE_UPDATE', guild: { id: '111111111111111111' }, user: { id: '444444444444444444', display_name: 'Alice' },
      before: null, after: { channel_id: '222222222222222222', channel_name: 'General' },
    });
    expect(ingest.requests[0].headers.authorization).toMatch(/Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/execute-api\//);
  });

  it('sends an event from stdin, and from a file', async () => {
    ingest.script();
    expect((await relay([...sendArgs(), '-'], { input: '{"type":"CUSTOM","n":1}' })).code).toBe(0);
    writeFileSync(join(work, 'event.json'), '{"type":"CUSTOM","n":2}');
    expect((await relay([...sendArgs(), join(work, 'event.json')])).code).toBe(0);
    expect(ingest.envelopes().map((e) => e.payload)).toEqual(['{"type":"CUSTOM","n":1}', '{"type":"CUSTOM","n":2}']);
  });

  it('takes URL, key id and key file from the environment', async () => {
    ingest.script();
    const run = await relay(['send', ...joinArgs], { env: { RELAY_URL: url, RELAY_KID: KEY.kid, RELAY_KEY_FILE: keyFile } });
    expect(run.code).toBe(0);
  });

  it('defaults to the local relay\'s .relay/local.json: URL, region, credentials, key and guild', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-local-'));
    mkdirSync(join(dir, '.relay'));
    writeFileSync(join(dir, '.relay', 'local.json'), JSON.stringify({
      url, region: 'local-1', accessKeyId: 'AKIALOCALEXAMPLE0001', secretAccessKey: 'local-secret', kid: KEY.kid, privateKeyFile: keyFile, guildId: '555555555555555555',
    }));
    ingest.script();
    const run = await relay(['send', 'voice-leave', '--user', '444444444444444444', '--channel', '222222222222222222'], { cwd: dir });
    expect(run).toMatchObject({ code: 0 });
    expect(ingest.requests[0].headers.authorization).toMatch(/Credential=AKIALOCALEXAMPLE0001\/\d{8}\/local-1\/execute-api\//);
    expect(JSON.parse(ingest.envelopes()[0].payload as string)).toMatchObject({ guild: { id: '555555555555555555' }, after: null });
  });

  it.each([
    ['SUCCEEDED', { status: 'SUCCEEDED', output: JSON.stringify({ outcome: 'delivered' }) }, ExitCode.Ok, 'SUCCEEDED cli-s delivered'],
    ['ignored', { status: 'SUCCEEDED', output: JSON.stringify({ outcome: 'ignored', code: RelayErrorCode.Ignored }) }, ExitCode.Ok, 'Relay.Ignored'],
    ['ignored, with the reason', { status: 'SUCCEEDED', output: JSON.stringify({ outcome: 'ignored', code: RelayErrorCode.Ignored, reason: 'the member opted out\u0007' }) }, ExitCode.Ok, 'SUCCEEDED cli-s Relay.Ignored (the member opted out )'],
    ['rejected', { status: 'FAILED', error: RelayErrorCode.GuildNotAllowed, cause: 'guild 1 is not allowed' }, ExitCode.Rejected, 'FAILED cli-s Relay.GuildNotAllowed: guild 1 is not allowed'],
    ['delivery failed', { status: 'FAILED', error: RelayErrorCode.DeliveryFailed, cause: 'general webhook answered ApiGateway.404' }, ExitCode.DeliveryFailed, 'Relay.DeliveryFailed'],
  ])('--sync prints the outcome and exits accordingly: %s', async (_, body, exit, text) => {
    ingest.script({ status: 200, body: { executionArn: 'arn:x', ...body } });
    const run = await relay([...sendArgs(), ...joinArgs, '--sync', '--id', 'cli-s']);
    expect(run.code).toBe(exit);
    expect(run.stdout).toContain(text);
    expect(ingest.requests[0].path).toBe('/events/sync');
  });

  it('--batch sends one v2 envelope of the file\'s events, each with its own id, and --sync prints one line per event', async () => {
    const batchFile = join(work, 'batch.json');
    writeFileSync(batchFile, JSON.stringify([{ id: 'b-1', event: { type: 'CUSTOM', n: 1 } }, { type: 'CUSTOM', n: 2 }, { id: 'own-id', type: 'CUSTOM', n: 3 }]));
    ingest.script();
    const accepted = await relay([...sendArgs(), '--batch', batchFile, '--id', 'batch-cli']);
    expect(accepted.stdout).toMatch(/^accepted 3 events \(b-1, [0-9a-f-]{36}, own-id\) in batch-cli → arn:aws:states:/);
    const envelope = ingest.envelopes()[0] as unknown as Envelope;
    expect(envelope).toMatchObject({ v: 2, id: 'batch-cli' });
    expect(JSON.parse(envelope.payload)).toEqual([{ id: 'b-1', event: { type: 'CUSTOM', n: 1 } }, { id: expect.any(String), event: { type: 'CUSTOM', n: 2 } }, { id: 'own-id', event: { type: 'CUSTOM', n: 3 } }]);
    const events = [
      { id: 'b-1', kind: 'voice.join', channel: 'general', outcome: 'queued' },
      { id: 'b-2\u001b[2J', outcome: 'rejected', code: RelayErrorCode.GuildNotAllowed, reason: 'guild 1 is not in this relay\'s allowed guilds' },
    ];
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'SUCCEEDED', output: JSON.stringify({ id: 'batch-cli', events }) } });
    const sync = await relay([...sendArgs(), '--batch', batchFile, '--sync']);
    // What the relay answers reaches the terminal without control characters (an ESC here).
    expect(sync.stdout.trim().split('\n')).toEqual(['queued b-1 #general', "rejected b-2 [2J Relay.GuildNotAllowed: guild 1 is not in this relay's allowed guilds"]);
    expect(sync.code).toBe(ExitCode.Rejected);
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'FAILED', error: RelayErrorCode.InvalidSignature, cause: 'sig: not a valid signature by key "test-key"' } });
    const whole = await relay([...sendArgs(), '--batch', batchFile, '--sync']);
    expect(whole.stdout).toContain('FAILED');
    expect(whole.stdout).toContain('hint: the key file does not match');
    expect(whole.code).toBe(ExitCode.Rejected);
  });

  it.each([
    ['not an array', '{"type":"CUSTOM"}', 'must be a JSON array of 1-10 events'],
    ['eleven events', JSON.stringify(Array.from({ length: 11 }, () => ({ type: 'CUSTOM' }))), 'must be a JSON array of 1-10 events'],
    ['an event without a type', '[{"n":1}]', 'batch.json[0] must be a JSON object with a "type"'],
    ['a bad id', '[{"id":"a b","event":{"type":"CUSTOM"}}]', 'batch.json[0].id must be'],
    ['an item that is not an object', '[{"type":"CUSTOM"},7]', 'batch.json[1] must be an event'],
    ['an item with both type and event', '[{"type":"CUSTOM","event":{"type":"CUSTOM"}}]', 'has both "type" and "event"'],
    ['an item nested 5000 deep', `[{"type":"CUSTOM","x":${'['.repeat(5000)}${']'.repeat(5000)}}]`, 'nested too deeply'],
  ])('--batch refuses a file that is %s (exit 2), sending nothing', async (_, text, words) => {
    writeFileSync(join(work, 'batch.json'), text);
    ingest.script();
    const run = await relay([...sendArgs(), '--batch', join(work, 'batch.json')]);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain(words);
    expect(ingest.requests).toHaveLength(0);
  });

  it('says so when the relay does not know the key id', async () => {
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'FAILED', error: RelayErrorCode.UnknownKey, cause: 'kid: "test-key" is not a key this relay accepts' } });
    const run = await relay([...sendArgs(), ...joinArgs, '--sync']);
    expect(run.code).toBe(ExitCode.Rejected);
    expect(run.stdout).toContain(`hint: the relay does not know key id "${KEY.kid}": add its public key (printed by \`relay keygen\`) to forwarderKeys`);
  });

  it('exits 4 on a 403, explaining the identity and the policy', async () => {
    ingest.script({ status: 403, body: { message: 'Forbidden' } });
    const run = await relay([...sendArgs(), ...joinArgs]);
    expect(run.code).toBe(ExitCode.Forbidden);
    expect(run.stderr).toContain('signed with access key AKIA…MPLE');
    expect(run.stderr).toContain('CallerPolicyArn');
  });

  it('exits 5 on another 4xx', async () => {
    ingest.script({ status: 400, body: { message: 'Invalid input' } });
    expect((await relay([...sendArgs(), ...joinArgs])).code).toBe(ExitCode.Rejected);
  });

  it('exits 7 when the relay keeps failing', async () => {
    ingest.script(...Array(5).fill({ status: 503 }));
    ingest.setFallback({ status: 503 });
    try {
      const run = await relay([...sendArgs(), ...joinArgs]);
      expect(run.code).toBe(ExitCode.Unavailable);
      expect(run.stderr).toContain('gave up after 5 attempts');
    } finally {
      ingest.setFallback({ status: 200, body: { executionArn: 'arn:aws:states:eu-west-1:123456789012:express:Relay:exec-1' } });
    }
  }, 60_000);

  it.each([
    ['no URL', ['send', '--kid', 'k', '--key-file', 'f', ...joinArgs], 'no relay URL'],
    ['no key id', ['send', '--url', 'http://x', '--key-file', 'f', ...joinArgs], 'no key id'],
    ['a missing key file', ['send', '--url', 'http://127.0.0.1:1', '--kid', 'k', '--key-file', '/nonexistent.pem', ...joinArgs], 'cannot read key file /nonexistent.pem: ENOENT'],
  ])('exits 3 with %s', async (_, args, message) => {
    expect(await relay(args)).toMatchObject({ code: ExitCode.Config, stderr: expect.stringContaining(message) });
  });

  it('exits 3 when the key file is readable by others, naming the chmod', async () => {
    const loose = join(work, 'loose.pem');
    writeFileSync(loose, readFileSync(keyFile));
    chmodSync(loose, 0o644);
    const run = await relay(['send', '--url', url, '--kid', KEY.kid, '--key-file', loose, ...joinArgs]);
    expect(run).toMatchObject({ code: ExitCode.Config, stderr: expect.stringContaining(`run: chmod 600 ${loose}`) });
  });

  it('exits 2 when a builder is missing a flag, or the event is not JSON', async () => {
    expect(await relay([...sendArgs(), 'voice-move', '--guild', '111111111111111111', '--user', '444444444444444444', '--from', '222222222222222222']))
      .toMatchObject({ code: ExitCode.Usage, stderr: expect.stringContaining('voice-move needs --to') });
    expect(await relay([...sendArgs(), '-'], { input: 'not json' })).toMatchObject({ code: ExitCode.Usage, stderr: expect.stringContaining('not JSON') });
  });
});

describe('relay local', () => {
  it('runs the relay; `relay send` in the same folder delivers through it with no flags; SIGINT stops it cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-local-cli-'));
    const child = spawn(node, [cli, 'local', '--port', '0', '--config', join(root, 'config', 'relay.config.ts')], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !output.includes('Ctrl-C stops'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('running locally from the synthesized template');
      expect(output).toMatch(/npx relay send voice-join .* --sync/);
      const run = await relay(['send', 'voice-join', '--user', '444444444444444444', '--display-name', 'Alice', '--channel', '222222222222222222', '--channel-name', 'General', '--sync'], { cwd: dir, env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
      expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^SUCCEEDED \S+ queued #general$/m) });
      for (let i = 0; i < 40 && !output.includes('✓ posted'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(output).toMatch(/→ queued {5}voice\.join → #general/);
      expect(output).toMatch(/✓ posted {5}1 event in 1 message/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
