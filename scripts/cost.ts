/**
 * `npm run cost -- --events-per-month N[,N…]`: the relay's monthly AWS cost for N events, from the
 * synthesized stack (`--config <file>`, default the example config), durations measured on the
 * local relay, and the public prices in scripts/cost/prices.ts. `--events-per-batch K` models
 * bursts; `--markdown` prints README's table.
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { measureWorkflowDurations } from '../bench/local-pipeline';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../lib/config/load';
import { BATCH_ENVELOPE_VERSION, ENVELOPE_VERSION, MAX_BATCH_EVENTS, publicKeyToHex, signEnvelope } from '../lib/contracts/envelope';
import { VerifyEnv } from '../lib/contracts/env';
import { createCoalesceHandler, createPaceHandler } from '../lib/delivery/handlers';
import { RelayStack } from '../lib/infra/relay-stack';
import { NO_BUNDLING, cdkJsonContext } from '../lib/project-files';
import { createHandler } from '../lib/verify/handler';
import { ASSUMPTIONS, alternatives, estimate, type Measured, type StackShape } from './cost/model';
import { PRICES, PRICES_REGION, PRICES_TAKEN } from './cost/prices';

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

/** What costs money in the stack the config synthesizes. */
export function stackShape(configPath: string): StackShape {
  const config = loadRelayConfigFile(configPath);
  const app = new App({ context: { ...cdkJsonContext(), ...NO_BUNDLING } });
  const stack = new RelayStack(app, config.stackName, { config, env: { account: '123456789012', region: PRICES_REGION } });
  const resources = (app.synth().getStackArtifact(stack.artifactId).template as { Resources: Resources }).Resources;
  const count = (type: string) => Object.values(resources).filter((r) => r.Type === type).length;
  const pipe = Object.values(resources).find((r) => r.Type === 'AWS::Pipes::Pipe');
  if (!stack.lanes || !pipe) throw new Error('the cost model covers the lanes design (the default); this config has none');
  const fnByPrefix = (prefix: string) => {
    const [id] = Object.entries(resources).find(([key, r]) => r.Type === 'AWS::Lambda::Function' && key.startsWith(prefix)) ?? [];
    if (!id) throw new Error(`no ${prefix} function in the template`);
    return resources[id].Properties!.MemorySize as number;
  };
  return {
    functionMemoryMb: { verify: fnByPrefix('VerifyFunction'), coalesce: fnByPrefix('CoalesceFunction'), pace: fnByPrefix('PaceFunction') },
    channels: Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration' && r.Properties?.IntegrationType === 'HTTP_PROXY').length,
    copiesPerEvent: config.routes.length / new Set(config.routes.map((r) => r.event)).size,
    batchSize: pipe.Properties!.SourceParameters.SqsQueueParameters.BatchSize as number,
    alarms: count('AWS::CloudWatch::Alarm'),
    dashboards: count('AWS::CloudWatch::Dashboard'),
    // Alarms on metrics outside AWS's own namespaces are the custom metrics the stack pays for.
    customMetrics: new Set(Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && !String(r.Properties?.Namespace ?? 'AWS/').startsWith('AWS/')).map((r) => `${r.Properties!.Namespace}/${r.Properties!.MetricName}`)).size,
    dedupeRetentionHours: stack.lanes.dedupe.retention.toHours(),
    ...(stack.discordApp ? { discordApp: { interactionsMemoryMb: fnByPrefix('InteractionsFunction'), tokenSecret: stack.discordApp.commands !== undefined } } : {}),
  };
}

/** p50 time of one call, in ms. */
async function timeCalls(calls: number, f: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await f(i);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(calls / 2)];
}

/** The handlers as Lambda runs them, and the workflows as the local relay runs them. */
export async function measure(): Promise<Measured> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const guild = '123456789012345678';
  const verify = createHandler({ [VerifyEnv.PublicKeys]: JSON.stringify({ cost: publicKeyToHex(publicKey) }), [VerifyEnv.AllowedGuildIds]: guild }, () => undefined);
  const payload = JSON.stringify({ type: 'VOICE_STATE_UPDATE', guild: { id: guild, name: 'Guild' }, user: { id: '444444444444444444', name: 'alice', display_name: 'Alice', bot: false }, before: null, after: { channel_id: '222222222222222222', channel_name: 'General' }, at: new Date().toISOString() });
  const verifyMs = await timeCalls(500, (i) => verify(signEnvelope({ v: ENVELOPE_VERSION, id: `cost-${i}`, kid: 'cost', ts: Math.floor(Date.now() / 1000), payload }, privateKey)));
  const batchPayload = JSON.stringify(Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ({ id: `cost-e${i}`, event: JSON.parse(payload) as unknown })));
  const verifyBatchMs = await timeCalls(200, (i) => verify(signEnvelope({ v: BATCH_ENVELOPE_VERSION, id: `cost-b${i}`, kid: 'cost', ts: Math.floor(Date.now() / 1000), payload: batchPayload }, privateKey)));
  const coalesce = createCoalesceHandler();
  const batch = Array.from({ length: 10 }, (_, i) => ({ event: { id: `e${i}`, kind: 'voice.join', channel: 'general', line: `🔊 **User ${i}** joined General`, receivedAt: 1 } }));
  const coalesceMs = await timeCalls(500, () => coalesce({ batch }));
  const pace = createPaceHandler();
  const paceMs = await timeCalls(500, () => pace({ answer: { status: 200, headers: { 'x-ratelimit-remaining': ['4'], 'x-ratelimit-reset-after': ['0.4'] } } }));
  const workflows = await measureWorkflowDurations(30);
  return { relayExecutionMs: workflows.relayMs, deliveryExecutionMs: workflows.deliveryMs, verifyMs, verifyBatchMs, coalesceMs, paceMs };
}

const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(3)}`);
const events = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

function printEstimate(n: number, shape: StackShape, measured: Measured, eventsPerBatch?: number, eventsPerEnvelope?: number): void {
  const e = estimate(n, shape, measured, { eventsPerBatch, eventsPerEnvelope });
  const how = (given: number | undefined) => (given ? 'as given' : 'spread evenly');
  console.log(`\n${events(n)} events/month — ${e.eventsPerEnvelope.toFixed(1)} events per envelope (${how(eventsPerEnvelope)}), ${e.eventsPerBatch.toFixed(1)} per delivery batch (${how(eventsPerBatch)})`);
  for (const line of e.lines) console.log(`  ${line.item.padEnd(32)} ${usd(line.usd).padStart(9)}   ${line.basis}`);
  console.log(`  ${'Total'.padEnd(32)} ${usd(e.totalUsd).padStart(9)}   (of which fixed: ${usd(e.fixedUsd)})`);
  const free = estimate(n, shape, measured, { eventsPerBatch, eventsPerEnvelope, freeTier: true });
  console.log(`  ${'Total within the always-free tier'.padEnd(32)} ${usd(free.totalUsd).padStart(9)}   (CloudWatch, Lambda, SQS, logs and data out allowances; scripts/cost/prices.ts FREE_TIER)`);
  for (const w of e.warnings) console.log(`  ! ${w}`);
  for (const alt of alternatives(n, measured)) console.log(`  instead: ${alt.name}: ${usd(alt.usd)} — ${alt.tradeOffs}`);
}

function printMarkdown(volumes: number[], shape: StackShape, measured: Measured): void {
  console.log(`| Events / month | Relay, events spread evenly | Relay, bursts (${MAX_BATCH_EVENTS} per envelope, ${shape.batchSize} per batch) | Relay, spread evenly, always-free tier | One Lambda + function URL | EventBridge → API destination |`);
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of volumes) {
    const even = estimate(n, shape, measured);
    const burst = estimate(n, shape, measured, { eventsPerBatch: shape.batchSize, eventsPerEnvelope: MAX_BATCH_EVENTS });
    const free = estimate(n, shape, measured, { freeTier: true });
    const [lambdaUrl, apiDest] = alternatives(n, measured);
    console.log(`| ${events(n)} | ${usd(even.totalUsd)} (${even.eventsPerBatch.toFixed(1)}/batch) | ${usd(burst.totalUsd)} | ${usd(free.totalUsd)} | ${usd(lambdaUrl.usd)} | ${usd(apiDest.usd)} |`);
  }
}

const USAGE = `usage: npm run cost -- --events-per-month <n>[,<n>…] [--events-per-envelope <1-10>] [--events-per-batch <1-10>] [--config <file>] [--markdown]

Prints the monthly bill of the relay your config synthesizes, line by line, at AWS list prices
(scripts/cost/prices.ts, each with its source): the stack's shape read from the template, the
workflows and handlers timed on the local relay on this machine.
  --events-per-month <n>[,<n>…]  one estimate per volume (e.g. 10000,1000000)
  --events-per-envelope <1-10>   events per signed envelope the forwarder sends (default: spread evenly;
                                 a burst or a spool after an outage fills them)
  --events-per-batch <1-10>      events per delivery batch (default: spread evenly over the month)
  --config <file>                relay config (default config/relay.config.ts)
  --markdown                     one Markdown table row per volume (list prices, bursts, the always-free tier), next to two alternatives`;

function options(): { volumes: number[]; batch?: number; envelope?: number; config?: string; markdown?: boolean } {
  let values;
  try {
    ({ values } = parseArgs({ options: { 'events-per-month': { type: 'string' }, 'events-per-batch': { type: 'string' }, 'events-per-envelope': { type: 'string' }, config: { type: 'string' }, markdown: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const given = values['events-per-month'];
  const volumes = (given ?? '').split(',').filter(Boolean).map(Number);
  const problem = given === undefined ? '--events-per-month is required (e.g. --events-per-month 10000,1000000)'
    : volumes.length === 0 || volumes.some((v) => !Number.isSafeInteger(v) || v < 0) ? `--events-per-month takes whole numbers ≥ 0, comma-separated (got "${given}")`
    : undefined;
  if (problem) {
    // No arguments at all is a request for the usage; anything else is named first.
    console.error(process.argv.length > 2 ? `cost: ${problem}\n\n${USAGE}` : USAGE);
    process.exit(2);
  }
  const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return { volumes, batch: number(values['events-per-batch']), envelope: number(values['events-per-envelope']), config: values.config, markdown: values.markdown };
}

/** The stack's shape in words, for the report's head. */
function describeShape(shape: StackShape): string {
  const memory = Object.entries(shape.functionMemoryMb).map(([fn, mb]) => `${fn} ${mb} MB`).join(', ');
  return `${shape.channels} channel${shape.channels === 1 ? '' : 's'}, batches of up to ${shape.batchSize}, functions ${memory}, ${shape.alarms} alarms, ${shape.dashboards} dashboard${shape.dashboards === 1 ? '' : 's'}, ${shape.customMetrics} custom metric${shape.customMetrics === 1 ? '' : 's'}, ids remembered ${shape.dedupeRetentionHours} h`;
}

async function main(): Promise<void> {
  const { volumes, batch, envelope, config, markdown } = options();
  const shape = stackShape(config ?? DEFAULT_CONFIG_PATH);
  if (batch !== undefined && !(batch >= 1 && batch <= shape.batchSize)) {
    console.error(`cost: --events-per-batch must be from 1 to the pipe's batch size (${shape.batchSize}), got "${batch}"`);
    process.exit(2);
  }
  if (envelope !== undefined && !(Number.isInteger(envelope) && envelope >= 1 && envelope <= MAX_BATCH_EVENTS)) {
    console.error(`cost: --events-per-envelope must be a whole number from 1 to ${MAX_BATCH_EVENTS}, got "${envelope}"`);
    process.exit(2);
  }
  console.error('measuring on the local relay…');
  const measured = await measure();
  console.log(`Prices: AWS list prices, ${PRICES_REGION}, taken ${PRICES_TAKEN} (scripts/cost/prices.ts: ${Object.keys(PRICES).length} prices, each with its source); totals without any free tier, and within the always-free tier.`);
  console.log(`Stack: ${describeShape(shape)}.`);
  console.log(`Measured (p50, local relay, this machine): relay execution ${measured.relayExecutionMs.toFixed(1)} ms, delivery ${measured.deliveryExecutionMs.toFixed(1)} ms; Verify ${measured.verifyMs.toFixed(3)} ms (a batch of ${MAX_BATCH_EVENTS}: ${(measured.verifyBatchMs ?? measured.verifyMs).toFixed(3)} ms), Coalesce ${measured.coalesceMs.toFixed(3)} ms, Pace ${measured.paceMs.toFixed(3)} ms per call.`);
  const a = ASSUMPTIONS;
  console.log(`Assumed (scripts/cost/model.ts): AWS adds ${a.lambdaInvokeMs} ms per Lambda invoke, ${a.dynamoDbMs} ms per DynamoDB call, ${a.sqsMs} ms per SQS call; Discord answers in ${a.discordPostMs} ms; Lambda runs ${a.lambdaSlowdown}× slower than this machine; one forwarder, a heartbeat every 5 minutes, ${a.forwarderSendMs} ms per send (what arrives meanwhile shares the next envelope), ${a.mapIterationMs} ms per further event of an envelope.`);
  if (markdown) printMarkdown(volumes, shape, measured);
  else for (const n of volumes) printEstimate(n, shape, measured, batch, envelope);
}

if (require.main === module) {
  main().catch((error) => {
    // A config that does not load or build is said in one line, as relay local says it.
    console.error(`cost: ${(error as Error).message ?? String(error)}`);
    process.exit(1);
  });
}
