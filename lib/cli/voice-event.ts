/**
 * `relay send voice-join|voice-leave|voice-move`: builds a VOICE_STATE_UPDATE from flags and checks
 * it with the contract's own parser, so a bad id or an over-long name is a usage error naming the
 * flag, found before any round trip.
 */
import { EventType, MAX_NAME_LENGTH, MAX_OCCUPANT_COUNT, SNOWFLAKE_PATTERN, parseEventPayload, type VoiceChannelRef, type VoiceStateUpdateEvent } from '../contracts/events';
import { UsageError } from './errors';
import { noLocalSettings, type LocalDefaults } from './target';

export const VOICE_BUILDERS = ['voice-join', 'voice-leave', 'voice-move'] as const;
export type VoiceBuilder = (typeof VOICE_BUILDERS)[number];

export interface VoiceFlags {
  readonly guild?: string;
  readonly 'guild-name'?: string;
  readonly user?: string;
  readonly 'user-name'?: string;
  readonly 'display-name'?: string;
  readonly bot?: boolean;
  readonly channel?: string;
  readonly 'channel-name'?: string;
  readonly from?: string;
  readonly 'from-name'?: string;
  readonly to?: string;
  readonly 'to-name'?: string;
  /** How many people are in the channel after the change: the one joined or moved into, or the one left. */
  readonly occupants?: string;
}

const ID_FLAGS = ['guild', 'user', 'channel', 'from', 'to'] as const;
const NAME_FLAGS = ['guild-name', 'user-name', 'display-name', 'channel-name', 'from-name', 'to-name'] as const;
/** Flags each builder needs besides --user (and --guild, which may default). */
const NEEDS: Record<VoiceBuilder, ReadonlyArray<'channel' | 'from' | 'to'>> = { 'voice-join': ['channel'], 'voice-leave': ['channel'], 'voice-move': ['from', 'to'] };

function checkFlags(builder: VoiceBuilder, flags: VoiceFlags): void {
  for (const f of ID_FLAGS) {
    const v = flags[f];
    if (v !== undefined && !SNOWFLAKE_PATTERN.test(v)) throw new UsageError(`--${f} must be a Discord id (17-20 digits), got "${v.slice(0, 40)}"`, 'send');
  }
  for (const f of NAME_FLAGS) {
    const v = flags[f];
    if (v !== undefined && (v.length === 0 || v.length > MAX_NAME_LENGTH)) {
      throw new UsageError(`--${f} must be 1-${MAX_NAME_LENGTH} characters, got ${v.length}`, 'send');
    }
  }
  for (const f of ['user', ...NEEDS[builder]] as const) {
    if (!flags[f]) throw new UsageError(`${builder} needs --${f} <id>`, 'send');
  }
  if (builder === 'voice-move' && flags.from === flags.to) throw new UsageError('voice-move needs --from and --to to be different channels', 'send');
  if (flags.occupants !== undefined) {
    const n = Number(flags.occupants);
    const least = builder === 'voice-leave' ? 0 : 1;
    if (!/^\d+$/.test(flags.occupants) || n < least || n > MAX_OCCUPANT_COUNT) {
      throw new UsageError(`--occupants is how many are in the channel after the change: a whole number from ${least}${least ? ' (the user is in it)' : ''} to ${MAX_OCCUPANT_COUNT.toLocaleString('en-US')}, got "${flags.occupants.slice(0, 40)}"`, 'send');
    }
  }
}

/**
 * `--occupants <n>`: the channel the user is in after the change (joined, moved into) holds n and
 * lists the user; other members stay unnamed. For a leave, 0 says the channel is empty (the card
 * ends); any other count is left out, so the card keeps the names it has instead of n nameless.
 */
function withOccupants(ref: VoiceChannelRef, count: number, user: { id: string; name: string } | undefined): VoiceChannelRef {
  return { ...ref, occupants: { count, members: user ? [user] : [] } };
}

export function buildVoiceEvent(builder: VoiceBuilder, flags: VoiceFlags, local: LocalDefaults, now = new Date()): VoiceStateUpdateEvent {
  checkFlags(builder, flags);
  const guildId = flags.guild ?? local.settings?.guildId;
  if (!guildId) {
    throw new UsageError(`${builder} needs --guild <id>: ${local.settings ? `${local.file} names no guild` : noLocalSettings(local)}`, 'send');
  }
  const userId = flags.user!;
  const name = flags['user-name'] ?? `user-${userId.slice(-4)}`;
  const displayName = flags['display-name'] ?? name;
  const channel = (id: string, channelName: string | undefined): VoiceChannelRef => ({ channel_id: id, channel_name: channelName ?? `channel-${id.slice(-4)}` });
  let before = builder === 'voice-join' ? null : channel(builder === 'voice-move' ? flags.from! : flags.channel!, builder === 'voice-move' ? flags['from-name'] : flags['channel-name']);
  let after = builder === 'voice-leave' ? null : channel(builder === 'voice-move' ? flags.to! : flags.channel!, builder === 'voice-move' ? flags['to-name'] : flags['channel-name']);
  if (flags.occupants !== undefined) {
    const count = Number(flags.occupants);
    if (after) after = withOccupants(after, count, { id: userId, name: displayName });
    else if (before && count === 0) before = withOccupants(before, 0, undefined);
  }
  const event: VoiceStateUpdateEvent = {
    type: EventType.VoiceStateUpdate,
    guild: { id: guildId, name: flags['guild-name'] ?? `guild-${guildId.slice(-4)}` },
    user: { id: userId, name, display_name: displayName, bot: flags.bot ?? false },
    before,
    after,
    at: now.toISOString(),
  };
  // The relay's own schema, as a last check (e.g. a move to the channel it left).
  try {
    parseEventPayload(JSON.stringify(event));
  } catch (error) {
    throw new UsageError(`${builder}: ${(error as Error).message.replace(/^payload: /, '')}`, 'send');
  }
  return event;
}

/**
 * Checks an event read from a file or stdin; returns its JSON text unchanged, but for a voice event
 * without `at`, which is stamped with the time of sending (the relay accepts an `at` only near
 * the envelope's time).
 */
export function checkEventText(input: string, source: string): string {
  let text = input;
  if (text.trim() === '') throw new UsageError(`the event in ${source} is empty; write one JSON event (see the README's example)`, 'send');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`the event in ${source} is not JSON`, 'send');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    throw new UsageError(`the event in ${source} must be a JSON object with a "type", e.g. "${EventType.VoiceStateUpdate}"`, 'send');
  }
  if ((value as { type: string }).type === EventType.VoiceStateUpdate) {
    if (!('at' in value)) text = JSON.stringify({ ...value, at: new Date().toISOString() });
    try {
      parseEventPayload(text);
    } catch (error) {
      throw new UsageError(`the event in ${source} is not a valid ${EventType.VoiceStateUpdate}: ${(error as Error).message.replace(/^payload: /, '')}`, 'send');
    }
  }
  return text;
}
