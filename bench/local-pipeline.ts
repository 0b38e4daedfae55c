/**
 * The whole local pipeline under load: the relay runs as `relay local` in its own process; this
 * process signs and sends. (1) throughput and latency with the sink's rate limits off; (2) a burst
 * of 200 voice events to one channel with Discord-like limits on (5 requests / 2 s per webhook).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readPrivateKeyFile } from '../lib/client/keys';
import { RelayClient } from '../lib/client/relay-client';
import type { LocalSettings } from '../lib/local/local-settings';

const root = join(__dirname, '..');

interface Running {
  readonly child: ChildProcess;
  readonly settings: LocalSettings;
  readonly lines: string[];
  readonly dir: string;
}

async function startRelay(args: string[], config = join(root, 'config', 'relay.config.ts')): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  // This process's own Node (the project's), whatever `node` is on PATH; tsx resolved from here, not the temp folder.
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, join(root, 'bin', 'relay.ts'), 'local', '--port', '0', '--config', config, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffer = '';
  child.stdout!.on('data', (c: Buffer) => {
    buffer += c.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  const ready = () => lines.some((l) => l.startsWith('Ctrl-C stops'));
  for (let i = 0; i < 600 && !ready(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ready()) {
    child.kill('SIGKILL');
    throw new Error(`relay local did not start:\n${lines.join('\n')}`);
  }
  const settings = JSON.parse(readFileSync(join(dir, '.relay', 'local.json'), 'utf8')) as LocalSettings;
  return { child, settings, lines, dir };
}

async function stopRelay(r: Running): Promise<void> {
  const exited = new Promise((resolve) => r.child.on('exit', resolve));
  r.child.kill('SIGINT');
  await exited;
  rmSync(r.dir, { recursive: true, force: true });
}

function clientFor(r: Running, maxAttempts = 1): RelayClient {
  const s = r.settings;
  return new RelayClient({ url: s.url, kid: s.kid, privateKey: readPrivateKeyFile(join(r.dir, '.relay', 'keys', 'local.pem')), region: s.region, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey }, maxAttempts });
}

function voiceJoin(guildId: string, i: number) {
  return {
    type: 'VOICE_STATE_UPDATE', guild: { id: guildId, name: 'Bench Guild' },
    user: { id: String(400000000000000000n + BigInt(i)), name: `user${i}`, display_name: `User ${i}`, bot: false },
    before: null, after: { channel_id: '222222222222222222', channel_name: 'General' }, at: new Date().toISOString(),
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export interface PipelineFigures {
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly events: number;
  readonly failures: number;
}

/**
 * Signed events through the ingest, `concurrency` in flight, sync: with lanes the answer comes once
 * the event is claimed and queued (delivery runs alongside); direct, once it is posted.
 */
export async function benchThroughput(events = 3000, concurrency = 8, design: 'lanes' | 'direct' = 'lanes'): Promise<PipelineFigures> {
  const relay = await startRelay(['--sink-rate-limit', 'off', ...(design === 'direct' ? ['--direct-delivery'] : [])]);
  try {
    const client = clientFor(relay);
    for (let i = 0; i < 100; i++) await client.sendSync(voiceJoin(relay.settings.guildId, i)); // warm up
    const latencies: number[] = [];
    let failures = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < events) {
        const i = next++;
        const t0 = performance.now();
        const result = await client.sendSync(voiceJoin(relay.settings.guildId, i)).catch(() => undefined);
        latencies.push(performance.now() - t0);
        if (result?.status !== 'SUCCEEDED') failures++;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { eventsPerSecond: events / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), events, failures };
  } finally {
    await stopRelay(relay);
  }
}

export interface BurstFigures {
  readonly design: 'lanes' | 'direct';
  readonly sent: number;
  readonly accepted: number;
  /** Webhook messages Discord (the sink) accepted. */
  readonly messages: number;
  readonly rateLimited: number;
  /** From the first send to the last accepted message. */
  readonly drainSeconds: number;
  /** The least time the sink's limit allows for that many messages (the first `limit` go at once). */
  readonly minimumSeconds: number;
  /** Events never named in any message. */
  readonly lost: number;
  /** Events named in more than one message. */
  readonly doubled: number;
}

const SINK_LIMIT = { limit: 5, windowMs: 2000 };

interface SinkMessage { body: { content: string }; receivedAt: string }

/** 200 distinct voice joins to one channel, sent within 10 s, with the sink's Discord-like limit and the definitions' real pauses. */
export async function benchBurst(design: 'lanes' | 'direct', events = 200, timeoutSeconds = 240): Promise<BurstFigures> {
  const relay = await startRelay(design === 'direct' ? ['--direct-delivery'] : []);
  try {
    const client = clientFor(relay, 5);
    const sink = async () => (await (await fetch(`${relay.settings.url}/_sink/messages`)).json()) as SinkMessage[];
    const named = (messages: SinkMessage[]) => {
      const counts = new Map<number, number>();
      for (const m of messages) for (const match of m.body.content.matchAll(/\*\*User (\d+)\*\*/g)) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
      return counts;
    };
    const started = Date.now();
    const accepted = (await Promise.all(Array.from({ length: events }, (_, i) => client.send(voiceJoin(relay.settings.guildId, i)).then(() => 1, () => 0)))).reduce<number>((a, b) => a + b, 0);
    // Done when every event is named, or when nothing has changed for 30 s (the direct path gives up on some).
    let last = -1;
    let lastChange = Date.now();
    while (Date.now() - started < timeoutSeconds * 1000) {
      const count = named(await sink()).size;
      if (count !== last) [last, lastChange] = [count, Date.now()];
      if (count >= accepted || Date.now() - lastChange > 30_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const messages = await sink();
    const counts = named(messages);
    const lastPost = Math.max(started, ...messages.map((m) => Date.parse(m.receivedAt)));
    const stats = (await (await fetch(`${relay.settings.url}/_sink/stats`)).json()) as { accepted: number; rateLimited: number };
    return {
      design, sent: events, accepted, messages: stats.accepted, rateLimited: stats.rateLimited,
      drainSeconds: (lastPost - started) / 1000,
      minimumSeconds: (Math.floor((Math.max(1, stats.accepted) - 1) / SINK_LIMIT.limit) * SINK_LIMIT.windowMs) / 1000,
      lost: events - counts.size,
      doubled: [...counts.values()].filter((n) => n > 1).length,
    };
  } finally {
    await stopRelay(relay);
  }
}

export interface IdleLatency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly events: number;
}

/** When each event, sent one at a time, was sent, answered, and reached the sink (after 5 warm-ups). */
async function oneAtATime(
  events: number, send: (client: RelayClient, i: number, guildId: string) => Promise<unknown>, pollMs: number,
): Promise<Array<{ sent: number; answered: number; atSink: number }>> {
  const relay = await startRelay(['--sink-rate-limit', 'off']);
  try {
    const client = clientFor(relay);
    const accepted = async () => ((await (await fetch(`${relay.settings.url}/_sink/stats`)).json()) as { accepted: number }).accepted;
    const timings: Array<{ sent: number; answered: number; atSink: number }> = [];
    for (let i = 0; i < events + 5; i++) {
      const before = await accepted();
      const sent = performance.now();
      await send(client, i, relay.settings.guildId);
      const answered = performance.now();
      while ((await accepted()) === before) await new Promise((r) => setTimeout(r, pollMs));
      if (i >= 5) timings.push({ sent, answered, atSink: performance.now() }); // the first five warm up
    }
    return timings;
  } finally {
    await stopRelay(relay);
  }
}

const sorted = (values: number[]) => values.sort((a, b) => a - b);

/** One event at a time through an idle lane: from the send to the message at the sink. */
export async function benchIdleLatency(events = 60): Promise<IdleLatency> {
  const timings = await oneAtATime(events, (client, i, guild) => client.send(voiceJoin(guild, i)), 2);
  const latencies = sorted(timings.map((t) => t.atSink - t.sent));
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), events };
}

export interface WorkflowDurations {
  /** A relay execution as /events/sync answers it (Verify, claim, queue), p50. */
  readonly relayMs: number;
  /** From that answer to the message at the sink (pipe, Coalesce, post, Pace, mark), p50. */
  readonly deliveryMs: number;
  readonly events: number;
}

/** Per-execution durations through the local relay, one event at a time (what the cost model bills). */
export async function measureWorkflowDurations(events = 30): Promise<WorkflowDurations> {
  const timings = await oneAtATime(events, (client, i, guild) => client.sendSync(voiceJoin(guild, i)), 1);
  const relayMs = sorted(timings.map((t) => t.answered - t.sent));
  const deliveryMs = sorted(timings.map((t) => t.atSink - t.answered));
  return { relayMs: percentile(relayMs, 50), deliveryMs: percentile(deliveryMs, 50), events };
}

export interface CardBurstFigures {
  readonly sent: number;
  readonly accepted: number;
  /** Cards Discord (the sink) created, and edits it accepted. */
  readonly created: number;
  readonly edits: number;
  readonly rateLimited: number;
  /** From the first send to the edit that shows everyone. */
  readonly drainSeconds: number;
  /** The card's last text names a count of everyone. */
  readonly complete: boolean;
}

/** The same 200 joins to one voice channel with card routes (examples/cards.config.ts): one card, edited. */
export async function benchCardBurst(events = 200, timeoutSeconds = 240): Promise<CardBurstFigures> {
  const relay = await startRelay([], join(root, 'examples', 'cards.config.ts'));
  try {
    const client = clientFor(relay, 5);
    const people = Array.from({ length: events }, (_, i) => ({ id: String(400000000000000000n + BigInt(i)), name: `User ${i}` }));
    const started = Date.now();
    // As a forwarder sends them: each join with who is in the channel after it (25 named, all counted).
    const accepted = (await Promise.all(people.map((_, i) => {
      const event = { ...voiceJoin(relay.settings.guildId, i), at: new Date(started + i).toISOString(), after: { channel_id: '222222222222222222', channel_name: 'General', occupants: { count: i + 1, members: people.slice(Math.max(0, i - 24), i + 1) } } };
      return client.send(event).then(() => 1, () => 0);
    }))).reduce<number>((a, b) => a + b, 0);
    const everyone = new RegExp(`\\+${events - 25} more`);
    let card: { body: { content: string }; editedAt?: string; receivedAt: string } | undefined;
    while (Date.now() - started < timeoutSeconds * 1000) {
      [card] = (await (await fetch(`${relay.settings.url}/_sink/messages`)).json()) as Array<NonNullable<typeof card>>;
      if (card && everyone.test(card.body.content)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stats = (await (await fetch(`${relay.settings.url}/_sink/stats`)).json()) as { accepted: number; edited: number; rateLimited: number };
    const finished = card ? Date.parse(card.editedAt ?? card.receivedAt) : Date.now();
    return { sent: events, accepted, created: stats.accepted, edits: stats.edited, rateLimited: stats.rateLimited, drainSeconds: (finished - started) / 1000, complete: Boolean(card && everyone.test(card.body.content)) };
  } finally {
    await stopRelay(relay);
  }
}
