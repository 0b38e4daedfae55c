/**
 * `relay doctor`: checks a relay hop by hop — credentials, the stack (or local relay), the
 * ingest's IAM auth, a signed probe through the relay workflow, the lane pipe, the lane, the dead
 * letters, the alarms, the forwarders' heartbeats and, with `post`, a test message all the way to
 * Discord — and says for each what it found and, when it is wrong, why and what to do.
 */
import type { KeyObject } from 'node:crypto';
import { postFinding, probeFindings, relayFinding, type KeyProblem } from './checks-access';
import { interactionsFinding } from './checks-interactions';
import { alarmFinding, deadLetterFinding, forwarderFinding, laneFinding, pipeFinding } from './checks-state';
import { explainAwsError, type ExplainContext } from './explain';
import { RelayNotFound, type RelayInspector, type RelayLocation } from './inspector';
import { Prober } from './probe';
import { CheckId, fail, pass, report, skip, type CheckResult, type DoctorReport, type Finding } from './results';

export interface DoctorKey {
  readonly kid: string;
  readonly keyFile: string;
  readonly privateKey: KeyObject;
  /** As forwarderKeys holds it (64 hex). */
  readonly publicKeyHex: string;
}

export interface DoctorOptions {
  readonly inspector: RelayInspector;
  /** The forwarder's signing key. @default - none: the probe proves the way in, and the key check fails */
  readonly key?: DoctorKey;
  /** Why there is no key (a file others can read, a missing id): the probe check says it. */
  readonly keyProblem?: KeyProblem;
  /** Also post one labelled test message to this channel and follow it to Discord. */
  readonly post?: string;
  /** Names the probe in the relay (the heartbeat's `forwarder`, the test message's `from`). @default 'relay-doctor' */
  readonly name?: string;
  /** How long a test message may take to be delivered. @default 60000 */
  readonly postTimeoutMs?: number;
  /** @default 1000 */
  readonly pollIntervalMs?: number;
  /** Checks to leave out (reported as skipped). */
  readonly skip?: readonly CheckId[];
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const CHECK_TITLES: Record<CheckId, string> = {
  [CheckId.Credentials]: 'credentials and region',
  [CheckId.Relay]: 'relay found',
  [CheckId.IngestAuth]: 'ingest accepts SigV4',
  [CheckId.Probe]: 'signed probe',
  [CheckId.Pipe]: 'lane pipe',
  [CheckId.Lane]: 'lane',
  [CheckId.DeadLetters]: 'dead letters',
  [CheckId.Alarms]: 'alarms',
  [CheckId.ForwarderHeartbeat]: 'forwarder heartbeat',
  [CheckId.Interactions]: 'interactions endpoint',
  [CheckId.Post]: 'test message',
};

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const now = o.now ?? Date.now;
  const results: CheckResult[] = [];
  let ctx: ExplainContext = { kind: 'aws', outputs: {}, url: '', kid: o.key?.kid, keyFile: o.key?.keyFile, publicKeyHex: o.key?.publicKeyHex };
  const step = async (id: CheckId, action: string, run: () => Finding | Promise<Finding>): Promise<Finding> => {
    const started = now();
    let finding: Finding;
    if (o.skip?.includes(id)) finding = skip('left out (--skip)');
    else {
      try {
        finding = await run();
      } catch (error) {
        finding = error instanceof RelayNotFound ? fail(error.message, error.likelyCause, error.fix) : explainAwsError(error, action, ctx);
      }
    }
    results.push({ id, title: CHECK_TITLES[id], ...finding, ms: now() - started });
    return finding;
  };
  const skipRest = (why: string, from: CheckId) => {
    const ids = Object.values(CheckId);
    for (const id of ids.slice(ids.indexOf(from))) if ((id !== CheckId.Post || o.post) && id !== CheckId.Interactions) results.push({ id, title: CHECK_TITLES[id], ...skip(`not run: ${why}`) });
  };
  const finish = () => report(o.inspector.target, results);

  let principal: string | undefined;
  const identity = await step(CheckId.Credentials, 'sts:GetCallerIdentity', async () => {
    const who = await o.inspector.identity();
    principal = who.principal;
    return pass(`${who.principal}, region ${who.region}`);
  });
  if (identity.status === 'fail') return (skipRest('the credentials and region check failed', CheckId.Relay), finish());
  ctx = { ...ctx, principal };

  let location: RelayLocation | undefined;
  await step(CheckId.Relay, 'cloudformation:DescribeStacks', async () => {
    location = await o.inspector.locate();
    return relayFinding(location);
  });
  if (!location) return (skipRest('the relay was not found', CheckId.IngestAuth), finish());
  const found: RelayLocation = location;
  ctx = { ...ctx, kind: found.kind, outputs: found.outputs, url: found.ingestUrl };
  const probe = await checkThroughRelay(o, found, ctx, step);
  await checkState(o, found, ctx, step, now);
  // Listed only for a relay with the Discord app, as the test message is only with --post.
  if (found.interactionsUrl) await step(CheckId.Interactions, 'POST /interactions', () => interactionsFinding(found.interactionsUrl, now));
  const channel = o.post;
  if (channel) {
    const follow = found.readsState ? poll(o, now) : undefined;
    if (probe.ok) await step(CheckId.Post, 'POST /events/sync', async () => postFinding(o.inspector, await probe.prober.testMessage(channel, o.name ?? 'relay-doctor'), channel, ctx, follow));
    else results.push({ id: CheckId.Post, title: CHECK_TITLES[CheckId.Post], ...skip('not run: needs a signed probe the relay accepts') });
  }
  return finish();
}

const NO_KEY: KeyProblem = {
  detail: 'no signing key was given',
  fix: 'pass --kid <id> --key-file <file> (or set RELAY_KID and RELAY_KEY_FILE): the forwarder\'s own',
};

type Step = (id: CheckId, action: string, run: () => Finding | Promise<Finding>) => Promise<Finding>;

/** ingest-auth and heartbeat: one signed probe, two findings. */
async function checkThroughRelay(o: DoctorOptions, location: RelayLocation, ctx: ExplainContext, step: Step): Promise<{ ok: boolean; prober: Prober }> {
  const prober = new Prober({ url: location.ingestUrl, region: location.region, credentials: o.inspector.credentials, key: o.key });
  let findings: ReturnType<typeof probeFindings> | undefined;
  await step(CheckId.IngestAuth, 'POST /events/sync', async () => {
    findings = probeFindings(await prober.heartbeat(o.name ?? 'relay-doctor'), ctx, o.key ? undefined : o.keyProblem ?? NO_KEY);
    return findings.auth;
  });
  const heartbeat = await step(CheckId.Probe, 'POST /events/sync', () => findings?.heartbeat ?? skip('not run: the ingest check did not finish'));
  return { ok: heartbeat.status === 'pass' || heartbeat.status === 'warn', prober };
}

/** pipe, lane, dead letters, alarms, forwarder: reads of the relay's state. */
async function checkState(o: DoctorOptions, location: RelayLocation, ctx: ExplainContext, step: Step, now: () => number): Promise<void> {
  const i = o.inspector;
  if (!location.readsState) {
    for (const id of [CheckId.Pipe, CheckId.Lane, CheckId.DeadLetters, CheckId.Alarms, CheckId.ForwarderHeartbeat]) {
      await step(id, '', () => skip('not run: pass --stack <name> (with the OperatorPolicyArn policy) to read the pipe, lanes, alarms and heartbeats'));
    }
    return;
  }
  const noLanes = () => skip('direct delivery: the relay has no lanes');
  await step(CheckId.Pipe, 'pipes:DescribePipe', async () => {
    const pipe = location.lanes ? await i.pipe() : undefined;
    return pipe ? pipeFinding(pipe, ctx) : noLanes();
  });
  await step(CheckId.Lane, 'sqs:GetQueueAttributes', async () => {
    const lane = location.lanes ? await i.lane() : undefined;
    return lane ? laneFinding(lane) : noLanes();
  });
  await step(CheckId.DeadLetters, 'sqs:ReceiveMessage', async () => {
    const dead = location.lanes ? await i.deadLetters() : undefined;
    return dead ? deadLetterFinding(dead, ctx) : noLanes();
  });
  await step(CheckId.Alarms, 'cloudwatch:DescribeAlarms', async () => {
    const alarms = await i.alarms();
    return alarms ? alarmFinding(alarms) : pass('none: the local relay raises no CloudWatch alarms (a deployed one has four by default, twelve with monitoring.level \'full\': README "Alarms and dashboard")');
  });
  await step(CheckId.ForwarderHeartbeat, 'cloudwatch:GetMetricData', async () => forwarderFinding(await i.heartbeats(), now(), ctx));
}

function poll(o: DoctorOptions, now: () => number) {
  return { timeoutMs: o.postTimeoutMs ?? 60_000, intervalMs: o.pollIntervalMs ?? 1000, now, sleep: o.sleep ?? ((ms: number) => new Promise<void>((ok) => setTimeout(ok, ms))) };
}
