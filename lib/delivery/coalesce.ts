/**
 * The delivery workflow's Coalesce step: turns a batch read from the lanes into as few Discord
 * messages as the limits allow — one line per event, every event kept (never "and 12 others"),
 * a new message when the next line would pass 2000 characters — and leaves out events the dedupe
 * table already records as delivered (a batch the queue hands out again after a partial failure).
 */
import { DISCORD_CONTENT_LIMIT } from '../contracts/template';
import { deliveredOn, type LaneEvent } from '../contracts/lane';
import { RelayError, RelayErrorCode } from '../contracts/errors';
import { ENVELOPE_ID_PATTERN } from '../contracts/envelope';
import { CHANNEL_NAME_PATTERN } from '../contracts/routes';
import { collectCardUpdates, type CardUpdate } from './card';
import { readGuildSettings, type StoredGuildSettings } from '../contracts/interactions';
import { SLACK_TEXT_LIMIT, discordLineToSlack, fitSlackLine, renderSlackLine } from '../contracts/slack';
import { SNOWFLAKE_PATTERN, parseIsoTimestamp } from '../contracts/events';
import { parseTemplate } from '../contracts/template';

/** One record of the batch as the workflow's Look-up step leaves it: the lane event and its dedupe item (GetItem's result). */
export interface BatchItem {
  readonly event: unknown;
  readonly claim?: { readonly Item?: Record<string, { readonly S?: string; readonly N?: string; readonly SS?: readonly string[] } | undefined> };
  /** The event's own guild settings (GetItem's result); the workflow gives them per guild instead ({@link GuildRead}). */
  readonly settings?: { readonly Item?: StoredGuildSettings };
  /** The record's SQS message id: what a dead letter of it is deduplicated by. */
  readonly messageId?: string;
  /** The record's body as it was queued. */
  readonly body?: string;
}

/** With the Discord app: one guild of the batch and its settings (GetItem's result), read as the batch is delivered. */
export interface GuildRead {
  readonly guildId: string;
  readonly settings?: { readonly Item?: StoredGuildSettings };
}

/** Each guild's settings item by guild id; a guild without an item (or the '' of events from none) has no entry. */
function settingsByGuild(guilds: readonly GuildRead[] | undefined): ReadonlyMap<string, StoredGuildSettings> {
  if (guilds !== undefined && !Array.isArray(guilds)) throw new RelayError(RelayErrorCode.Malformed, 'guilds is not an array');
  const byGuild = new Map<string, StoredGuildSettings>();
  for (const g of guilds ?? []) if (typeof g?.guildId === 'string' && g.settings?.Item) byGuild.set(g.guildId, g.settings.Item);
  return byGuild;
}

/** What a Discord webhook is sent: `parse: []`, so no text can ping. */
export interface DiscordMessageBody { readonly content: string; readonly allowed_mentions: { readonly parse: readonly never[] } }
/** What a Slack incoming webhook is sent (mrkdwn text; user text escaped, so it cannot mention). */
export interface SlackMessageBody { readonly text: string }

/** A webhook message and the lane events it carries; for a live card, the update the Render card step turns into one. */
export interface OutgoingMessage {
  readonly channel: string;
  readonly body: DiscordMessageBody | SlackMessageBody;
  readonly ids: readonly string[];
  readonly events: readonly LaneEvent[];
  /** Each event's lane message id, in the order of `events` (a refusal dead-letters each under its own). */
  readonly messageIds: readonly string[];
  readonly card?: CardUpdate;
}

/**
 * A lane event Coalesce cannot read (written by hand, or of the other kind's shape after a
 * channel's kind changed): dead-lettered alone, as it was queued, so the rest of its batch goes on.
 */
export interface MalformedLaneEvent {
  /** The record's body as it was queued, what the dead-letter queue keeps (a redrive puts it back as is). */
  readonly body: string;
  /** Its lane message id: the dead letter's deduplication id. */
  readonly messageId: string;
  /** Its message group in the dead-letter queue: its channel, or `malformed` for none. */
  readonly group: string;
  /** Why, as Relay.Malformed says it. */
  readonly reason: string;
}

export interface CoalescedBatch {
  readonly messages: readonly OutgoingMessage[];
  /** Ids left out: already delivered, repeated within the batch, of a member who opted out, or from a paused guild. */
  readonly skipped: readonly string[];
  readonly malformed: readonly MalformedLaneEvent[];
}

/** A batch record as a lane event, checked for its channel's kind; a RelayError (Relay.Malformed) says what is wrong. */
function readLaneEvent(value: unknown, index: number, slack: ReadonlySet<string>): LaneEvent {
  const event = parseLaneEvent(value, index);
  // A lane event of the other kind's shape (a channel's kind changed, then a redrive) is refused, not posted empty or dropped.
  if (event.slack !== undefined && !slack.has(event.channel)) throw new RelayError(RelayErrorCode.Malformed, `batch[${index}]: a Slack lane event on channel ${event.channel}, which is not a Slack channel`);
  if (event.voice !== undefined && slack.has(event.channel)) throw new RelayError(RelayErrorCode.Malformed, `batch[${index}]: a live card event on Slack channel ${event.channel} (a Slack webhook cannot edit a message)`);
  return event;
}

function malformedRecord(item: BatchItem | undefined, error: RelayError, index: number): MalformedLaneEvent {
  const channel = (item?.event as { channel?: unknown } | null | undefined)?.channel;
  return {
    body: typeof item?.body === 'string' ? item.body : JSON.stringify(item?.event) ?? 'null',
    messageId: typeof item?.messageId === 'string' ? item.messageId : `batch-${index}`,
    group: typeof channel === 'string' && CHANNEL_NAME_PATTERN.test(channel) ? channel : 'malformed',
    reason: error.message,
  };
}

/** Checks a lane event's shape; anything else on a lane was not written by the relay workflow. */
export function parseLaneEvent(value: unknown, index: number): LaneEvent {
  const e = value as Partial<LaneEvent> | null;
  const problem =
    typeof e !== 'object' || e === null ? 'not an object'
    : typeof e.id !== 'string' || !ENVELOPE_ID_PATTERN.test(e.id) ? 'id is missing or malformed'
    : typeof e.channel !== 'string' || !CHANNEL_NAME_PATTERN.test(e.channel) ? 'channel is missing or malformed'
    : e.slack !== undefined && !validSlackForm(e.slack) ? 'slack is malformed'
    : e.voice === undefined && e.slack === undefined && (typeof e.line !== 'string' || e.line.trim() === '') ? 'line is missing or empty'
    : e.voice !== undefined && !validVoice(e.voice) ? 'voice is malformed'
    : typeof e.kind !== 'string' ? 'kind is missing'
    : e.receivedAt !== undefined && typeof e.receivedAt !== 'number' ? 'receivedAt is not a number'
    : undefined;
  if (problem) throw new RelayError(RelayErrorCode.Malformed, `batch[${index}]: lane event ${problem}`);
  return e as LaneEvent;
}

/** A card event's voice channels: one or two, each with an id and a name. */
function validVoice(voice: unknown): boolean {
  return Array.isArray(voice) && voice.length >= 1 && voice.length <= 2
    && voice.every((v) => typeof v?.channel_id === 'string' && typeof v?.channel_name === 'string');
}

/** A Slack route's lane form: a template that parses and a voice event with what the Slack fields read, as Verify checks them. */
function validSlackForm(slack: unknown): boolean {
  const f = slack as { template?: unknown; event?: Record<string, any> } | null;
  const e = f?.event;
  const side = (c: unknown) => c === null || c === undefined || typeof (c as { channel_name?: unknown }).channel_name === 'string';
  return typeof f?.template === 'string' && parses(f.template) && typeof e === 'object' && e !== null
    && typeof e.user?.id === 'string' && SNOWFLAKE_PATTERN.test(e.user.id) && typeof e.user?.name === 'string' && typeof e.user?.display_name === 'string'
    && typeof e.guild?.name === 'string' && side(e.before) && side(e.after) && typeof e.at === 'string' && parseIsoTimestamp(e.at) !== undefined;
}

function parses(template: string): boolean {
  try {
    parseTemplate(template);
    return true;
  } catch {
    return false;
  }
}

/** A line longer than a whole message (templates are validated, so only hand-written lane events) is cut, never dropped. */
function fitLine(line: string, limit: number): string {
  return line.length <= limit ? line : `${line.slice(0, limit - 1)}…`;
}

/** How a batch is coalesced: the Discord content limit, the clock, the guilds' settings, which channels are Slack's. */
export interface CoalesceOptions {
  /** @default DISCORD_CONTENT_LIMIT */
  readonly limit?: number;
  /** @default Date.now() */
  readonly nowMs?: number;
  readonly guilds?: readonly GuildRead[];
  /** Channels whose webhook is a Slack incoming webhook. @default none */
  readonly slackChannels?: readonly string[];
}

export function coalesce(batch: readonly BatchItem[], options: CoalesceOptions = {}): CoalescedBatch {
  const { limit = DISCORD_CONTENT_LIMIT, nowMs = Date.now(), guilds } = options;
  const slack = new Set(Array.isArray(options.slackChannels) ? options.slackChannels : []);
  if (!Array.isArray(batch)) throw new RelayError(RelayErrorCode.Malformed, 'the batch is not an array');
  const guildSettings = settingsByGuild(guilds);
  const skipped: string[] = [];
  const malformed: MalformedLaneEvent[] = [];
  const seen = new Set<string>();
  const byChannel = new Map<string, LaneEvent[]>();
  // Members a card must not name, by event id (their guild's opt-outs as the batch is delivered).
  const hiddenBy = new Map<string, ReadonlySet<string>>();
  // Each event's lane message id, for its dead letter (a test's batch may have none: the event id stands in).
  const messageIdOf = new Map<LaneEvent, string>();
  batch.forEach((item, i) => {
    let event: LaneEvent;
    try {
      event = readLaneEvent(item?.event, i, slack);
    } catch (error) {
      if (!(error instanceof RelayError)) throw error;
      malformed.push(malformedRecord(item, error, i));
      return;
    }
    const stored = item.settings?.Item ?? (event.guildId === undefined ? undefined : guildSettings.get(event.guildId));
    const guild = stored ? readGuildSettings(stored, nowMs) : undefined;
    if (guild) hiddenBy.set(event.id, guild.hidden);
    const unwanted = guild !== undefined && (guild.paused || (event.userId !== undefined && guild.hidden.has(event.userId)) || (event.user !== undefined && guild.hidden.has(event.user.id)));
    // One event may be on several channels' lanes (and in one batch): each channel posts it once.
    const copy = `${event.channel}\u0000${event.id}`;
    if (deliveredOn(item.claim?.Item, event.channel) || seen.has(copy) || unwanted) {
      skipped.push(event.id);
      return;
    }
    seen.add(copy);
    messageIdOf.set(event, typeof item.messageId === 'string' ? item.messageId : event.id);
    const lane = byChannel.get(event.channel) ?? [];
    lane.push(event);
    byChannel.set(event.channel, lane);
  });

  const messages: OutgoingMessage[] = [];
  for (const [channel, all] of byChannel) {
    if (slack.has(channel)) {
      const lines = all.map((e) => ({ event: e, line: fitSlackLine(e.slack ? renderSlackLine(e.slack.template, e.slack.event) : discordLineToSlack(e.line ?? ''), SLACK_TEXT_LIMIT) }));
      messages.push(...joinLines(channel, lines, SLACK_TEXT_LIMIT, (text) => ({ text }), messageIdOf));
      continue;
    }
    const lines = all.filter((e) => e.voice === undefined).map((e) => ({ event: e, line: fitLine(e.line ?? '', limit) }));
    messages.push(...joinLines(channel, lines, limit, (content) => ({ content, allowed_mentions: { parse: [] } }), messageIdOf));
    // Cards after the lines: one update per card, the batch's latest state (a burst costs one edit).
    const cardEvents = all.filter((e) => e.voice !== undefined);
    for (const card of collectCardUpdates(channel, cardEvents)) {
      const touching = cardEvents.filter((e) => e.voice!.some((v) => v.channel_id === card.voiceChannelId));
      const hidden = [...new Set(touching.flatMap((e) => [...(hiddenBy.get(e.id) ?? [])]))];
      messages.push({ channel, body: { content: '', allowed_mentions: { parse: [] } }, ids: touching.map((e) => e.id), events: touching, messageIds: touching.map((e) => messageIdOf.get(e)!), card: hidden.length > 0 ? { ...card, hidden } : card });
    }
  }
  return { messages, skipped, malformed };
}

/**
 * One channel's lines as messages, in order: one line per event, a new message when the next line
 * would pass `limit` (Discord's 2,000 or Slack's 4,000), each message's body made by `body`.
 */
function joinLines(channel: string, lines: ReadonlyArray<{ event: LaneEvent; line: string }>, limit: number, body: (text: string) => OutgoingMessage['body'], messageIdOf: ReadonlyMap<LaneEvent, string>): OutgoingMessage[] {
  const messages: OutgoingMessage[] = [];
  let current: LaneEvent[] = [];
  let text = '';
  const flush = () => {
    if (current.length > 0) messages.push({ channel, body: body(text), ids: current.map((e) => e.id), events: current, messageIds: current.map((e) => messageIdOf.get(e)!) });
    current = [];
    text = '';
  };
  for (const { event, line } of lines) {
    if (current.length > 0 && text.length + 1 + line.length > limit) flush();
    text = current.length === 0 ? line : `${text}\n${line}`;
    current.push(event);
  }
  flush();
  return messages;
}
