/** `relay send --batch <file>`: several events in one signed envelope (v2), each with its own id and outcome. */
import { readFileSync } from 'node:fs';
import type { BatchEvent, EventOutcome } from '../client/relay-client';
import { ENVELOPE_ID_PATTERN, MAX_BATCH_EVENTS } from '../contracts/envelope';
import { RelayOutcome } from '../contracts/lane';
import { ExitCode, UsageError } from './errors';
import { describeCause } from './send';
import { checkEventText } from './voice-event';

/**
 * The batch file: a JSON array of 1-10 items, each an event (`{ "type": … }`, given a random id)
 * or `{ "id": …, "event": { "type": … } }`. Each event is checked as `relay send` checks one.
 */
export function readBatch(source: string): BatchEvent[] {
  const name = source === '-' ? 'stdin' : source;
  let items: unknown;
  try {
    items = JSON.parse(readFileSync(source === '-' ? 0 : source, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the batch from ${name}: ${code ?? 'not JSON'}`, 'send');
  }
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH_EVENTS) {
    throw new UsageError(`the batch in ${name} must be a JSON array of 1-${MAX_BATCH_EVENTS} events (or { "id", "event" } items)`, 'send');
  }
  return items.map((item: unknown, i) => {
    const wrapped = typeof item === 'object' && item !== null && 'event' in item && !('type' in item);
    const { id, event } = wrapped ? (item as { id?: unknown; event: unknown }) : { id: undefined, event: item };
    if (id !== undefined && (typeof id !== 'string' || !ENVELOPE_ID_PATTERN.test(id))) {
      throw new UsageError(`${name}[${i}].id must be 1-128 characters of [A-Za-z0-9._:-]`, 'send');
    }
    const text = checkEventText(JSON.stringify(event) ?? '', `${name}[${i}]`);
    return { ...(id === undefined ? {} : { id }), event: JSON.parse(text) as unknown };
  });
}

/** The outcomes that mean the event was taken care of (posted, queued, or rightly not posted). */
const HANDLED: readonly string[] = [RelayOutcome.Queued, RelayOutcome.Delivered, RelayOutcome.Duplicate, RelayOutcome.Ignored, RelayOutcome.Recorded, RelayOutcome.Checked];

/** One line per event; the exit code says the worst: a failed event (1) over a rejected one (5). */
export function printBatch(events: readonly EventOutcome[], out: (line: string) => void): number {
  for (const e of events) {
    const why = [e.code, e.reason ?? e.cause].filter((x): x is string => typeof x === 'string').map((x) => describeCause(x).replace(/[\p{Cc}\p{Cf}]/gu, ' ').slice(0, 200));
    out(`${e.outcome} ${e.id}${e.channel ? ` #${e.channel}` : ''}${why.length ? ` ${why.join(': ')}` : ''}`);
  }
  if (events.some((e) => e.outcome === RelayOutcome.Failed)) return ExitCode.Unexpected;
  return events.every((e) => HANDLED.includes(e.outcome)) ? ExitCode.Ok : ExitCode.Rejected;
}
