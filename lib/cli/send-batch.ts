/** `relay send --batch <file>`: several events in one signed envelope (v2), each with its own id and outcome. */
import { readFileSync } from 'node:fs';
import type { BatchEvent, EventOutcome } from '../client/relay-client';
import { ENVELOPE_ID_PATTERN, MAX_BATCH_EVENTS } from '../contracts/envelope';
import { RelayOutcome } from '../contracts/lane';
import { ExitCode, UsageError } from './errors';
import { describeCause } from './causes';
import { checkEventText } from './voice-event';

/**
 * The batch file: a JSON array of 1-10 items, each `{ "id": …, "event": { "type": … } }` or an
 * event itself (`{ "type": … }`; its own `id` field, if any, is its id). An event without an id
 * gets a random one. Each event is checked as `relay send` checks one.
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
  return items.map((item: unknown, i) => readItem(item, `${name}[${i}]`));
}

/** One item: `{ id?, event }`, or an event (`{ type, … }`) whose own `id` field, if any, is its id. */
function readItem(item: unknown, at: string): BatchEvent {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new UsageError(`${at} must be an event (a JSON object with a "type") or { "id", "event" }`, 'send');
  const o = item as Record<string, unknown>;
  if ('event' in o && 'type' in o) throw new UsageError(`${at} has both "type" and "event": write { "id", "event": { "type", … } }, or the event itself`, 'send');
  const { id, ...rest } = o;
  const event = 'event' in o ? o.event : rest;
  if (id !== undefined && (typeof id !== 'string' || !ENVELOPE_ID_PATTERN.test(id))) {
    throw new UsageError(`${at}.id must be 1-128 characters of [A-Za-z0-9._:-]`, 'send');
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(event);
  } catch {
    throw new UsageError(`${at} is nested too deeply to be an event`, 'send');
  }
  const text = checkEventText(json ?? '', at);
  return { ...(id === undefined ? {} : { id }), event: JSON.parse(text) as unknown };
}

/** The outcomes that mean the event was taken care of (posted, queued, or rightly not posted). */
const HANDLED: readonly string[] = [RelayOutcome.Queued, RelayOutcome.Delivered, RelayOutcome.Duplicate, RelayOutcome.Ignored, RelayOutcome.Recorded, RelayOutcome.Checked];

/** Where an outcome went: `#general`, or `#general #team` for an event sent to several channels. */
export function channelsText(outcome: { readonly channel?: unknown; readonly channels?: unknown }, clean: (x: unknown) => string): string {
  const channels = Array.isArray(outcome.channels) ? outcome.channels : outcome.channel ? [outcome.channel] : [];
  return channels.map((c) => `#${clean(c)}`).join(' ');
}

/** One line per event; the exit code says the worst: a failed event (1) over a rejected one (5). */
export function printBatch(events: readonly EventOutcome[], out: (line: string) => void): number {
  // Whatever the relay answered, no control or format character reaches the terminal.
  const clean = (x: unknown) => String(x).replace(/[\p{Cc}\p{Cf}]/gu, ' ').slice(0, 200);
  for (const e of events) {
    const why = [e.code, e.reason ?? e.cause].filter((x): x is string => typeof x === 'string').map((x) => clean(describeCause(x)));
    const where = channelsText(e, clean);
    out(`${clean(e.outcome)} ${clean(e.id)}${where ? ` ${where}` : ''}${why.length ? ` ${why.join(': ')}` : ''}`);
  }
  if (events.some((e) => e.outcome === RelayOutcome.Failed)) return ExitCode.Unexpected;
  return events.every((e) => HANDLED.includes(e.outcome)) ? ExitCode.Ok : ExitCode.Rejected;
}
