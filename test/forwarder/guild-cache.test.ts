/** The forwarder's gateway cache, fed real-shaped dispatches. */
import { ChannelType, GatewayDispatchEvents, type GatewayDispatchPayload } from 'discord-api-types/v10';
import { GuildCache } from '../../lib/forwarder/guild-cache';

const GUILD = '111111111111111111';
const GENERAL = '222222222222222222';
const GAMING = '333333333333333333';
const TEXT = '444444444444444444';
const STAGE = '555555555555555555';

const user = (id: string, username: string, extra: { global_name?: string | null; bot?: boolean } = {}) => ({ id, username, global_name: extra.global_name ?? null, discriminator: '0', avatar: null, bot: extra.bot });
const member = (id: string, username: string, extra: { nick?: string | null; global_name?: string | null; bot?: boolean } = {}) => ({
  user: user(id, username, extra), nick: extra.nick ?? null, roles: [], joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0,
});
const dispatch = (t: string, d: unknown, s = 1) => ({ op: 0, t, s, d }) as unknown as GatewayDispatchPayload;

function guildCreate(extra: Record<string, unknown> = {}) {
  return dispatch(GatewayDispatchEvents.GuildCreate, {
    id: GUILD, name: 'Guild',
    channels: [
      { id: GENERAL, type: ChannelType.GuildVoice, name: 'General' },
      { id: GAMING, type: ChannelType.GuildVoice, name: 'Gaming' },
      { id: TEXT, type: ChannelType.GuildText, name: 'chat' },
      { id: STAGE, type: ChannelType.GuildStageVoice, name: 'Stage' },
    ],
    members: [member('1', 'alice', { global_name: 'Alice' }), member('2', 'bob', { nick: 'Bobby', global_name: 'Bob' }), member('3', 'musicbot', { bot: true })],
    voice_states: [{ user_id: '1', channel_id: GENERAL }, { user_id: '2', channel_id: GENERAL }, { user_id: '3', channel_id: GAMING }, { user_id: '4', channel_id: GAMING }],
    ...extra,
  });
}

const voice = (userId: string, channelId: string | null, m: unknown = undefined) =>
  dispatch(GatewayDispatchEvents.VoiceStateUpdate, { guild_id: GUILD, user_id: userId, channel_id: channelId, member: m, session_id: 'v', deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null });

describe('GuildCache', () => {
  it('takes a guild snapshot: voice and stage channel names only, who is in voice with Discord display names', () => {
    const cache = new GuildCache();
    expect(cache.apply(guildCreate(), 0)).toBeUndefined();
    const guild = cache.get(GUILD)!;
    expect([...guild.channels]).toEqual([[GENERAL, 'General'], [GAMING, 'Gaming'], [STAGE, 'Stage']]);
    expect(cache.occupants(GUILD, GENERAL)).toEqual([
      ['1', { channelId: GENERAL, userName: 'alice', displayName: 'Alice', bot: false }],
      ['2', { channelId: GENERAL, userName: 'bob', displayName: 'Bobby', bot: false }],
    ]);
    // Someone in voice whose member object did not come: named by id until a dispatch names them.
    expect(cache.occupants(GUILD, GAMING)).toEqual([
      ['3', { channelId: GAMING, userName: 'musicbot', displayName: 'musicbot', bot: true }],
      ['4', { channelId: GAMING, userName: '4', displayName: '4', bot: false }],
    ]);
  });

  it('resolves join, move and leave against what it knew, with the names the dispatch carries', () => {
    const cache = new GuildCache();
    cache.apply(guildCreate({ voice_states: [] }));
    const carol = member('5', 'carol', { global_name: 'Carol' });
    expect(cache.apply(voice('5', GENERAL, carol))).toMatchObject({ userId: '5', user: { displayName: 'Carol' }, before: null, after: { channelId: GENERAL } });
    expect(cache.apply(voice('5', GAMING, member('5', 'carol', { nick: 'Caz' })))).toMatchObject({ before: { channelId: GENERAL, displayName: 'Carol' }, after: { channelId: GAMING, displayName: 'Caz' } });
    expect(cache.occupants(GUILD, GAMING).map(([id]) => id)).toEqual(['5']);
    // A dispatch without a member keeps the names already known.
    expect(cache.apply(voice('5', null))).toMatchObject({ user: { displayName: 'Caz' }, before: { channelId: GAMING }, after: null });
    expect(cache.occupants(GUILD, GAMING)).toEqual([]);
  });

  it('ignores voice states of guilds it has not been sent (no before-state to compare with)', () => {
    const cache = new GuildCache();
    expect(cache.apply(voice('5', GENERAL, member('5', 'carol')))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('follows guild and channel renames, new and deleted channels, and forgets a deleted guild', () => {
    const cache = new GuildCache();
    cache.apply(guildCreate());
    const guild = cache.get(GUILD)!;
    cache.apply(dispatch(GatewayDispatchEvents.GuildUpdate, { id: GUILD, name: 'Renamed' }));
    cache.apply(dispatch(GatewayDispatchEvents.ChannelUpdate, { id: GENERAL, type: ChannelType.GuildVoice, name: 'Lounge', guild_id: GUILD }));
    cache.apply(dispatch(GatewayDispatchEvents.ChannelCreate, { id: '666666666666666666', type: ChannelType.GuildVoice, name: 'New', guild_id: GUILD }));
    cache.apply(dispatch(GatewayDispatchEvents.ChannelCreate, { id: '777777777777777777', type: ChannelType.GuildText, name: 'text', guild_id: GUILD }));
    cache.apply(dispatch(GatewayDispatchEvents.ChannelDelete, { id: GAMING, type: ChannelType.GuildVoice, name: 'Gaming', guild_id: GUILD }));
    expect(guild.name).toBe('Renamed');
    expect(cache.channelName(guild, GENERAL)).toBe('Lounge');
    expect(cache.channelName(guild, GAMING)).toBe(GAMING);
    expect([...guild.channels.keys()]).toEqual([GENERAL, STAGE, '666666666666666666']);
    cache.apply(dispatch(GatewayDispatchEvents.GuildDelete, { id: GUILD, unavailable: true }));
    expect(cache.get(GUILD)).toBeUndefined();
  });

  it('a fresh READY on a shard forgets the guilds it no longer lists, and only on that shard', () => {
    const cache = new GuildCache();
    cache.apply(guildCreate(), 0);
    cache.apply(dispatch(GatewayDispatchEvents.GuildCreate, { id: '2', name: 'Other', channels: [], members: [], voice_states: [] }), 1);
    cache.resetShard(0, ['3']);
    expect(cache.get(GUILD)).toBeUndefined();
    expect(cache.get('2')).toBeDefined();
  });
});
