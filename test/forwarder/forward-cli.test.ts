/** `relay forward` as a real process: spool survives kill -9; a restart delivers it, once, in order. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FakeDiscord } from '../../testkit/fake-discord';
import { FakeIngest, batchProbeAnswer } from '../../testkit/fake-ingest';
import { KEY } from '../support/fixtures';
import { pollUntil } from '../support/until';

const root = join(__dirname, '..', '..');
// tsx's package entry is its loader; as a URL, so it resolves from any working directory.
const TSX_LOADER = pathToFileURL(require.resolve('tsx', { paths: [root] })).href;
const GUILD = '111111111111111111';
const GENERAL = '222222222222222222';
const GAMING = '333333333333333333';
const members = ['444444444444444444', '555555555555555555', '666666666666666666'];

const work = mkdtempSync(join(tmpdir(), 'relay-forward-'));
const keyFile = join(work, 'key.pem');
writeFileSync(keyFile, KEY.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
const discord = new FakeDiscord([{ id: GUILD, name: 'Guild', voiceChannels: [{ id: GENERAL, name: 'General' }, { id: GAMING, name: 'Gaming' }], members: members.map((id, i) => ({ id, username: `user${i}` })) }], 1000);
const ingest = new FakeIngest();
let ingestUrl: string;

beforeAll(async () => {
  await discord.start();
  ingest.respondTo('/events/sync', batchProbeAnswer);
  ingestUrl = await ingest.start();
});
afterAll(async () => {
  await discord.stop();
  await ingest.stop();
});

interface Running {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startForwarder(extra: { args?: string[]; env?: Record<string, string> } = {}): Running {
  // One process (node with tsx's loader), so that SIGKILL reaches the forwarder itself and not a launcher.
  const child = spawn(process.execPath, [
    '--import', TSX_LOADER, join(root, 'bin', 'relay.ts'), 'forward', '--url', ingestUrl, '--kid', KEY.kid, '--key-file', keyFile, '--region', 'eu-west-1',
    '--spool', join(work, 'spool.db'), '--health-port', '0', '--heartbeat-minutes', '0', '--debounce-ms', '100', '--discord-api', discord.api, '--guild', GUILD,
    ...(extra.args ?? []),
  ], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', HOME: work, DISCORD_TOKEN: discord.token, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_EC2_METADATA_DISABLED: 'true', ...extra.env },
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stdout!.on('data', (c: Buffer) => {
    buffer += c.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, lines, exited, stderr: () => stderr };
}

/** An envelope's events with their ids: one for v1, the batch's for v2. */
const eventsOf = (e: Record<string, unknown>): { id: string; event: any }[] => (e.v === 2 ? JSON.parse(e.payload as string) : [{ id: e.id as string, event: JSON.parse(e.payload as string) }]);

const until = (check: () => boolean | Promise<boolean>, ms = 20_000) => pollUntil(check, ms, 50);

const healthUrl = (r: Running) => r.lines.find((l) => l.msg === 'health')?.url as string | undefined;
const health = async (r: Running) => (await (await fetch(healthUrl(r)!)).json()) as { spool: { depth: number }; gateway: { connected: boolean } };

it('delivers what was spooled before a kill -9, once each and in order, after a restart; announces nobody already in a channel', async () => {
  ingest.setFallback({ status: 503, body: { message: 'Service Unavailable' } });
  const first = startForwarder();
  try {
    await until(() => healthUrl(first) !== undefined);
    for (const [i, id] of members.entries()) {
      discord.setVoiceState(GUILD, id, i === 1 ? GAMING : GENERAL);
      await new Promise((r) => setTimeout(r, 150));
    }
    await until(async () => (await health(first)).spool.depth === 3);
  } finally {
    first.child.kill('SIGKILL');
  }
  expect((await first.exited).signal).toBe('SIGKILL');
  // A retry the dead process had already put on the wire may still land: let it, while the relay still refuses.
  await new Promise((r) => setTimeout(r, 500));
  // Head-of-line, to keep order: every attempt while the relay was down began with the oldest event.
  const attempted = [...new Set(ingest.envelopes().map((e) => eventsOf(e)[0].id))];
  expect(attempted).toHaveLength(1);

  ingest.script();
  ingest.setFallback({ status: 200, body: { executionArn: 'arn:aws:states:eu-west-1:123456789012:express:Relay:x' } });
  const second = startForwarder();
  try {
    await until(() => ingest.requests.length >= 1);
    await until(async () => healthUrl(second) !== undefined && (await health(second)).spool.depth === 0);
    await new Promise((r) => setTimeout(r, 500));
    // The three waited in the spool, for three members: one batch.
    expect(ingest.envelopes().map((e) => e.v)).toEqual([2]);
    const delivered = ingest.envelopes().flatMap(eventsOf).map(({ id, event }) => ({ id, after: event.after.channel_id as string }));
    // The order they happened in; each once; nothing new for the people still sitting in channels.
    expect(delivered).toHaveLength(3);
    expect(new Set(delivered.map((d) => d.id)).size).toBe(3);
    expect(delivered[0].id).toBe(attempted[0]);
    expect(delivered.map((d) => d.after)).toEqual([GENERAL, GAMING, GENERAL]);
    expect(second.lines.find((l) => l.msg === 'starting')).toMatchObject({ spoolDepth: 3 });
    expect(second.lines.find((l) => l.msg === 'forwarding')).toMatchObject({ guilds: [{ id: GUILD, forwarded: true, inVoice: 3 }] });
  } finally {
    second.child.kill('SIGINT');
    await second.exited;
  }
  expect((await second.exited).code).toBe(0);
  expect(second.lines.at(-1)).toMatchObject({ msg: 'stopped', spoolDepth: 0 });
}, 60_000);

describe('a start that fails exits with its documented code, health server on or off', () => {
  const withTimeout = <T>(p: Promise<T>, ms = 20_000) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not exit')), ms))]);

  it.each([['on (port 0)', []], ['off', ['--health-port', 'off']]])('a token Discord refuses → exit 3, health %s', async (_, args) => {
    const run = startForwarder({ args, env: { DISCORD_TOKEN: 'not-the-token' } });
    expect(await withTimeout(run.exited)).toEqual({ code: 3, signal: null });
    expect(run.stderr()).toContain('Discord refused the bot token (401)');
  });

  it('a token file that is a directory, or empty, is named as such (exit 3), not as a mode or a missing token', async () => {
    const dir = join(work, 'token-dir');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const asDir = startForwarder({ args: ['--token-file', dir] });
    expect(await withTimeout(asDir.exited)).toEqual({ code: 3, signal: null });
    expect(asDir.stderr()).toContain(`token file ${dir} is a directory; name the file inside it`);
    expect(asDir.stderr()).not.toContain('chmod');
    const empty = join(work, 'empty-token');
    writeFileSync(empty, '\n', { mode: 0o600 });
    const asEmpty = startForwarder({ args: ['--token-file', empty], env: { DISCORD_TOKEN: '' } });
    expect(await withTimeout(asEmpty.exited)).toEqual({ code: 3, signal: null });
    expect(asEmpty.stderr()).toContain(`the token file ${empty} is empty: put the bot token in it`);
    expect(asEmpty.stderr()).not.toContain('set DISCORD_TOKEN');
  });

  it.each([['on (port 0)', []], ['off', ['--health-port', 'off']]])('Discord unreachable → exit 7, health %s', async (_, args) => {
    const run = startForwarder({ args: [...args, '--discord-api', 'http://127.0.0.1:9/api'] });
    expect(await withTimeout(run.exited)).toEqual({ code: 7, signal: null });
    expect(run.stderr()).toMatch(/cannot reach Discord \(http:\/\/127\.0\.0\.1:9\/api\): ECONNREFUSED/);
  });
});

it('exits 3 when the bot token is reset while it runs (Discord closes the gateway with 4004)', async () => {
  const run = startForwarder({ args: ['--spool', join(work, 'reset.db'), '--health-port', 'off'] });
  await until(() => run.lines.some((l) => l.msg === 'forwarding'));
  discord.resetToken();
  expect(await run.exited).toEqual({ code: 3, signal: null });
  expect(run.stderr()).toContain('Discord refused the bot token (gateway close 4004)');
  expect(run.lines.at(-1)).toMatchObject({ msg: 'stopped' });
});

it('stops on SIGTERM without reporting the gateway as reconnecting, and prints no ExperimentalWarning', async () => {
  ingest.setFallback({ status: 200, body: { executionArn: 'arn:aws:states:eu-west-1:123456789012:express:Relay:x' } });
  const run = startForwarder({ args: ['--spool', join(work, 'sigterm.db')] });
  await until(() => run.lines.some((l) => l.msg === 'forwarding'));
  run.child.kill('SIGTERM');
  expect(await run.exited).toEqual({ code: 0, signal: null });
  const after = run.lines.slice(run.lines.findIndex((l) => l.msg === 'forwarding'));
  expect(after.map((l) => l.msg)).not.toContain('gateway reconnecting');
  expect(after.map((l) => l.msg)).not.toContain('gateway disconnected');
  expect(run.lines.at(-1)).toMatchObject({ msg: 'stopped' });
  expect(run.stderr()).not.toContain('ExperimentalWarning');
});
