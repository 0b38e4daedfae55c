/**
 * The built CLI end to end, as a user runs it after `npm ci`: `relay local` from dist/, stopped by
 * one signal, a port in use, stale `.relay/local.json` defaults, `npm start` and signals.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('refuses a second relay in the same folder at once, naming the running one, on any port (exit 3, no stack trace)', async () => {
    const { pid } = JSON.parse(readFileSync(join(work, '.relay', 'local.json'), 'utf8')) as { pid: number };
    for (const port of [new URL(url).port, '0']) {
      const second = await runBuiltCli(['local', '--port', port, '--config', CONFIG], { cwd: work });
      expect(second.code).toBe(ExitCode.Config);
      expect(second.stderr).toContain(`a local relay is already running in this folder (pid ${pid}, ${url}, from .relay/local.json)`);
      expect(second.stderr).not.toMatch(/TimeoutError|socket hang up|\n\s+at /);
      expect(second.ms).toBeLessThan(5000);
    }
    // The first one is untouched.
    expect((await runBuiltCli(['send', ...JOIN, '--sync'], { cwd: work })).code).toBe(ExitCode.Ok);
  });

  it('says which port is taken, that another relay may be running, and --port', async () => {
    const port = new URL(url).port;
    const second = await runBuiltCli(['local', '--port', port, '--config', CONFIG], { cwd: mkdtempSync(join(tmpdir(), 'relay-built-')) });
    expect(second.code).toBe(ExitCode.Config);
    expect(second.stderr).toContain(`port ${port} is in use: another local relay (or another program) may be running there. Stop it, or pass --port`);
    expect(second.stderr).not.toContain('EADDRINUSE');
  });

  describe('relay doctor against it', () => {
    const checks = (stdout: string) => stdout.split('\n').filter((l) => /^[✓⚠✗–] /.test(l));

    it('passes every check, one ✓ line each, and exits 0', async () => {
      const run = await runBuiltCli(['doctor'], { cwd: work });
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(checks(run.stdout)).toHaveLength(10);
      expect(checks(run.stdout).filter((l) => !l.startsWith('✓ '))).toEqual([]);
      expect(run.stdout).toContain('All checks passed.');
    });

    it('--post with the channel\'s webhook deleted fails, naming the deleted webhook and the fix', async () => {
      await fetch(`${url}/_sink/webhooks/general`, { method: 'DELETE' });
      try {
        const run = await runBuiltCli(['doctor', '--post', 'general', '--json'], { cwd: work });
        expect(run.code).toBe(8);
        const report = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ id: string; status: string; detail: string; cause?: string; fix?: string }> };
        const post = report.checks.find((c) => c.id === 'post')!;
        expect(report.ok).toBe(false);
        expect(post).toMatchObject({ status: 'fail', detail: '#general: dead-lettered just now: ApiGateway.404', cause: 'the webhook of #general was deleted (Discord 10015 Unknown Webhook)' });
        expect(post.fix).toContain(`curl -X PUT ${url}/_sink/webhooks/general`);
      } finally {
        await fetch(`${url}/_sink/webhooks/general`, { method: 'PUT' });
        await fetch(`${url}/_lanes/redrive`, { method: 'POST' });
      }
    });

    it('names the config line to add for a key id the relay does not know, and refuses a key file others can read', async () => {
      const keygen = await runBuiltCli(['keygen', '--kid', 'stranger', '--out', join(work, 'stranger.pem')], { cwd: work });
      expect(keygen.code).toBe(0);
      const publicKey = /public key:\s+([0-9a-f]{64})/.exec(keygen.stdout)![1];
      const unknown = await runBuiltCli(['doctor', '--kid', 'stranger', '--key-file', join(work, 'stranger.pem')], { cwd: work });
      expect(unknown.code).toBe(8);
      expect(unknown.stdout).toMatch(/^✗ signed probe\s+Relay\.UnknownKey/m);
      expect(unknown.stdout).toContain(`'stranger': '${publicKey}',`);
      chmodSync(join(work, 'stranger.pem'), 0o644);
      const loose = await runBuiltCli(['doctor', '--kid', 'stranger', '--key-file', join(work, 'stranger.pem')], { cwd: work });
      expect(loose.code).toBe(8);
      expect(loose.stdout).toMatch(/^✓ ingest accepts SigV4/m);
      expect(loose.stdout).toMatch(/^✗ signed probe\s+key file .*stranger\.pem is readable by others \(mode 0644\)/m);
      expect(loose.stdout).toContain(`fix:   chmod 600 ${join(work, 'stranger.pem')}`);
    });
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
    const doctor = await runBuiltCli(['doctor'], { cwd: work });
    expect(doctor.code).toBe(8);
    expect(doctor.stdout).toMatch(/^✗ relay found\s+no local relay is running$/m);
    expect(doctor.stdout).toContain('start it with npm start');
  });
});

describe('npm start', () => {
  // npm runs the script through `sh -c`; the script execs node, so the signal npm forwards reaches the relay.
  // One Ctrl-C signals the whole process group: npm and the relay each get SIGINT, and npm forwards
  // its own, so the relay sees two at once. That is one stop, not "SIGINT again: exiting now".
  it('stops on one Ctrl-C (SIGINT to npm and to the relay at once), gracefully, leaving no relay behind', async () => {
    // The project's own start script, run by npm in a folder of its own: a relay the developer
    // left running in the repository (its .relay lock) must not fail the suite.
    const dir = mkdtempSync(join(tmpdir(), 'relay-npm-start-'));
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const start = scripts.start.replace(' bin/relay.ts', ` ${join(ROOT, 'bin', 'relay.ts')}`);
    expect(start).toContain(join(ROOT, 'bin', 'relay.ts'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npm-start-test', private: true, scripts: { start } }));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--config', CONFIG], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    await until(() => out.includes('Ctrl-C stops'), 60_000);
    const { pid, url } = JSON.parse(readFileSync(join(dir, '.relay', 'local.json'), 'utf8')) as { pid: number; url: string };
    expect(pid).not.toBe(child.pid);
    child.kill('SIGINT');
    process.kill(pid, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('stopped');
    expect(out).not.toContain('again: exiting now');
    await until(() => !isRunning(pid), 10_000);
    await expect(fetch(`${url}/_sink/stats`)).rejects.toThrow();
  }, 90_000);
});
