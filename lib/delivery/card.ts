/**
 * Live voice cards: one Discord message per voice session, edited in place. Coalesce collapses a
 * batch's card events into one update per card (the latest state wins); the Render card step turns
 * an update and the card's stored session into what to send — post a new card, edit it, end it
 * with a summary, or nothing — and the session to store. Pure: the clock is an argument.
 */
import { CardAction, cardKey, type CardSession, type CardSettings, type LaneEvent } from '../contracts/lane';
import { DISCORD_CONTENT_LIMIT, escapeDiscordText } from '../contracts/template';
import { SNOWFLAKE_PATTERN } from '../contracts/events';

type Member = { readonly id: string; readonly name: string };

/** Everything a batch says about one card, its latest state last. */
export interface CardUpdate {
  readonly key: string;
  readonly voiceChannelId: string;
  readonly voiceChannelName: string;
  /** The latest occupants the forwarder sent, if any event carried them. */
  readonly occupants?: { readonly count: number; readonly members: readonly Member[] };
  /** Joins into and leaves from this channel, in order: what repairs a card when occupants are missing. */
  readonly changes: ReadonlyArray<{ readonly joined: boolean; readonly member: Member }>;
  /** Everyone the batch saw in the channel. */
  readonly seen: readonly Member[];
  /** Time of the latest change (ISO). */
  readonly at: string;
  /** Time of the earliest change in the batch (ISO): when a session the batch starts began. */
  readonly firstAt?: string;
  /** The most people any of the batch's events saw in the channel (a burst's peak, not just its last count). */
  readonly peak?: number;
  readonly settings: CardSettings;
  /** Members who opted out (the Discord app): counted on the card, never named, and their names not stored. */
  readonly hidden?: readonly string[];
}

/** How many ids a session keeps to count people seen (the count goes on past it). */
export const MAX_SEEN = 500;
/** How long a card's item outlives its last update, in seconds (a session quiet for a week is over). */
export const CARD_TTL_SECONDS = 7 * 24 * 3600;

/** One update per card the events touch, in the order the cards were first touched. */
export function collectCardUpdates(channel: string, events: readonly LaneEvent[]): CardUpdate[] {
  const byKey = new Map<string, CardUpdate & { changes: Array<{ joined: boolean; member: Member }>; seen: Member[]; firstAt?: string; peak?: number }>();
  for (const event of events) {
    (event.voice ?? []).forEach((voice, i) => {
      const key = cardKey(channel, voice.channel_id);
      const held = byKey.get(key) ?? { key, voiceChannelId: voice.channel_id, voiceChannelName: voice.channel_name, changes: [], seen: [], at: event.at ?? '', firstAt: event.at, peak: 0, settings: {} };
      if (event.at && (!held.firstAt || Date.parse(event.at) < Date.parse(held.firstAt))) held.firstAt = event.at;
      held.peak = Math.max(held.peak ?? 0, voice.occupants?.count ?? 0);
      const isJoin = event.kind === 'voice.join' || (event.kind === 'voice.move' && i === (event.voice?.length ?? 0) - 1);
      const member = event.user && { id: event.user.id, name: event.user.display_name };
      if (member) held.changes.push({ joined: isJoin, member });
      const members = voice.occupants?.members ?? [];
      for (const m of [...members, ...(member && isJoin ? [member] : [])]) if (!held.seen.some((s) => s.id === m.id)) held.seen.push(m);
      // The latest change wins, by when it happened: sends can arrive out of order.
      const newer = !held.at || !event.at || Date.parse(event.at) >= Date.parse(held.at);
      byKey.set(key, newer
        ? { ...held, voiceChannelName: voice.channel_name, occupants: voice.occupants ?? held.occupants, at: event.at ?? held.at, settings: event.card ?? held.settings }
        : held);
    });
  }
  return [...byKey.values()];
}

/** What the Render card step gives the workflow: the message to send (or not) and the session to keep. */
export interface RenderedCard {
  readonly action: CardAction;
  readonly body: { readonly content: string; readonly allowed_mentions: { readonly parse: readonly never[]; readonly roles?: readonly string[] } };
  /** The card's message, for edit and end. */
  readonly messageId?: string;
  /** JSON of the session to store after a post or an edit. */
  readonly session: string;
  /** Epoch seconds, as text (DynamoDB numbers travel as strings): when the card's item may go. */
  readonly expiresAt: string;
  /** For end: the time of the change that ended the session (the item remembers it). */
  readonly endedAt?: string;
}

/** The stored card, as GetItem returns it: absent when there is no live session. */
export interface StoredCard {
  readonly messageId?: { readonly S?: string };
  readonly session?: { readonly S?: string };
  readonly endedAt?: { readonly S?: string };
}

function parseSession(stored: StoredCard | undefined): { messageId: string; session: CardSession } | undefined {
  const messageId = stored?.messageId?.S;
  const text = stored?.session?.S;
  if (!messageId || !text) return undefined;
  try {
    return { messageId, session: JSON.parse(text) as CardSession };
  } catch {
    return undefined; // an unreadable session is started afresh
  }
}

/** Who is in the channel now: the forwarder's snapshot, else the stored list with this batch's joins and leaves applied. */
function currentMembers(update: CardUpdate, previous: CardSession | undefined): { count: number; members: Member[] } {
  if (update.occupants) return { count: update.occupants.count, members: [...update.occupants.members] };
  const members = new Map((previous?.members ?? []).map((m) => [m.id, m]));
  for (const change of update.changes) {
    if (change.joined) members.set(change.member.id, change.member);
    else members.delete(change.member.id);
  }
  return { count: members.size, members: [...members.values()] };
}

export function renderCard(given: CardUpdate, stored: StoredCard | undefined, nowMs: number): RenderedCard {
  // A change is never later than now: an `at` a little ahead (a fast clock, within Verify's window) would otherwise freeze the card until then.
  const capped = (iso: string | undefined) => (iso && Date.parse(iso) > nowMs ? new Date(nowMs).toISOString() : iso);
  const update: CardUpdate = { ...given, at: capped(given.at) ?? given.at, firstAt: capped(given.firstAt) };
  const live = parseSession(stored);
  const { count, members } = currentMembers(update, live?.session);
  const expiresAt = String(Math.floor(nowMs / 1000) + CARD_TTL_SECONDS);
  const minMembers = update.settings.minMembers ?? 1;
  const skip = (): RenderedCard => ({ action: CardAction.Skip, body: { content: '', allowed_mentions: { parse: [] } }, session: live ? JSON.stringify(live.session) : '', expiresAt });

  if (!live) {
    // A change from before the last session ended (sent late, or re-sent): no phantom session.
    const endedAt = stored?.endedAt?.S;
    if (endedAt && Date.parse(update.at) <= Date.parse(endedAt)) return skip();
    if (count === 0 || count < minMembers) return skip();
    const session = nextSession(undefined, update, count, members);
    const content = liveText(update.voiceChannelName, session);
    const role = update.settings.pingRoleId;
    // The one ping: the first post of a session, of the configured role only; user text never pings.
    const pinged = role && SNOWFLAKE_PATTERN.test(role);
    return {
      action: CardAction.Post,
      body: pinged ? { content: fit(`<@&${role}> ${content}`), allowed_mentions: { parse: [], roles: [role] } } : { content, allowed_mentions: { parse: [] } },
      session: JSON.stringify(session),
      expiresAt,
    };
  }
  // A change older than what the card shows (it arrived late): the card keeps the newer state.
  const shown = live.session.updatedAt;
  if (shown && Date.parse(update.at) < Date.parse(shown)) return skip();
  const session = nextSession(live.session, update, count, members);
  if (count === 0) {
    return { action: CardAction.End, body: { content: endedText(update.voiceChannelName, session, update.at), allowed_mentions: { parse: [] } }, messageId: live.messageId, session: JSON.stringify(session), expiresAt, endedAt: update.at };
  }
  return { action: CardAction.Edit, body: { content: liveText(update.voiceChannelName, session), allowed_mentions: { parse: [] } }, messageId: live.messageId, session: JSON.stringify(session), expiresAt };
}

function nextSession(previous: CardSession | undefined, update: CardUpdate, count: number, given: Member[]): CardSession {
  // A member who opted out keeps a place in the list (so counts and leaves still add up), without a name.
  const hidden = new Set(update.hidden ?? []);
  const members = hidden.size === 0 ? given : given.map((m) => (hidden.has(m.id) ? { id: m.id, name: '' } : m));
  const seen = [...(previous?.seen ?? [])];
  let seenCount = previous?.seenCount ?? 0;
  for (const m of [...update.seen, ...members]) {
    if (seen.includes(m.id)) continue;
    seenCount++;
    if (seen.length < MAX_SEEN) seen.push(m.id);
  }
  return {
    startedAt: previous?.startedAt ?? update.firstAt ?? update.at,
    peak: Math.max(previous?.peak ?? 0, update.peak ?? 0, count),
    seen,
    seenCount,
    members,
    count,
    updatedAt: update.at,
  };
}

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function fit(text: string): string {
  return text.length <= DISCORD_CONTENT_LIMIT ? text : `${text.slice(0, DISCORD_CONTENT_LIMIT - 1)}…`;
}

/** "🔊 **General** — live · Alice, Bob · since <t:…:t>", names cut (never mid-name) to fit a message. */
export function liveText(channelName: string, session: CardSession): string {
  const head = `🔊 **${escapeDiscordText(channelName)}** — live · `;
  const tail = ` · since <t:${unix(session.startedAt)}:t>`;
  // A member without a name opted out: counted in "+n more", never named.
  const names = session.members.filter((m) => m.name !== '').map((m) => escapeDiscordText(m.name));
  let shown = names.length;
  const listed = (n: number) => {
    const more = session.count - n;
    return `${names.slice(0, n).join(', ')}${more > 0 ? `${n > 0 ? ' ' : ''}+${more} more` : ''}`;
  };
  while (shown > 0 && head.length + listed(shown).length + tail.length > DISCORD_CONTENT_LIMIT - 32) shown--;
  return fit(`${head}${listed(shown)}${tail}`);
}

/** "🔇 **General** — ended · 1 h 12 min · peak 7 · 9 people". */
export function endedText(channelName: string, session: CardSession, endedAt: string): string {
  const people = `${session.seenCount} ${session.seenCount === 1 ? 'person' : 'people'}`;
  return fit(`🔇 **${escapeDiscordText(channelName)}** — ended · ${duration(unix(endedAt) - unix(session.startedAt))} · peak ${session.peak} · ${people}`);
}

/** "1 h 12 min", "5 min", "< 1 min". */
export function duration(seconds: number): string {
  const minutes = Math.floor(Math.max(0, seconds) / 60);
  if (minutes < 1) return '< 1 min';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}
