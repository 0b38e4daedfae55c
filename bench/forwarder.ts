/**
 * The forwarder as users run it (`node dist/bin/relay.js forward`), against the test fake Discord
 * (one guild, 500 members, 50 already in voice) and a stand-in ingest: resident memory once
 * connected, and CPU time per forwarded event (gateway dispatch → spool → signed HTTP send).
 */
import { generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDiscord } from '../testkit/fake-discord';
import { FakeIngest } from '../testkit/fake-ingest';

const root = join(__dirname, '..');
const CLK_TCK = 100; // Linux USER_HZ

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
}

export interface ForwarderFigures {
  readonly rssConnectedMb: number;
  readonly rssAfterLoadMb: number;
  readonly cpuMsPerEvent: number;
  readonly events: number;
}

/** `nodeFlags`: e.g. ['--max-semi-space-size=2'], as the README's systemd unit runs it. */
export async function benchForwarder(events = 1000, nodeFlags: string[] = []): Promise<ForwarderFigures> {
  const guild = '111111111111111111';
  const channels = Array.from({ length: 5 }, (_, i) => ({ id: String(220000000000000000n + BigInt(i)), name: `Voice ${i}` }));
  const members = Array.from({ length: 500 }, (_, i) => ({ id: String(400000000000000000n + BigInt(i)), username: `member${i}` }));
  const discord = new FakeDiscord([{ id: guild, name: 'Bench Guild', voiceChannels: channels, members }]);
  for (let i = 0; i < 50; i++) discord.seedVoiceState(guild, members[i].id, channels[i % 5].id);
  const ingest = new FakeIngest();
  await discord.start();
  const url = await ingest.start();
  const work = mkdtempSync(join(tmpdir(), 'relay-bench-fwd-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = { kid: 'bench', privateKey };
  writeFileSync(join(work, 'key.pem'), key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const child = spawn(process.execPath, [...nodeFlags, join(root, 'dist', 'bin', 'relay.js'), 'forward', '--url', url, '--kid', 'bench', '--key-file', join(work, 'key.pem'), '--region', 'eu-west-1',
    '--spool', join(work, 'spool.db'), '--health-port', 'off', '--heartbeat-minutes', '0', '--debounce-ms', '0', '--log-level', 'info', '--discord-api', discord.api, '--guild', guild], {
    cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work, DISCORD_TOKEN: discord.token, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_EC2_METADATA_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    // Keep only enough to see the ready line; the rest (one line per event) is drained.
    if (!output.includes('"msg":"forwarding"')) output += c.toString();
  });
  try {
    for (let i = 0; i < 600 && !output.includes('"msg":"forwarding"'); i++) await new Promise((r) => setTimeout(r, 50));
    if (!output.includes('"msg":"forwarding"')) throw new Error(`forwarder did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 1000)); // settle after GUILD_CREATE
    const rssConnectedMb = rssMb(child.pid!);
    const cpuBefore = cpuSeconds(child.pid!);
    for (let i = 0; i < events; i++) {
      // A member not in voice joins, then leaves: every dispatch is a real change.
      const m = members[50 + (Math.floor(i / 2) % 450)];
      discord.setVoiceState(guild, m.id, i % 2 === 0 ? channels[i % 5].id : null);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    while (ingest.requests.length < events) await new Promise((r) => setTimeout(r, 20));
    const cpuMsPerEvent = ((cpuSeconds(child.pid!) - cpuBefore) * 1000) / events;
    return { rssConnectedMb, rssAfterLoadMb: rssMb(child.pid!), cpuMsPerEvent, events };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    await discord.stop();
    await ingest.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
