/**
 * `npm run bench`: the numbers behind docs/architecture.md §5, measured on this machine, printed as a table.
 * Not a test: nothing here fails the build. Each row with a target says ✓ (met) or ✗ (missed), and
 * the last line names the missed ones.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { signRequest } from '../lib/client/sigv4';
import { benchForwarder } from './forwarder';
import { benchInteractions } from './interactions';
import { benchBurst, benchCardBurst, benchIdleLatency, benchThroughput, type BurstFigures } from './local-pipeline';
import { ENVELOPE_VERSION, publicKeyToHex, signEnvelope, signingString, verifyEnvelopeSignature, type Envelope } from '../lib/contracts/envelope';

const root = join(__dirname, '..');
const rows: Array<[string, string, string, string]> = [];
/** One row: `met` is whether the target was reached (undefined for a reference figure). */
const report = (name: string, value: string, target: string, met?: boolean) => rows.push([met === undefined ? ' ' : met ? '✓' : '✗', name, value, target]);

function microsPerOp(n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 200); i++) f(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

function benchVerify(): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const naclPublicKey = Buffer.from(publicKeyToHex(publicKey), 'hex');
  const payload = JSON.stringify({ type: 'VOICE_STATE_UPDATE', guild: { id: '111111111111111111', name: 'Guild' }, user: { id: '444444444444444444', name: 'alice', display_name: 'Alice', bot: false }, before: null, after: { channel_id: '222222222222222222', channel_name: 'General' }, at: new Date().toISOString() });
  const envelopes: Envelope[] = Array.from({ length: 256 }, (_, i) =>
    signEnvelope({ v: ENVELOPE_VERSION, id: `bench-${i}`, kid: 'bench', ts: 1763700000 + i, payload }, privateKey),
  );
  let ok = 0;
  const node = microsPerOp(20000, (i) => { ok += verifyEnvelopeSignature(envelopes[i % 256], publicKey) ? 1 : 0; });
  // The floor: OpenSSL's own verify of the same bytes, without our envelope handling.
  const rawKeyMessages = envelopes.map((e) => Buffer.from(signingString(e), 'utf8'));
  const rawSigs = envelopes.map((e) => Buffer.from(e.sig, 'hex'));
  const raw = microsPerOp(20000, (i) => { ok += verify(null, rawKeyMessages[i % 256], publicKey, rawSigs[i % 256]) ? 1 : 0; });
  const tweet = microsPerOp(300, (i) => { ok += nacl.sign.detached.verify(rawKeyMessages[i % 256], rawSigs[i % 256], naclPublicKey) ? 1 : 0; });
  if (ok !== 2 * (20000 + 200) + 300 + 200) throw new Error(`verification failed during the benchmark (${ok})`);
  report('Ed25519 verify, node:crypto (verifyEnvelopeSignature)', `${node.toFixed(1)} µs/event`, '≤ 100 µs', node <= 100);
  report('  of which crypto.verify alone (the floor)', `${raw.toFixed(1)} µs/event`, 'reference');
  report('Ed25519 verify, tweetnacl (same run)', `${tweet.toFixed(1)} µs/event (${(tweet / node).toFixed(0)}× slower)`, 'reference');
}

/** What a client pays per event before the network: Ed25519 envelope signature + SigV4 request signature. */
async function benchClientSigning(): Promise<void> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const url = new URL('https://abc123def4.execute-api.eu-west-1.amazonaws.com/events');
  const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'x'.repeat(400) };
  const payload = JSON.stringify({ type: 'VOICE_STATE_UPDATE', guild: { id: '111111111111111111', name: 'Guild' } });
  const once = async (i: number) => {
    const body = JSON.stringify(signEnvelope({ v: ENVELOPE_VERSION, id: `bench-${i}`, kid: 'bench', ts: 1763700000, payload }, privateKey));
    await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: 'eu-west-1', credentials });
  };
  for (let i = 0; i < 200; i++) await once(i);
  const n = 3000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once(i);
  const micros = Number(process.hrtime.bigint() - start) / 1000 / n;
  report('client signing per event (Ed25519 + SigV4)', `${(micros / 1000).toFixed(3)} ms/event`, '≤ 0.5 ms', micros <= 500);
}

function benchSynth(): void {
  const out = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  try {
    const cdk = join(root, 'node_modules', '.bin', 'cdk');
    const start = process.hrtime.bigint();
    execFileSync(cdk, ['synth', '--quiet', '--output', out], { cwd: root, stdio: 'pipe' });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    report('cdk synth (wall, includes bundling)', `${seconds.toFixed(2)} s`, '≤ 10 s', seconds <= 10);
    // The Verify function's own asset, by the hash in its S3Key (Coalesce and Pace bundles carry the same contract strings).
    const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json'));
    const resources = Object.entries((JSON.parse(readFileSync(join(out, templateFile ?? ''), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> }).Resources);
    const s3Key = resources.find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('VerifyFunction'))?.[1].Properties.Code?.S3Key;
    const bundle = s3Key && join(out, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.js');
    if (!bundle) throw new Error('Verify bundle not found in the cloud assembly');
    report('Verify Lambda bundle (minified index.js)', `${statSync(bundle).size} bytes`, '≤ 10240 bytes', statSync(bundle).size <= 10240);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function printReport(): void {
  const header = [' ', 'measure', 'result', 'target'];
  const width = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), header[c].length));
  const line = (r: string[]) => r.map((v, i) => v.padEnd(width[i])).join('  ').trimEnd();
  console.log(`Discord Event Relay bench — Node ${process.version}, ${new Date().toISOString()}`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  // An indented row belongs to the unindented one above it: a missed one is named with it.
  const named = rows.map((r, i) => (r[1].startsWith(' ') ? `${rows.slice(0, i).reverse().find((p) => !p[1].startsWith(' '))?.[1] ?? ''}: ${r[1].trim()}` : r[1]));
  const targets = rows.map((r, i) => ({ mark: r[0], name: named[i] })).filter((r) => r.mark !== ' ');
  const missed = targets.filter((r) => r.mark === '✗').map((r) => r.name);
  console.log(`${targets.length - missed.length} of ${targets.length} targets met${missed.length ? `; missed: ${missed.join('; ')}` : ''}`);
}

async function benchLocalPipeline(): Promise<void> {
  for (const design of ['lanes', 'direct'] as const) {
    const t = await benchThroughput(3000, 8, design);
    report(`local pipeline (${design}), sink limits off (sync, 8 in flight)`, `${t.eventsPerSecond.toFixed(0)} events/s`, '≥ 1000 events/s', t.eventsPerSecond >= 1000);
    report('  latency p50 / p99', `${t.p50Ms.toFixed(1)} / ${t.p99Ms.toFixed(1)} ms`, 'p99 ≤ 25 ms', t.p99Ms <= 25);
    report('  events / not accepted', `${t.events} / ${t.failures}`, '0', t.failures === 0);
  }
  const idle = await benchIdleLatency();
  report('one event through an idle lane, send → sink', `p50 ${idle.p50Ms.toFixed(1)} / p99 ${idle.p99Ms.toFixed(1)} ms (${idle.events} events)`, 'reference');
  for (const b of [await benchBurst('lanes'), await benchBurst('direct')]) reportBurst(b);
  const c = await benchCardBurst();
  report(`burst of ${c.sent} joins to one channel, 5 req/2 s — card mode`, `${c.created} card${c.created === 1 ? '' : 's'} created, ${c.edits} edits, ${c.rateLimited} × 429`, '1 card, ≤ 10 × 429', c.created === 1 && c.rateLimited <= 10);
  report('  drain (to the edit showing everyone) / complete', `${c.drainSeconds.toFixed(1)} s / ${c.complete ? 'yes' : 'NO'}`, 'complete', c.complete);
}

function reportBurst(b: BurstFigures): void {
  const label = b.design === 'lanes' ? 'lanes (dedupe, coalesce, paced)' : 'direct (one post per event, pre-lanes)';
  // The pre-lanes design is the comparison: its misses are the reason the lanes exist, not targets of ours.
  const ours = b.design === 'lanes';
  const row = (name: string, value: string, target: string, met: boolean) => report(name, value, ours ? target : 'comparison', ours ? met : undefined);
  const ratio = b.drainSeconds / Math.max(b.minimumSeconds, 0.001);
  row(`burst of ${b.sent} joins to one channel, 5 req/2 s — ${label}`, `${b.messages} messages, ${b.rateLimited} × 429`, '≤ 10 × 429', b.rateLimited <= 10);
  row('  events lost / doubled', `${b.lost} / ${b.doubled}`, '0 / 0', b.lost === 0 && b.doubled === 0);
  row('  drain / minimum the limit allows', `${b.drainSeconds.toFixed(1)} s / ${b.minimumSeconds.toFixed(1)} s (${ratio.toFixed(2)}×)`, '≤ 1.5×', ratio <= 1.5);
}

async function benchForwarderProcess(): Promise<void> {
  // What users run: the compiled CLI, rebuilt so it matches the source.
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const plain = await benchForwarder();
  const tuned = await benchForwarder(1000, ['--max-semi-space-size=2']);
  report('forwarder RSS once connected (node defaults)', `${plain.rssConnectedMb.toFixed(1)} MB; ${plain.rssAfterLoadMb.toFixed(1)} MB after 1000 events`, '≤ 75 MB', Math.max(plain.rssConnectedMb, plain.rssAfterLoadMb) <= 75);
  report('  with --max-semi-space-size=2 (README unit)', `${tuned.rssConnectedMb.toFixed(1)} MB; ${tuned.rssAfterLoadMb.toFixed(1)} MB after 1000 events`, 'reference');
  report('forwarder CPU per forwarded event', `${plain.cpuMsPerEvent.toFixed(2)} ms (${tuned.cpuMsPerEvent.toFixed(2)} tuned)`, 'reference');
}

async function benchDiscordApp(): Promise<void> {
  const f = await benchInteractions(root);
  report('Interactions Lambda bundle (minified index.js)', `${f.bundleBytes} bytes`, '≤ 20480 bytes', f.bundleBytes <= 20480);
  report('  command registration bundle', `${f.registerBundleBytes} bytes`, 'reference');
  report('interactions cold start (new process: load bundle, answer a PING)', `p50 ${f.coldStartMs.p50.toFixed(0)} / p99 ${f.coldStartMs.p99.toFixed(0)} ms`, 'reference');
  report('interactions warm answer, /relay commands on dynalite', `p50 ${f.warmMs.p50.toFixed(1)} / p99 ${f.warmMs.p99.toFixed(1)} ms (${f.commands} commands)`, 'reference');
  report('  cold p99 + warm p99 (what Discord waits for, before Lambda\'s own init)', `${(f.coldStartMs.p99 + f.warmMs.p99).toFixed(0)} ms`, '≤ 3000 ms', f.coldStartMs.p99 + f.warmMs.p99 <= 3000);
}

async function main(): Promise<void> {
  // `--discord-app`: only the interactions endpoint's numbers.
  if (process.argv.includes('--discord-app')) {
    await benchDiscordApp();
    return printReport();
  }
  // `--pipeline`: only the local pipeline (throughput, idle latency, the two bursts).
  if (process.argv.includes('--pipeline')) {
    await benchLocalPipeline();
    return printReport();
  }
  benchVerify();
  await benchClientSigning();
  benchSynth();
  await benchDiscordApp();
  await benchForwarderProcess();
  if (!process.argv.includes('--quick')) await benchLocalPipeline();
  printReport();
}

void main();
