/**
 * The monthly cost of the relay for a number of events, from the synthesized stack's shape (memory,
 * batch size, channels, alarms…), durations measured on the local relay, and the assumptions below
 * (each printed with the estimate). Pure: the CLI (scripts/cost.ts) measures and prints.
 */
import { MAX_BATCH_EVENTS } from '../../lib/contracts/envelope';
import { FREE_TIER, NO_FREE_TIER, PRICES as P } from './prices';

/** What the synthesized stack says that costs money. */
export interface StackShape {
  readonly functionMemoryMb: Readonly<Record<'verify' | 'coalesce' | 'pace', number>>;
  readonly channels: number;
  /**
   * Channels an event goes to, on average over the routed kinds (kinds assumed equally common):
   * each copy is a lane message, a share of a delivery batch and a delivered mark. @default 1
   */
  readonly copiesPerEvent?: number;
  readonly batchSize: number;
  readonly alarms: number;
  readonly dashboards: number;
  /** Metrics the stack's alarms watch outside AWS's own namespaces (0: the heartbeat alarm watches a table's write metric). */
  readonly customMetrics: number;
  readonly dedupeRetentionHours: number;
  /** With `discordApp`: the Interactions function's memory (MB); the guild settings are read per voice event. */
  readonly discordApp?: { readonly interactionsMemoryMb: number; readonly tokenSecret: boolean };
}

/** Measured on the local relay (scripts/cost.ts): per-execution and per-invocation p50, in ms. */
export interface Measured {
  readonly relayExecutionMs: number;
  readonly deliveryExecutionMs: number;
  readonly verifyMs: number;
  /** Verify of a batch of 10 events (one signature, ten events). @default verifyMs */
  readonly verifyBatchMs?: number;
  readonly coalesceMs: number;
  readonly paceMs: number;
}

/** What the local relay cannot measure, stated with the estimate. */
export const ASSUMPTIONS = {
  /** Round trips AWS adds per task that the local relay runs in-process. */
  lambdaInvokeMs: 20, dynamoDbMs: 8, sqsMs: 12,
  /** Discord answering a webhook post with ?wait=true, through the proxy API. */
  discordPostMs: 250,
  /** Lambda (Arm, 256 MB) runs a handler this many times slower than the machine that measured it. */
  lambdaSlowdown: 2,
  /** Express memory: the relay's payloads are small, so the first 64 MB chunk. */
  expressMemoryGb: 64 / 1024,
  /** Bytes per API access-log line (both APIs log each request). */
  accessLogBytes: 350,
  /** Bytes per post to Discord (request and answer): data out at $0.09/GB. */
  postBytes: 2048, dataOutPerGb: 0.09,
  /** One forwarder, a heartbeat every 5 minutes. */
  heartbeatsPerMonth: (30 * 24 * 60) / 5,
  /** The pipe's long polls (20 s) of an idle lane, per month: SQS requests. */
  idlePollsPerMonth: (30 * 24 * 3600) / 20,
  /** Discord lets a webhook take 5 requests per 2 s. */
  discordPostsPerSecond: 2.5,
  /** A dedupe item, in bytes, with its key. */
  dedupeItemBytes: 200,
  /**
   * A forwarder's send, from signing to the ingest's answer. It sends one envelope at a time, so
   * what arrives meanwhile goes out together in the next (up to 10 events).
   */
  forwarderSendMs: 100,
  /** What each event past the first adds to a relay execution: its Map iteration runs beside the others. */
  mapIterationMs: 5,
  /** The Discord app: `/relay` commands a month, and how long the function takes for one (ms, billed). */
  commandsPerMonth: 1000, interactionMs: 100,
} as const;

const SECONDS_PER_MONTH = 30 * 24 * 3600;
const A = ASSUMPTIONS;
const perMillion = (count: number, price: { usd: number }) => (count / 1e6) * price.usd;
const ceilTo = (ms: number, step: number) => Math.ceil(ms / step) * step;

export interface Line { readonly item: string; readonly usd: number; readonly basis: string }
export interface Estimate {
  readonly eventsPerMonth: number;
  readonly eventsPerBatch: number;
  readonly eventsPerEnvelope: number;
  readonly lines: readonly Line[];
  readonly totalUsd: number;
  readonly fixedUsd: number;
  readonly warnings: readonly string[];
}

/** Billed durations (ms) of one execution of each workflow and one invocation of each function, for envelopes of `eventsPerEnvelope`. */
export function billed(m: Measured, eventsPerEnvelope = 1): { relay: number; delivery: number; verify: number; coalesce: number; pace: number } {
  const lambda = (ms: number) => Math.max(1, Math.ceil(ms * A.lambdaSlowdown));
  const more = eventsPerEnvelope - 1;
  return {
    // Verify, Read guild settings (with the Discord app), Claim id, Enqueue; each further event beside the first.
    relay: ceilTo(m.relayExecutionMs + A.lambdaInvokeMs + 2 * A.dynamoDbMs + A.sqsMs + more * A.mapIterationMs, 100),
    // Look up claims, Coalesce, Post, Pace, Mark delivered.
    delivery: ceilTo(m.deliveryExecutionMs + 2 * A.lambdaInvokeMs + 2 * A.dynamoDbMs + A.discordPostMs, 100),
    verify: lambda(m.verifyMs + (more / (MAX_BATCH_EVENTS - 1)) * ((m.verifyBatchMs ?? m.verifyMs) - m.verifyMs)), coalesce: lambda(m.coalesceMs), pace: lambda(m.paceMs),
  };
}

/**
 * Events per envelope when they are spread evenly: the forwarder sends one envelope at a time, and
 * what arrives during a send goes in the next. Bursts (a raid, a reconnect, a spool after an
 * outage) fill envelopes: pass `eventsPerEnvelope` to see that case.
 */
export function evenEventsPerEnvelope(eventsPerMonth: number): number {
  return Math.min(MAX_BATCH_EVENTS, 1 + (eventsPerMonth / SECONDS_PER_MONTH) * (A.forwarderSendMs / 1000));
}

/**
 * Events per delivery execution (and per Discord message). Spread evenly over the month, an event
 * joins a batch when it arrives while the previous one is being posted; past what one webhook
 * takes (2.5 posts/s), the lane backs up and batches fill. Bursts (a raid, a gaming night) fill them
 * sooner: pass `eventsPerBatch` to see that case.
 */
export function evenEventsPerBatch(eventsPerMonth: number, shape: StackShape, deliveryMs: number): number {
  const perChannelPerSecond = (eventsPerMonth * (shape.copiesPerEvent ?? 1)) / SECONDS_PER_MONTH / shape.channels;
  const value = Math.max(1 + perChannelPerSecond * (deliveryMs / 1000), perChannelPerSecond / A.discordPostsPerSecond);
  return Math.min(shape.batchSize, value);
}

/** What the stack uses in a month, in the units the free tiers are counted in. */
interface Usage {
  readonly httpRequests: number;
  readonly lambdaRequests: number;
  readonly lambdaGbSeconds: number;
  readonly sqsRequests: number;
  readonly logsGb: number;
  readonly dataOutGb: number;
}

/** The share of `used` that is billed once `free` of it is not. */
const billedShare = (used: number, free: number) => (used <= 0 ? 0 : Math.max(0, used - free) / used);

export function estimate(eventsPerMonth: number, shape: StackShape, measured: Measured, options: { eventsPerBatch?: number; eventsPerEnvelope?: number; freeTier?: boolean } = {}): Estimate {
  const e = options.eventsPerEnvelope ?? evenEventsPerEnvelope(eventsPerMonth);
  const d = billed(measured, e);
  const b = options.eventsPerBatch ?? evenEventsPerBatch(eventsPerMonth, shape, d.delivery);
  const n = eventsPerMonth;
  // What the lanes carry: one copy per channel an event goes to.
  const copies = n * (shape.copiesPerEvent ?? 1);
  const batches = copies / b;
  const envelopes = n / e;
  const gbs = (mb: number, ms: number, count: number) => (mb / 1024) * (ms / 1000) * count;
  const heartbeats = A.heartbeatsPerMonth;
  const commands = shape.discordApp ? A.commandsPerMonth : 0;
  const verifyGbs = gbs(shape.functionMemoryMb.verify, d.verify, envelopes + heartbeats);
  const deliveryGbs = gbs(shape.functionMemoryMb.coalesce, d.coalesce, batches) + gbs(shape.functionMemoryMb.pace, d.pace, batches);
  const interactionsGbs = shape.discordApp ? gbs(shape.discordApp.interactionsMemoryMb, A.interactionMs, commands) : 0;
  const usage: Usage = {
    httpRequests: envelopes + heartbeats + batches + commands,
    lambdaRequests: envelopes + heartbeats + 2 * batches + commands,
    lambdaGbSeconds: verifyGbs + deliveryGbs + interactionsGbs,
    sqsRequests: envelopes + 2 * batches + A.idlePollsPerMonth,
    logsGb: ((envelopes + heartbeats + batches) * A.accessLogBytes) / 1e9,
    dataOutGb: (batches * A.postBytes) / 1e9,
  };
  // Each line pays only its share of what is above the always-free allowance (all lines of one service share it).
  const F = options.freeTier ? FREE_TIER : NO_FREE_TIER;
  const share = {
    http: billedShare(usage.httpRequests, F.httpApiRequests.amount),
    lambdaRequests: billedShare(usage.lambdaRequests, F.lambdaRequests.amount),
    lambdaGbs: billedShare(usage.lambdaGbSeconds, F.lambdaGbSeconds.amount),
    sqs: billedShare(usage.sqsRequests, F.sqsRequests.amount),
    logs: billedShare(usage.logsGb, F.logsGb.amount),
    dataOut: billedShare(usage.dataOutGb, F.dataOutGb.amount),
  };
  const lambda = (requests: number, gbSeconds: number) => perMillion(requests, P.lambdaRequestPerMillion) * share.lambdaRequests + gbSeconds * P.lambdaArmGbSecond.usd * share.lambdaGbs;
  const lines: Line[] = [
    { item: 'Ingest API', usd: perMillion(envelopes + heartbeats, P.httpApiPerMillion) * share.http, basis: `one request per envelope (${e.toFixed(1)} events) and heartbeat` },
    { item: 'Relay workflow (Express)', usd: perMillion(envelopes + heartbeats, P.expressRequestPerMillion) + (envelopes + heartbeats) * A.expressMemoryGb * (d.relay / 1000) * P.expressGbSecond.usd, basis: `one execution per envelope, ${d.relay} ms × 64 MB billed` },
    { item: 'Verify (Lambda)', usd: lambda(envelopes + heartbeats, verifyGbs), basis: `one call per envelope, ${shape.functionMemoryMb.verify} MB Arm, ${d.verify} ms billed` },
    { item: 'Dedupe table (DynamoDB)', usd: perMillion(n + copies, P.dynamoWritePerMillion) + perMillion(copies, P.dynamoReadPerMillion), basis: copies === n ? '2 writes (claim as queued, delivered) + 1 consistent read per event' : `a claim per event; a delivered mark and a consistent read per channel's copy (${(copies / n).toFixed(2)} per event)` },
    { item: 'Lane (SQS FIFO)', usd: perMillion(usage.sqsRequests, P.sqsFifoPerMillion) * share.sqs, basis: 'one SendMessageBatch per envelope; receive + delete per batch; idle long polls' },
    { item: 'Lane pipe (EventBridge Pipes)', usd: perMillion(batches, P.pipesPerMillion), basis: 'one request per batch (< 64 KB)' },
    { item: 'Delivery workflow (Express)', usd: perMillion(batches, P.expressRequestPerMillion) + batches * A.expressMemoryGb * (d.delivery / 1000) * P.expressGbSecond.usd, basis: `one execution per batch, ${d.delivery} ms × 64 MB billed` },
    { item: 'Coalesce + Pace (Lambda)', usd: lambda(2 * batches, deliveryGbs), basis: 'one of each per batch' },
    { item: 'Webhook proxy API', usd: perMillion(batches, P.httpApiPerMillion) * share.http, basis: 'one post per batch' },
    { item: 'Access logs (CloudWatch Logs)', usd: usage.logsGb * P.logsIngestPerGb.usd * share.logs, basis: `${A.accessLogBytes} B per API request; workflows log errors only, Lambdas warnings only` },
    { item: 'Data out to Discord', usd: usage.dataOutGb * A.dataOutPerGb * share.dataOut, basis: `${A.postBytes} B per post` },
    ...(shape.discordApp ? [
      // A guild's item (≤ 4 KB up to ~200 opt-outs) read eventually consistent: 0.5 read units, once
      // per envelope whose events share a guild and once per guild of a delivery batch (one guild assumed).
      { item: 'Guild settings reads (DynamoDB)', usd: perMillion(0.5 * (envelopes + batches), P.dynamoReadPerMillion), basis: 'an eventually consistent read of ≤ 4 KB (0.5 unit) per envelope and per delivery batch (one guild)' },
      {
        item: 'Discord app (/relay commands)',
        usd: perMillion(commands, P.httpApiPerMillion) * share.http + lambda(commands, interactionsGbs) + perMillion(commands, P.dynamoWritePerMillion),
        basis: `${commands} commands: a request, an invocation (${A.interactionMs} ms) and a write each`,
      },
    ] : []),
    { item: 'Dedupe storage + PITR', usd: ((n / (30 * 24)) * shape.dedupeRetentionHours * A.dedupeItemBytes / 1e9) * (0.25 + 0.2), basis: `${shape.dedupeRetentionHours} h of ids kept` },
  ];
  const fixed: Line[] = [
    { item: 'Alarms', usd: Math.max(0, shape.alarms - F.alarms.amount) * P.alarmMonth.usd, basis: `${shape.alarms} standard alarms` },
    { item: 'Dashboard', usd: Math.max(0, shape.dashboards - F.dashboards.amount) * P.dashboardMonth.usd, basis: shape.dashboards === 0 ? 'none (monitoring.dashboard: true adds one)' : 'free if among the account\'s first 3' },
    { item: 'Heartbeats (DynamoDB)', usd: perMillion(heartbeats, P.dynamoWritePerMillion), basis: 'a write per heartbeat; the alarm watches the table\'s own write metric, which is free' },
    ...(shape.customMetrics > 0 ? [{ item: 'Custom metrics', usd: Math.max(0, shape.customMetrics - F.customMetrics.amount) * P.customMetricMonth.usd, basis: `${shape.customMetrics} custom metric${shape.customMetrics === 1 ? '' : 's'}` }] : []),
    { item: 'Webhook secrets', usd: shape.channels * P.secretMonth.usd, basis: `${shape.channels} secret${shape.channels === 1 ? '' : 's'} (resolved at deploy, no API calls)` },
    ...(shape.discordApp?.tokenSecret ? [{ item: 'Bot token secret', usd: P.secretMonth.usd, basis: 'read at deploy only, to register /relay' }] : []),
  ];
  const all = [...lines, ...fixed];
  const warnings: string[] = [];
  const perChannel = copies / SECONDS_PER_MONTH / shape.channels;
  const capacity = A.discordPostsPerSecond * shape.batchSize;
  if (perChannel > capacity) {
    warnings.push(`${perChannel.toFixed(1)} events/s per channel exceeds what one webhook takes (${capacity} events/s: ${A.discordPostsPerSecond} posts/s × ${shape.batchSize} per batch): spread the events over at least ${Math.ceil(n / SECONDS_PER_MONTH / capacity)} channels.`);
  }
  return {
    eventsPerMonth: n, eventsPerBatch: b, eventsPerEnvelope: e, lines: all,
    totalUsd: all.reduce((s, l) => s + l.usd, 0), fixedUsd: fixed.reduce((s, l) => s + l.usd, 0), warnings,
  };
}

export interface Alternative { readonly name: string; readonly usd: number; readonly basis: string; readonly tradeOffs: string }

/** What a user might build instead, for the same events (see README "What it costs"). */
export function alternatives(eventsPerMonth: number, measured: Measured): Alternative[] {
  const n = eventsPerMonth;
  const handlerMs = Math.max(1, Math.ceil(measured.verifyMs * A.lambdaSlowdown)) + A.discordPostMs;
  const lambdaUrl = perMillion(n, P.lambdaRequestPerMillion) + (128 / 1024) * (handlerMs / 1000) * n * P.lambdaArmGbSecond.usd + P.secretMonth.usd;
  const apiDestinations = perMillion(n, P.eventBridgeCustomEventsPerMillion) + perMillion(n, P.apiDestinationPerMillion) + P.secretMonth.usd;
  return [
    { name: 'One Lambda behind a function URL (IAM auth)', usd: lambdaUrl, basis: `128 MB Arm, verify + wait ${A.discordPostMs} ms for Discord per event, one secret`,
      tradeOffs: 'no dedupe (a replay posts again), no pacing or coalescing (a 200-join burst: ~100 lost to 429s in our bench), no dead letters, no alarms' },
    { name: 'EventBridge PutEvents → API destination', usd: apiDestinations, basis: 'one custom event + one invocation per event, one connection secret',
      tradeOffs: 'no Ed25519 verification (IAM on PutEvents only), at-least-once (duplicates post twice), one message per event (a rate limit paces but never coalesces)' },
  ];
}
