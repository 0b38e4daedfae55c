/**
 * The checks that go through the relay: who is asking, where the relay is, whether its ingest
 * accepts this identity and a signed probe, and (with `--post`) whether a test message reaches
 * Discord. Each turns an answer into findings, naming the hop that failed.
 */
import { RelayErrorCode } from '../contracts/errors';
import { ClaimState, RelayOutcome } from '../contracts/lane';
import { LocalRelayPath, webhookVariableFor } from '../contracts/local-relay';
import { describeSkew, explainDeadLetter, explainForbidden, explainIngestFailure, explainRejection, summarise, type ExplainContext } from './explain';
import type { RelayInspector, RelayLocation } from './inspector';
import type { ProbeAnswer } from './probe';
import { REGISTER } from './register';
import { fail, pass, skip, warn, type Finding } from './results';

/** A clock this far off still works, but is worth saying (the window is ±300 s by default). */
const SKEW_WARNING_SECONDS = 60;

export function relayFinding(location: RelayLocation): Finding {
  return location.warning ? warn(location.detail, location.warning.cause, location.warning.fix, REGISTER.StackOutputs) : pass(location.detail);
}

/** What the probe's HTTP answer says of the ingest's IAM auth, and of the probe itself. */
export function probeFindings(answer: ProbeAnswer, ctx: ExplainContext, keyProblem?: KeyProblem): { auth: Finding; heartbeat: Finding } {
  const blocked = (why: string) => skip(`not run: ${why}`);
  if (answer.status === undefined) return { auth: explainIngestFailure(undefined, '', answer.network, ctx), heartbeat: blocked('the ingest did not answer') };
  if (answer.status === 403) return { auth: explainForbidden(summarise(answer.text), ctx, answer.skewSeconds), heartbeat: blocked('the ingest refused the request') };
  if (answer.status === 404 || answer.status === 429) return { auth: explainIngestFailure(answer.status, answer.text, undefined, ctx), heartbeat: blocked('the ingest refused the request') };
  const auth = pass(`SigV4 accepted${ctx.kind === 'aws' && ctx.principal ? ` for ${ctx.principal}` : ''} (POST /events/sync, ${answer.ms} ms)`);
  if (answer.status !== 200) return { auth, heartbeat: explainIngestFailure(answer.status, answer.text, undefined, ctx) };
  return { auth, heartbeat: heartbeatFinding(answer, ctx, keyProblem) };
}

/** Why the forwarder's key could not be used: the probe went out under a throwaway key instead. */
export interface KeyProblem {
  readonly detail: string;
  readonly fix: string;
  /** A key was named but cannot be used (a file others can read, not a key): a failure. None given is a warning. */
  readonly unusable?: boolean;
}

function heartbeatFinding(answer: ProbeAnswer, ctx: ExplainContext, keyProblem?: KeyProblem): Finding {
  const sync = answer.sync;
  if (sync && keyProblem) {
    // A throwaway key answered Relay.UnknownKey: ingest, integration role, workflow and Verify all work; only the key is unproven.
    if (!keyProblem.unusable && sync.error !== RelayErrorCode.UnknownKey) return syncFailure(answer, ctx) ?? fail(`answered ${JSON.stringify(sync.output)}`, 'the relay accepted a throwaway key', 'report it: a relay must refuse keys it does not list');
    const found = `${keyProblem.detail}; the relay workflow did run (it answered ${sync.error ?? sync.status} to a throwaway key)`;
    const why = 'relay doctor signs its probe as your forwarder does, with a key id and private key the relay knows';
    return keyProblem.unusable ? fail(found, why, keyProblem.fix) : warn(found, `${why}: yours was not checked`, keyProblem.fix);
  }
  const refused = syncFailure(answer, ctx);
  if (refused) return refused;
  const outcome = sync?.output?.outcome;
  const clock = `clock ${describeSkew(answer.skewSeconds)}`;
  if (outcome === RelayOutcome.Recorded) {
    return warn(`verified with key "${ctx.kid}"; ${clock}`, 'this relay predates probes: it counted the probe as a forwarder heartbeat (which can hide a stopped forwarder for a while)', 'deploy this version (npx cdk deploy)');
  }
  if (outcome !== RelayOutcome.Checked) return fail(`answered ${JSON.stringify(sync?.output)}`, 'the relay answered a probe as something else', 'deploy this version (npx cdk deploy)');
  const said = `verified with key "${ctx.kid}" and answered in ${answer.ms} ms; ${clock}`;
  if (answer.skewSeconds !== undefined && Math.abs(answer.skewSeconds) > SKEW_WARNING_SECONDS) {
    return warn(said, 'a clock this far off gets envelopes refused as Relay.Stale once it passes the freshness window', 'set the clock from NTP (timedatectl set-ntp true)');
  }
  return pass(said);
}

/** A 200 from /events/sync whose execution did not succeed: not an ingest answer, refused by the relay, or unfinished. */
function syncFailure(answer: ProbeAnswer, ctx: ExplainContext): Finding | undefined {
  const sync = answer.sync;
  if (!sync) return fail(`unexpected answer: ${answer.text.slice(0, 120)}`, 'the URL answers, but not as a relay ingest does', 'use the stack output IngestUrl');
  if (sync.status === 'FAILED') return explainRejection(sync.error, sync.cause, ctx, answer.skewSeconds);
  if (sync.status !== 'SUCCEEDED') return fail(`${sync.status}${sync.cause ? `: ${sync.cause}` : ''}`, 'the relay workflow did not finish', 'run again; the RelayExecutionsTimedOut alarm and the workflow\'s log group say more', REGISTER.SyncStart);
  return undefined;
}

/** The test message's way through: accepted, then delivered (or dead-lettered) within the deadline. */
export async function postFinding(inspector: RelayInspector, answer: ProbeAnswer, channel: string, ctx: ExplainContext, wait?: PollOptions): Promise<Finding> {
  const { auth } = probeFindings(answer, ctx);
  if (auth.status === 'fail') return auth;
  if (answer.status !== 200) return explainIngestFailure(answer.status, answer.text, undefined, ctx);
  const refused = syncFailure(answer, ctx);
  if (refused) return refused;
  const outcome = answer.sync?.output?.outcome;
  if (outcome === RelayOutcome.Ignored) return fail(`the relay has no channel "${channel}"`, 'test messages go to a channel of the config\'s channels', 'pass --post with one of the channel names in your relay config');
  if (outcome === RelayOutcome.Delivered) return pass(`#${channel}: posted (direct delivery) in ${answer.ms} ms`);
  if (outcome !== RelayOutcome.Queued) return fail(`answered ${JSON.stringify(answer.sync?.output)}`, 'the relay did not queue the test message', 'deploy this version (npx cdk deploy)');
  if (!wait) return warn(`#${channel}: queued, not followed to Discord`, 'without the stack, its delivery cannot be read', 'pass --stack <name> to follow it, or look for "Relay test" in the channel');
  return followTestMessage(inspector, answer, channel, ctx, wait);
}

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

async function followTestMessage(inspector: RelayInspector, answer: ProbeAnswer, channel: string, ctx: ExplainContext, wait: PollOptions): Promise<Finding> {
  const { id } = answer;
  // From the send: the sync answer's time, then the wait for the delivery workflow.
  const started = wait.now() - answer.ms;
  let state: string | undefined;
  while (wait.now() - started <= wait.timeoutMs) {
    const claim = await inspector.claim(id);
    state = claim?.state;
    if (state === ClaimState.Delivered) {
      const ms = wait.now() - started;
      // The local relay posts to its sink unless RELAY_WEBHOOK_<CHANNEL> or .relay/secrets.json gives a real webhook.
      const where = ctx.kind === 'local'
        ? `its webhook accepted it: the sink, ${ctx.url}${LocalRelayPath.Sink}, or the real webhook ${webhookVariableFor(channel)} or .relay/secrets.json names`
        : 'Discord accepted the message; look for "Relay test" in the channel';
      return pass(`#${channel}: delivered in ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`} (${where})`);
    }
    const dead = (await inspector.deadLetters())?.sample.find((d) => d.id === id);
    if (dead) {
      const { cause, fix, register } = explainDeadLetter(dead.error, dead.reason, channel, ctx);
      return fail(`#${channel}: dead-lettered just now: ${dead.error}`, cause, fix, register);
    }
    await wait.sleep(wait.intervalMs);
  }
  return fail(`#${channel}: not delivered within ${Math.round(wait.timeoutMs / 1000)} s (the claim is ${state ?? 'gone'})`,
    'it is still on the lane: the pipe is stopped, the delivery workflow fails, or Discord keeps rate-limiting',
    'see the pipe, lane and dead-letter checks; the delivery workflow\'s log group names the failing state');
}
