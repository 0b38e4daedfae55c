/**
 * `/relay status`: the facts `relay doctor` reads (lane depth and oldest age, dead letters, the
 * last delivery, the last forwarder heartbeat) and the guild's pause, as one short ephemeral
 * message. Each fact is read on its own budget: one that cannot be read in time says "unknown"
 * instead of holding the answer past Discord's 3 seconds.
 */

/** What a facts reader found; a missing field could not be read (or the relay has no such part). */
export interface RelayFacts {
  readonly lane?: { readonly waiting: number; readonly inFlight: number; readonly oldestAgeSeconds?: number };
  readonly deadLetters?: number;
  /** ISO time (or null: none in the period looked at). */
  readonly lastDelivery?: string | null;
  readonly lastHeartbeat?: string | null;
  /** How far back the two above were looked for, in hours. */
  readonly lookBackHours?: number;
}

export type FactsReader = () => Promise<RelayFacts>;

/** Each fact's reader gets at most this long. */
export const FACT_BUDGET_MS = 1500;

/** `promise`, or undefined when it fails or takes longer than `ms`. */
export function withinBudget<T>(promise: Promise<T>, ms: number = FACT_BUDGET_MS): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then((v) => resolve(v), () => resolve(undefined)).finally(() => clearTimeout(timer));
  });
}

const when = (iso: string) => `<t:${Math.floor(Date.parse(iso) / 1000)}:R>`;

/** The status message (Discord renders `<t:…:R>` as "3 minutes ago" in the reader's language). */
export function statusText(facts: RelayFacts, guild: { paused: boolean; pausedUntil?: string; optedOut: number } | undefined): string {
  const lines = ['**Discord Event Relay — status**'];
  const { lane } = facts;
  const age = lane?.oldestAgeSeconds;
  lines.push(lane ? `Lane: ${lane.waiting} waiting, ${lane.inFlight} being posted${age === undefined || lane.waiting + lane.inFlight === 0 ? '' : ` (oldest ${age} s)`}` : 'Lane: unknown');
  lines.push(facts.deadLetters === undefined ? 'Dead letters: unknown' : facts.deadLetters === 0 ? 'Dead letters: none' : `Dead letters: ${facts.deadLetters} — run \`relay doctor\` for the reasons and the redrive command`);
  const since = facts.lookBackHours ? ` in the last ${facts.lookBackHours} h` : '';
  lines.push(facts.lastDelivery === undefined ? 'Last delivery: unknown' : facts.lastDelivery === null ? `Last delivery: none${since}` : `Last delivery: ${when(facts.lastDelivery)}`);
  lines.push(facts.lastHeartbeat === undefined ? 'Forwarder: unknown' : facts.lastHeartbeat === null ? `Forwarder: no heartbeat${since} — is \`relay forward\` running?` : `Forwarder: last heartbeat ${when(facts.lastHeartbeat)}`);
  if (!guild) lines.push('Notices here: unknown');
  else lines.push(guild.paused && guild.pausedUntil ? `Notices here: paused until <t:${Math.floor(Date.parse(guild.pausedUntil) / 1000)}:t> (\`/relay resume\` ends it)` : 'Notices here: on');
  if (guild) lines.push(`Members opted out here: ${guild.optedOut}`);
  return lines.join('\n');
}
