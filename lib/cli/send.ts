/** `relay send`: one event, from a file, stdin or the voice builders, to a relay; or a batch of them (`--batch`, send-batch.ts). */
import { readFileSync } from 'node:fs';
import { RelayClientError, type SyncResult } from '../client/relay-client';
import { ENVELOPE_ID_PATTERN } from '../contracts/envelope';
import { RelayErrorCode } from '../contracts/errors';
import { closest, parseCommandArgs, wholeNumber } from './args';
import { ExitCode, UnavailableError, UsageError } from './errors';
import { checkLocalRelayRunning, clientFor, explainUnavailable, readLocalDefaults, resolveTarget, type RelayTarget } from './target';
import { describeCause } from './causes';
import { channelsText, printBatch, readBatch } from './send-batch';
import { VOICE_BUILDERS, buildVoiceEvent, checkEventText, type VoiceBuilder } from './voice-event';

const OPTIONS = {
  url: { type: 'string' }, kid: { type: 'string' }, 'key-file': { type: 'string' }, region: { type: 'string' },
  id: { type: 'string' }, batch: { type: 'string' }, sync: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' },
  guild: { type: 'string' }, 'guild-name': { type: 'string' }, user: { type: 'string' }, 'user-name': { type: 'string' },
  'display-name': { type: 'string' }, bot: { type: 'boolean' }, channel: { type: 'string' }, 'channel-name': { type: 'string' },
  from: { type: 'string' }, 'from-name': { type: 'string' }, to: { type: 'string' }, 'to-name': { type: 'string' }, occupants: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readEventSource(source: string): string {
  const name = source === '-' ? 'stdin' : source;
  let text: string;
  try {
    text = readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // `voice-jion`: a builder mistyped, not a file.
    const builder = code === 'ENOENT' ? closest(source, VOICE_BUILDERS) : undefined;
    if (builder) throw new UsageError(`"${source}" is neither an event builder nor a file; did you mean ${builder}? (builders: ${VOICE_BUILDERS.join(', ')}; or an event file, or - for stdin)`, 'send');
    throw new UsageError(`cannot read the event from ${name}: ${code ?? (error as Error).message}`, 'send');
  }
  return checkEventText(text, name);
}

/** What to do about the rejections a sender can fix. */
function hintFor(result: SyncResult, target: RelayTarget): string | undefined {
  const apply = target.isLocalRelay ? 'then restart the local relay (npm start)' : 'and deploy';
  switch (result.code) {
    case RelayErrorCode.UnknownKey:
      return `the relay does not know key id "${target.kid}": add its public key (printed by \`relay keygen\`) to forwarderKeys in the relay config ${apply}`;
    case RelayErrorCode.InvalidSignature:
      return `the key file does not match the public key the relay has for "${target.kid}"`;
    case RelayErrorCode.Stale:
      return /\bat: /.test(result.cause ?? '')
        ? "the event's at is too far from now: leave at out of the event (relay send stamps the time of sending)"
        : "this machine's clock is too far from the relay's: sync it (NTP)";
    case RelayErrorCode.GuildNotAllowed:
      return `add the guild id to allowedGuildIds in the relay config ${apply}`;
    default:
      return undefined;
  }
}

function exitCodeFor(result: SyncResult): number {
  if (result.status === 'SUCCEEDED') return ExitCode.Ok;
  if (result.code === RelayErrorCode.DeliveryFailed || result.status === 'TIMED_OUT') return ExitCode.DeliveryFailed;
  if (result.code === RelayErrorCode.Internal) return ExitCode.Unexpected;
  return ExitCode.Rejected;
}

function printSync(result: SyncResult, target: RelayTarget, json: boolean | undefined, out: (line: string) => void): void {
  if (json) return out(JSON.stringify(result, null, 2));
  const output = result.output as { outcome?: string; channel?: string; channels?: unknown; reason?: unknown } | undefined;
  // queued #general (#general #team: sent to both) / Relay.Duplicate / Relay.Ignored (why) (or delivered, from a direct-delivery relay).
  const why = typeof output?.reason === 'string' ? ` (${output.reason.replace(/[\p{Cc}\p{Cf}]/gu, ' ').slice(0, 200)})` : '';
  const detail = result.status === 'SUCCEEDED'
    ? (result.code ? `${result.code}${why}` : [output?.outcome ?? 'succeeded', output && channelsText(output, (c) => String(c).replace(/[\p{Cc}\p{Cf}]/gu, ' ').slice(0, 64))].filter(Boolean).join(' '))
    : `${result.code ?? result.status}${result.cause ? `: ${describeCause(result.cause)}` : ''}`;
  out(`${result.status} ${result.id} ${detail}`);
  const hint = hintFor(result, target);
  if (hint) out(`hint: ${hint}`);
}

export async function send(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('send', argv, OPTIONS);
  if (positionals.length > 1) throw new UsageError(`send takes one event source, got: ${positionals.join(' ')}`, 'send');
  if (values.batch !== undefined && positionals.length) throw new UsageError(`--batch reads the events from ${values.batch}; leave out "${positionals[0]}"`, 'send');
  const local = readLocalDefaults();
  const [what = '-'] = positionals;
  const batch = values.batch === undefined ? undefined : readBatch(values.batch);
  const event = batch ? undefined : (VOICE_BUILDERS as readonly string[]).includes(what) ? buildVoiceEvent(what as VoiceBuilder, values, local) : readEventSource(what);
  const timeout = wholeNumber('send', 'timeout', values.timeout, 1);
  if (values.id !== undefined && !ENVELOPE_ID_PATTERN.test(values.id)) {
    throw new UsageError(`--id "${values.id.slice(0, 40)}" is not an envelope id: use 1-128 characters of [A-Za-z0-9._:-] (the same id twice is one event)`, 'send');
  }

  const target = resolveTarget(values, local);
  const client = clientFor(target, values, timeout);
  checkLocalRelayRunning(target);
  try {
    if (batch && values.sync) {
      const result = await client.sendBatchSync(batch, { id: values.id });
      // No outcomes by event: the envelope itself was rejected (its key, signature, ts or shape).
      if (!result.events) {
        printSync(result, target, values.json, out);
        return exitCodeFor(result);
      }
      if (values.json) out(JSON.stringify(result, null, 2));
      return printBatch(result.events, values.json ? () => undefined : out);
    }
    if (batch) {
      const result = await client.sendBatch(batch, { id: values.id });
      out(values.json ? JSON.stringify(result, null, 2) : `accepted ${result.ids.length} events (${result.ids.join(', ')}) in ${result.id} → ${result.executionArn}`);
      return ExitCode.Ok;
    }
    if (values.sync) {
      const result = await client.sendSync(event, { id: values.id });
      printSync(result, target, values.json, out);
      return exitCodeFor(result);
    }
    const result = await client.send(event, { id: values.id });
    out(values.json ? JSON.stringify(result, null, 2) : `accepted ${result.id} → ${result.executionArn}`);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof RelayClientError && error.kind === 'unavailable') throw new UnavailableError(explainUnavailable(error, target));
    throw error;
  }
}
