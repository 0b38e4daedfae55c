/** The cost model (scripts/cost): billing rules, how coalescing changes the bill, the stack it reads. */
import { ASSUMPTIONS, alternatives, billed, estimate, evenEventsPerBatch, evenEventsPerEnvelope, type Measured, type StackShape } from '../scripts/cost/model';
import { FREE_TIER, PRICES, PRICES_TAKEN } from '../scripts/cost/prices';
import { stackShape } from '../scripts/cost';

const SHAPE: StackShape = { functionMemoryMb: { verify: 256, coalesce: 256, pace: 256 }, channels: 1, batchSize: 10, alarms: 12, dashboards: 1, customMetrics: 0, dedupeRetentionHours: 48 };
const MEASURED: Measured = { relayExecutionMs: 8, deliveryExecutionMs: 4, verifyMs: 0.16, coalesceMs: 0.01, paceMs: 0.001 };
const line = (e: ReturnType<typeof estimate>, item: string) => e.lines.find((l) => l.item === item)!.usd;

it('bills Express in 100 ms steps and Lambda per ms (at least 1), AWS round trips added to what the local relay measured', () => {
  expect(billed(MEASURED)).toEqual({ relay: 100, delivery: 400, verify: 1, coalesce: 1, pace: 1 });
  expect(billed({ ...MEASURED, relayExecutionMs: 60, verifyMs: 3.2 })).toMatchObject({ relay: 200, verify: 7 });
});

it('1M events, one per batch: each line is its unit price times its count', () => {
  const e = estimate(1e6, SHAPE, MEASURED, { eventsPerBatch: 1, eventsPerEnvelope: 1 });
  const heartbeats = ASSUMPTIONS.heartbeatsPerMonth;
  expect(line(e, 'Ingest API')).toBeCloseTo(((1e6 + heartbeats) / 1e6) * PRICES.httpApiPerMillion.usd, 6);
  expect(line(e, 'Dedupe table (DynamoDB)')).toBeCloseTo(2 * 0.625 + 0.125, 6);
  expect(line(e, 'Webhook proxy API')).toBeCloseTo(1, 6);
  expect(line(e, 'Relay workflow (Express)')).toBeCloseTo(((1e6 + heartbeats) / 1e6) * (1 + 1e6 * (64 / 1024) * 0.1 * PRICES.expressGbSecond.usd), 4);
  expect(e.fixedUsd).toBeCloseTo(12 * 0.1 + 3 + (heartbeats / 1e6) * 0.625 + 0.4, 6);
  expect(line(e, 'Heartbeats (DynamoDB)')).toBeCloseTo(8640 * 0.625 / 1e6, 9);
  expect(e.lines.map((l) => l.item)).not.toContain('Custom metrics');
  // A stack whose alarms watch a custom metric pays for it.
  expect(line(estimate(1e6, { ...SHAPE, customMetrics: 1 }, MEASURED), 'Custom metrics')).toBeCloseTo(0.3, 6);
  expect(e.totalUsd).toBeCloseTo(e.lines.reduce((s, l) => s + l.usd, 0), 9);
});

it('coalescing divides everything after the lane by the events per batch, and nothing before it', () => {
  const one = estimate(1e6, SHAPE, MEASURED, { eventsPerBatch: 1 });
  const ten = estimate(1e6, SHAPE, MEASURED, { eventsPerBatch: 10 });
  for (const item of ['Delivery workflow (Express)', 'Webhook proxy API', 'Lane pipe (EventBridge Pipes)', 'Coalesce + Pace (Lambda)']) expect(line(ten, item)).toBeCloseTo(line(one, item) / 10, 6);
  for (const item of ['Ingest API', 'Relay workflow (Express)', 'Verify (Lambda)', 'Dedupe table (DynamoDB)']) expect(line(ten, item)).toBe(line(one, item));
  expect(ten.totalUsd).toBeLessThan(one.totalUsd);
});

it('batched envelopes divide the request, the execution, Verify and the lane send by the events per envelope; the claims and reads stay per event', () => {
  const one = estimate(1e6, SHAPE, MEASURED, { eventsPerBatch: 10, eventsPerEnvelope: 1 });
  const ten = estimate(1e6, SHAPE, MEASURED, { eventsPerBatch: 10, eventsPerEnvelope: 10 });
  const heartbeats = ASSUMPTIONS.heartbeatsPerMonth;
  expect(line(ten, 'Ingest API')).toBeCloseTo(((1e5 + heartbeats) / 1e6) * PRICES.httpApiPerMillion.usd, 6);
  expect(line(ten, 'Relay workflow (Express)')).toBeLessThan(line(one, 'Relay workflow (Express)') / 5);
  expect(line(ten, 'Verify (Lambda)')).toBeLessThan(line(one, 'Verify (Lambda)') / 5);
  for (const item of ['Dedupe table (DynamoDB)', 'Delivery workflow (Express)', 'Webhook proxy API']) expect(line(ten, item)).toBe(line(one, item));
  // One SendMessageBatch per envelope: 1M sends become 100k; the pipe's receive and delete stay per batch.
  const sqsRequests = (envelopes: number) => envelopes + 2 * 1e5 + ASSUMPTIONS.idlePollsPerMonth;
  expect(line(ten, 'Lane (SQS FIFO)')).toBeCloseTo((sqsRequests(1e5) / 1e6) * PRICES.sqsFifoPerMillion.usd, 6);
  expect(line(one, 'Lane (SQS FIFO)')).toBeCloseTo((sqsRequests(1e6) / 1e6) * PRICES.sqsFifoPerMillion.usd, 6);
  // Ten events' Map iterations and a batch's Verify take longer, billed as such.
  expect(billed({ ...MEASURED, verifyBatchMs: 2 }, 10)).toMatchObject({ relay: 200, verify: 4 });
  expect(billed({ ...MEASURED, verifyBatchMs: 2 }, 1)).toMatchObject({ relay: 100, verify: 1 });
});

it('with the Discord app, guild settings are read once per envelope and once per delivery batch (half a read unit each), not per event', () => {
  const app = { ...SHAPE, discordApp: { interactionsMemoryMb: 256, tokenSecret: false } };
  const reads = (eventsPerEnvelope: number, eventsPerBatch: number) => line(estimate(1e6, app, MEASURED, { eventsPerEnvelope, eventsPerBatch }), 'Guild settings reads (DynamoDB)');
  expect(reads(1, 1)).toBeCloseTo(2 * 0.5 * PRICES.dynamoReadPerMillion.usd, 9);
  expect(reads(10, 1)).toBeCloseTo((0.1 + 1) * 0.5 * PRICES.dynamoReadPerMillion.usd, 9);
  expect(reads(10, 10)).toBeCloseTo(reads(1, 1) / 10, 9);
});

it('spread evenly, envelopes fill with what arrives during a send (one at a time), up to 10', () => {
  expect(evenEventsPerEnvelope(10_000)).toBeCloseTo(1, 3);
  expect(evenEventsPerEnvelope(1e8)).toBeCloseTo(1 + (1e8 / (30 * 24 * 3600)) * (ASSUMPTIONS.forwarderSendMs / 1000), 6);
  expect(evenEventsPerEnvelope(1e10)).toBe(10);
  expect(estimate(1e6, SHAPE, MEASURED).eventsPerEnvelope).toBeCloseTo(evenEventsPerEnvelope(1e6), 9);
});

it('batches fill as the rate per channel grows, capped by the pipe', () => {
  expect(evenEventsPerBatch(10_000, SHAPE, 400)).toBeCloseTo(1, 2);
  expect(evenEventsPerBatch(1e6, SHAPE, 400)).toBeGreaterThan(1);
  expect(evenEventsPerBatch(1e8, SHAPE, 400)).toBe(10);
  expect(evenEventsPerBatch(1e8, { ...SHAPE, channels: 10 }, 400)).toBeLessThan(10);
});

it('says when one webhook cannot take the rate, and how many channels would', () => {
  expect(estimate(1e6, SHAPE, MEASURED).warnings).toEqual([]);
  expect(estimate(1e8, SHAPE, MEASURED).warnings).toEqual([expect.stringMatching(/exceeds what one webhook takes \(25 events\/s.*at least 2 channels/)]);
});

it('prices the two alternatives per event', () => {
  const [lambdaUrl, apiDestinations] = alternatives(1e6, MEASURED);
  expect(apiDestinations.usd).toBeCloseTo(1 + 0.2 + 0.4, 6);
  expect(lambdaUrl.usd).toBeGreaterThan(0.2 + 0.4);
  expect(lambdaUrl.tradeOffs).toMatch(/no dedupe/);
});

it('every price and free allowance names its source and the date it was taken', () => {
  expect(PRICES_TAKEN).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  for (const [name, price] of Object.entries({ ...PRICES, ...FREE_TIER })) expect({ name, source: price.source }).toEqual({ name, source: expect.stringMatching(/^https:\/\/aws\.amazon\.com\//) });
});

it('reads the shape from the synthesized example config', () => {
  // The example config's monitoring is the default: the four essential alarms, no dashboard.
  expect(stackShape('config/relay.config.ts')).toEqual({ ...SHAPE, copiesPerEvent: 1, alarms: 4, dashboards: 0, discordApp: { interactionsMemoryMb: 256, tokenSecret: false } });
  // The Slack example sends joins and leaves to two channels, moves to one.
  expect(stackShape('examples/slack.config.ts')).toMatchObject({ channels: 2, copiesPerEvent: 5 / 3 });
});

it('an event sent to two channels costs a lane message, a batch share, a delivered mark and a read per channel, one claim', () => {
  const one = estimate(1e6, SHAPE, MEASURED, { eventsPerBatch: 1 });
  const two = estimate(1e6, { ...SHAPE, channels: 2, copiesPerEvent: 2 }, MEASURED, { eventsPerBatch: 1 });
  const line = (e: typeof one, item: string) => e.lines.find((l) => l.item === item)!.usd;
  expect(line(two, 'Delivery workflow (Express)')).toBeCloseTo(2 * line(one, 'Delivery workflow (Express)'), 9);
  expect(line(two, 'Webhook proxy API')).toBeCloseTo(2 * line(one, 'Webhook proxy API'), 9);
  expect(line(two, 'Relay workflow (Express)')).toBeCloseTo(line(one, 'Relay workflow (Express)'), 9);
  // 3 writes + 2 reads against 2 writes + 1 read.
  expect(line(two, 'Dedupe table (DynamoDB)') / line(one, 'Dedupe table (DynamoDB)')).toBeCloseTo((3 * 1.25 + 2 * 0.25) / (2 * 1.25 + 0.25), 6);
});

it('within the always-free tier: each service pays only what is above its allowance, and Express, Pipes, DynamoDB and secrets stay list price', () => {
  const list = estimate(10_000, SHAPE, MEASURED);
  const free = estimate(10_000, SHAPE, MEASURED, { freeTier: true });
  // 10k events stay inside Lambda's, SQS's, Logs' and data-out allowances, and 12 alarms are 2 over the free 10.
  for (const item of ['Verify (Lambda)', 'Coalesce + Pace (Lambda)', 'Lane (SQS FIFO)', 'Access logs (CloudWatch Logs)', 'Data out to Discord', 'Dashboard']) expect(line(free, item)).toBe(0);
  expect(line(free, 'Alarms')).toBeCloseTo(2 * 0.1, 6);
  for (const item of ['Relay workflow (Express)', 'Lane pipe (EventBridge Pipes)', 'Dedupe table (DynamoDB)', 'Heartbeats (DynamoDB)', 'Webhook secrets', 'Ingest API']) expect(line(free, item)).toBe(line(list, item));
  // Above an allowance only the excess is billed: 3M Lambda requests with 1M free pay two thirds.
  const big = estimate(1e8, SHAPE, MEASURED, { freeTier: true });
  expect(line(big, 'Verify (Lambda)')).toBeLessThan(line(estimate(1e8, SHAPE, MEASURED), 'Verify (Lambda)'));
  expect(line(big, 'Verify (Lambda)')).toBeGreaterThan(0);
});
