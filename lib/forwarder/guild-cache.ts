/**
 * The forwarder's picture of Discord, kept from gateway dispatches alone: per guild its name, its
 * voice channels' names, and who sits in which voice channel (with the names an event needs).
 *
 * Only what the Guilds and GuildVoiceStates intents deliver and the forwarder reads is kept, so
 * memory follows the number of people in voice, not the size of the guilds. Names follow
 * Discord's display rules: server nickname, else global display name, else username.
 */
import {
  ChannelType,
  GatewayDispatchEvents,
  type APIGuildMember,
  type GatewayDispatchPayload,
  type GatewayGuildCreateDispatchData,
  type GatewayVoiceState,
} from 'discord-api-types/v10';

/** Someone in a voice channel, as the forwarder names them. */
export interface VoiceMember {
  readonly channelId: string;
  readonly userName: string;
  readonly displayName: string;
  readonly bot: boolean;
}

export interface CachedGuild {
  readonly id: string;
  name: string;
  /** The gateway shard the guild arrived on (a fresh READY on that shard replaces its guilds). */
  readonly shardId: number;
  /** Voice and stage channels: id → name. */
  readonly channels: Map<string, string>;
  /** Members in voice: user id → where they are and their names. */
  readonly voice: Map<string, VoiceMember>;
}

/** One VOICE_STATE_UPDATE, resolved against the cache: where the user was, and is now. */
export interface VoiceStateChange {
  readonly guild: CachedGuild;
  readonly userId: string;
  /** The user's names as of this dispatch (it carries the member, also when they leave). */
  readonly user: Omit<VoiceMember, 'channelId'>;
  readonly before: VoiceMember | null;
  readonly after: VoiceMember | null;
}

const VOICE_CHANNEL_TYPES: ReadonlySet<number> = new Set([ChannelType.GuildVoice, ChannelType.GuildStageVoice]);

function namesOf(member: APIGuildMember | undefined, userId: string, known?: VoiceMember): Omit<VoiceMember, 'channelId'> {
  const user = member?.user;
  if (!user) return known ? { userName: known.userName, displayName: known.displayName, bot: known.bot } : { userName: userId, displayName: userId, bot: false };
  return { userName: user.username, displayName: member.nick ?? user.global_name ?? user.username, bot: user.bot ?? false };
}

export class GuildCache {
  private readonly guilds = new Map<string, CachedGuild>();

  get size(): number {
    return this.guilds.size;
  }

  get(guildId: string): CachedGuild | undefined {
    return this.guilds.get(guildId);
  }

  values(): IterableIterator<CachedGuild> {
    return this.guilds.values();
  }

  /**
   * A fresh session on `shardId` (READY): the guilds it lists replace what the shard had; guilds
   * no longer listed (the bot was removed while away) are forgotten.
   */
  resetShard(shardId: number, listed: readonly string[]): void {
    const keep = new Set(listed);
    for (const guild of this.guilds.values()) if (guild.shardId === shardId && !keep.has(guild.id)) this.guilds.delete(guild.id);
  }

  /**
   * Applies a dispatch. Returns the change for a VOICE_STATE_UPDATE in a known guild; every other
   * dispatch (and a voice state of a guild not yet created) only updates the cache.
   */
  apply(dispatch: GatewayDispatchPayload, shardId = 0): VoiceStateChange | undefined {
    switch (dispatch.t) {
      case GatewayDispatchEvents.GuildCreate:
        this.guilds.set(dispatch.d.id, this.snapshot(dispatch.d, shardId));
        return undefined;
      case GatewayDispatchEvents.GuildUpdate: {
        const guild = this.guilds.get(dispatch.d.id);
        if (guild) guild.name = dispatch.d.name;
        return undefined;
      }
      case GatewayDispatchEvents.GuildDelete:
        // Unavailable (an outage) or removed: either way its voice states are unknown until a GUILD_CREATE.
        this.guilds.delete(dispatch.d.id);
        return undefined;
      case GatewayDispatchEvents.ChannelCreate:
      case GatewayDispatchEvents.ChannelUpdate: {
        const channel = dispatch.d;
        const guild = 'guild_id' in channel && channel.guild_id ? this.guilds.get(channel.guild_id) : undefined;
        if (guild && VOICE_CHANNEL_TYPES.has(channel.type)) guild.channels.set(channel.id, channel.name ?? channel.id);
        return undefined;
      }
      case GatewayDispatchEvents.ChannelDelete: {
        const channel = dispatch.d;
        if ('guild_id' in channel && channel.guild_id) this.guilds.get(channel.guild_id)?.channels.delete(channel.id);
        return undefined;
      }
      case GatewayDispatchEvents.VoiceStateUpdate:
        return this.voiceStateUpdate(dispatch.d);
      default:
        return undefined;
    }
  }

  /** The voice channel's name, or its id when the cache has no name for it. */
  channelName(guild: CachedGuild, channelId: string): string {
    return guild.channels.get(channelId) ?? channelId;
  }

  /** Who is in a voice channel now, in the order they arrived. */
  occupants(guildId: string, channelId: string): Array<[userId: string, member: VoiceMember]> {
    const guild = this.guilds.get(guildId);
    return guild ? [...guild.voice].filter(([, m]) => m.channelId === channelId) : [];
  }

  private snapshot(data: GatewayGuildCreateDispatchData, shardId: number): CachedGuild {
    const channels = new Map<string, string>();
    for (const c of data.channels ?? []) if (VOICE_CHANNEL_TYPES.has(c.type)) channels.set(c.id, c.name ?? c.id);
    const members = new Map((data.members ?? []).filter((m) => m.user).map((m) => [m.user!.id, m]));
    const voice = new Map<string, VoiceMember>();
    for (const state of data.voice_states ?? []) {
      const s = state as GatewayVoiceState;
      if (s.channel_id) voice.set(s.user_id, { channelId: s.channel_id, ...namesOf(s.member ?? members.get(s.user_id), s.user_id) });
    }
    return { id: data.id, name: data.name, shardId, channels, voice };
  }

  private voiceStateUpdate(state: GatewayVoiceState): VoiceStateChange | undefined {
    const guild = state.guild_id ? this.guilds.get(state.guild_id) : undefined;
    if (!guild) return undefined;
    const before = guild.voice.get(state.user_id) ?? null;
    const user = namesOf(state.member, state.user_id, before ?? undefined);
    const after = state.channel_id ? { channelId: state.channel_id, ...user } : null;
    if (after) guild.voice.set(state.user_id, after);
    else guild.voice.delete(state.user_id);
    return { guild, userId: state.user_id, user, before, after };
  }
}
