/**
 * The built CLI end to end, as a user runs it after `npm ci`: `relay local` from dist/, stopped by
 * one signal, a port in use, stale `.relay/local.json` defaults, `npm start` and signals.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../lib/cli/errors';
import { ROOT, ensureBuilt, runBuiltCli, startBuiltCli, type RunningCli } from '../support/built-cli';
import { pollUntil } from '../support/until';

const CONFIG = join(ROOT, 'config', 'relay.config.ts');
const JOIN = ['voice-join', '--user', '444444444444444444', '--display-name', 'Alice', '--channel', '222222222222222222', '--channel-name', 'General'];

beforeAll(() => ensureBuilt(), 120_000);

const until = (check: () => boolean | Promise<boolean>, ms = 30_000) => pollUntil(check, ms, 50);

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('relay local from dist/', () => {
  const work = mkdtempSync(join(tmpdir(), 'relay-built-'));
  let relay: RunningCli;
  let url: string;

  beforeAll(async () => {
    relay = startBuiltCli(['local', '--port', '0', '--config', CONFIG, '--fast-retries'], { cwd: work });
    await until(() => relay.output().includes('Ctrl-C stops'), 60_000);
    url = (JSON.parse(readFileSync(join(work, '.relay', 'local.json'), 'utf8')) as { url: string }).url;
  }, 90_000);
  afterAll(() => relay.child.kill('SIGKILL'));

  it('runs the relay: a send with no flags is delivered to the sink', async () => {
    const sent = await runBuiltCli(['send', ...JOIN, '--sync'], { cwd: work });
    expect(sent).toMatchObject({ code: ExitCode.Ok, stdout: expect.stringMatching(/^SUCCEEDED \S+ queued #general$/m) });
    const sink = async () => (await (await fetch(`${url}/_sink/messages`)).json()) as Array<{ body: { content: string } }>;
    await until(async () => (await sink()).length > 0, 10_000);
    const messages = await sink();
    expect(messages.map((m) => m.body.content)).toEqual([expect.stringContaining('**Alice** joined General')]);
  });

  it('prints a rejection\'s cause as text, with a hint that fits the local relay', async () => {
    const sent = await runBuiltCli(['send', ...JOIN, '--guild', '999999999999999999', '--sync'], { cwd: work });
    expect(sent.code).toBe(ExitCode.Rejected);
    expect(sent.stdout).toMatch(/^FAILED \S+ Relay\.GuildNotAllowed: guild 999999999999999999 is not in this relay's allowed guilds$/m);
    expect(sent.stdout).not.toContain('errorType');
    expect(sent.stdout).toContain('hint: add the guild id to allowedGuildIds in the relay config then restart the local relay (npm start)');
    expect(sent.stdout).not.toContain('deploy');
  });

  it('says which port is taken, that another relay may be running, and --port', async () => {
    const port = new URL(url).port;
    const second = await runBuiltCli(['local', '--port', port, '--config', CONFIG], { cwd: mkdtempSync(join(tmpdir(), 'relay-built-')) });
    expect(second.code).toBe(ExitCode.Config);
    expect(second.stderr).toContain(`port ${port} is in use: another local relay (or another program) may be running there. Stop it, or pass --port`);
    expect(second.stderr).not.toContain('EADDRINUSE');
  });

  it('stops on one SIGTERM and frees its port; a later send says no local relay is running, at once', async () => {
    relay.child.kill('SIGTERM');
    expect((await relay.exited).code).toBe(0);
    const port = Number(new URL(url).port);
    await new Promise<void>((ok, fail) => {
      const probe = createServer().once('error', fail).listen(port, '127.0.0.1', () => probe.close(() => ok()));
    });
    const stale = await runBuiltCli(['send', ...JOIN], { cwd: work });
    expect(stale.code).toBe(ExitCode.Unavailable);
    expect(stale.stderr).toContain(`no local relay is running: ${url} comes from ${join(work, '.relay', 'local.json')}`);
    expect(stale.stderr).toContain('npm start');
    expect(stale.ms).toBeLessThan(3000);
  });
});

describe('npm start', () => {
  // npm runs the script through `sh -c`; the script execs node, so the signal npm forwards reaches the relay.
  it.each(['SIGINT', 'SIGTERM'] as const)('stops on one %s to the npm process, leaving no relay behind', async (signal) => {
    const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--config', CONFIG], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((ok) => child.on('exit', ok));
    await until(() => out.includes('Ctrl-C stops'), 60_000);
    const { pid, url } = JSON.parse(readFileSync(join(ROOT, '.relay', 'local.json'), 'utf8')) as { pid: number; url: string };
    expect(pid).not.toBe(child.pid);
    child.kill(signal);
    await exited;
    await until(() => !isRunning(pid), 10_000);
    await expect(fetch(`${url}/_sink/stats`)).rejects.toThrow();
  }, 90_000);
});
