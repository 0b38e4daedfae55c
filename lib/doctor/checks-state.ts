/**
 * The checks that read the relay's state (no request through it): the lane pipe, the lane, the
 * dead letters, the alarms, and the forwarders' heartbeats. Each turns what the inspector read
 * into one finding.
 */
import { AlarmName } from '../contracts/metrics';
import { explainDeadLetter, type ExplainContext } from './explain';
import type { AlarmState, DeadLetters, Heartbeats, LaneState, PipeState } from './inspector';
import { REGISTER } from './register';
import { fail, pass, warn, type Finding } from './results';

/** The lane age the LaneOldestEvent alarm fires at. */
export const LANE_AGE_LIMIT_SECONDS = 300;
/** The alarm the forwarder check reports on; the alarms check leaves it to that one. */
const HEARTBEAT_ALARM_SUFFIX = `-${AlarmName.ForwarderHeartbeatMissing}`;

export function pipeFinding(pipe: PipeState, ctx: ExplainContext): Finding {
  const said = `${pipe.name}: ${pipe.state}${pipe.desiredState && pipe.desiredState !== pipe.state ? ` (desired ${pipe.desiredState})` : ''}${pipe.reason ? `: ${pipe.reason}` : ''}`;
  if (pipe.state === 'RUNNING') return pass(said);
  if (/^(CREATING|UPDATING|STARTING)$/.test(pipe.state)) return warn(said, 'the pipe is changing state', 'run again in a minute', REGISTER.PipeState);
  if (pipe.state === 'STOPPED' || pipe.state === 'STOPPING') {
    return fail(said, pipe.reason ? 'EventBridge stopped the pipe (it does after continuous errors, e.g. its role lost a permission)' : 'the pipe was stopped: nothing leaves the lanes',
      ctx.kind === 'local' ? 'restart the local relay (npm start)' : `fix what the reason says, then: aws pipes start-pipe --name ${pipe.name}`, REGISTER.PipeState);
  }
  return fail(said, 'the pipe could not be created, started or updated: nothing leaves the lanes',
    'fix what the reason says (a pipe created before its role could read the queue fails this way), then npx cdk deploy', REGISTER.PipeStart);
}

export function laneFinding(lane: LaneState): Finding {
  if (lane.visible + lane.inFlight === 0) return pass('empty: nothing waiting for delivery');
  const age = lane.oldestAgeSeconds;
  const said = `${lane.visible} waiting, ${lane.inFlight} in delivery${age === undefined ? ' (age of the oldest unknown: SQS publishes it each minute once the queue is active)' : `, oldest ${duration(age)}`}`;
  if (age !== undefined && age >= LANE_AGE_LIMIT_SECONDS) {
    return fail(said, `an event has waited ${duration(age)} (the LaneOldestEvent alarm fires at ${duration(LANE_AGE_LIMIT_SECONDS)}): the pipe or the delivery workflow is stuck`,
      'see the pipe and dead-letter checks and the DeliveryExecutionsFailed alarm; the delivery workflow\'s log group names the failing state', REGISTER.SqsMetrics);
  }
  return pass(said);
}

export function deadLetterFinding(dead: DeadLetters, ctx: ExplainContext): Finding {
  if (dead.count === 0) return pass('none');
  // Grouped by what Discord said, so a hundred refusals of one kind read as one line.
  const groups = new Map<string, { n: number; channel?: string; error: string; reason: string }>();
  for (const d of dead.sample) {
    const key = `${d.channel ?? ''} ${d.error} ${d.reason}`;
    const g = groups.get(key) ?? { n: 0, channel: d.channel, error: d.error, reason: d.reason };
    g.n++;
    groups.set(key, g);
  }
  const first = [...groups.values()][0];
  const explained = first ? explainDeadLetter(first.error, first.reason, first.channel, ctx) : undefined;
  const seen = [...groups.values()].map((g) => `${g.n} × ${g.error}${g.channel ? ` (#${g.channel})` : ''}`).join(', ');
  return fail(`${dead.count} event${dead.count === 1 ? '' : 's'} dead-lettered${seen ? `: ${seen}` : ''}`,
    explained?.cause ?? 'the delivery workflow could not post them', explained?.fix ?? 'inspect them (README "Dead letters") and redrive once fixed', explained?.register);
}

export function alarmFinding(alarms: readonly AlarmState[]): Finding {
  const firing = alarms.filter((a) => a.state === 'ALARM' && !a.name.endsWith(HEARTBEAT_ALARM_SUFFIX));
  const heartbeatNote = alarms.some((a) => a.state === 'ALARM' && a.name.endsWith(HEARTBEAT_ALARM_SUFFIX)) ? ' (ForwarderHeartbeatMissing is in ALARM: see the forwarder check)' : '';
  if (firing.length === 0) return pass(`none of ${alarms.length} in ALARM${heartbeatNote}`);
  return fail(`${firing.length} in ALARM: ${firing.map((a) => a.name).join(', ')}${heartbeatNote}`,
    firing.map((a) => `${a.name}: ${a.reason ?? a.state}`).join('; '),
    firing.map((a) => a.description ?? `see README "Alarms and dashboard" for ${a.name}`).join('\n'));
}

export function forwarderFinding(beats: Heartbeats, nowMs: number, ctx: ExplainContext): Finding {
  const window = beats.windowMinutes;
  if (!beats.last) {
    // Locally a forwarder is optional (relay send does as well) and nothing alarms on its absence; a deployed relay's ForwarderHeartbeatMissing does.
    if (ctx.kind === 'local') return pass(`no forwarder has sent a heartbeat ${beats.lookedBack} (start relay forward to see one here)`);
    return warn(`no forwarder heartbeat ${beats.lookedBack}`, 'no forwarder has reached this relay (fine before you start one; ForwarderHeartbeatMissing is in ALARM meanwhile)',
      'start relay forward (README "The forwarder"); it sends a heartbeat every 5 minutes');
  }
  const age = Math.max(0, Math.round((nowMs - beats.last.getTime()) / 1000));
  const said = `last heartbeat ${duration(age)} ago${window ? ` (alarm after ${window} min)` : ''}`;
  if (window !== undefined && age > window * 60) {
    return fail(said, 'relay forward is down, disconnected from Discord, or cannot reach the relay',
      'on the forwarder\'s host: systemctl status discord-relay-forwarder; curl 127.0.0.1:8788/healthz; journalctl -u discord-relay-forwarder');
  }
  return pass(said);
}

/** 45 s, 12 min, 1 h 5 min. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}
