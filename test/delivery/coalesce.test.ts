/** The Coalesce step: every event kept and named once, as few messages as 2000 characters allow, delivered ids skipped. */
import { DISCORD_CONTENT_LIMIT, escapeDiscordText } from '../../lib/contracts/template';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { coalesce as coalesceAny, type BatchItem, type CoalescedBatch, type DiscordMessageBody, type OutgoingMessage } from '../../lib/delivery/coalesce';

/** Coalesce for Discord channels only: every body is a Discord body. */
const coalesce = (...args: Parameters<typeof coalesceAny>) => coalesceAny(...args) as Omit<CoalescedBatch, 'messages'> & { messages: Array<OutgoingMessage & { body: DiscordMessageBody }> };
import { handler } from '../../lambda/coalesce/index';

const laneEvent = (id: string, line: string, channel = 'general') => ({ id, kind: 'voice.join', channel, line, receivedAt: 1763700000 });
const item = (id: string, line: string, channel = 'general', state?: string): BatchItem => ({
  event: laneEvent(id, line, channel),
  claim: state ? { Item: { id: { S: id }, state: { S: state } } } : {},
});

it('one message per channel, one line per event, in queue order, mentions disabled', () => {
  const { messages, skipped } = coalesce([item('a', 'A joined'), item('b', 'B joined', 'audit'), item('c', 'C joined')]);
  expect(skipped).toEqual([]);
  expect(messages).toEqual([
    { channel: 'general', body: { content: 'A joined\nC joined', allowed_mentions: { parse: [] } }, ids: ['a', 'c'], events: [laneEvent('a', 'A joined'), laneEvent('c', 'C joined')], messageIds: ['a', 'c'] },
    { channel: 'audit', body: { content: 'B joined', allowed_mentions: { parse: [] } }, ids: ['b'], events: [laneEvent('b', 'B joined', 'audit')], messageIds: ['b'] },
  ]);
});

it('splits before a message would pass 2000 characters, and never drops or repeats a line', () => {
  const lines = Array.from({ length: 40 }, (_, i) => `🔊 ${'x'.repeat(180)} user ${i} joined`);
  const { messages } = coalesce(lines.map((l, i) => item(`e${i}`, l)));
  expect(messages.length).toBeGreaterThan(1);
  for (const m of messages) expect(m.body.content.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
  expect(messages.flatMap((m) => m.body.content.split('\n'))).toEqual(lines);
  expect(messages.flatMap((m) => m.ids)).toEqual(lines.map((_, i) => `e${i}`));
  // As few messages as the limit allows: each but the last is too full to take the next line.
  for (let i = 0; i < messages.length - 1; i++) {
    const next = messages[i + 1].body.content.split('\n')[0];
    expect(messages[i].body.content.length + 1 + next.length).toBeGreaterThan(DISCORD_CONTENT_LIMIT);
  }
});

it('skips events the dedupe table records as delivered, and repeats within the batch', () => {
  const { messages, skipped } = coalesce([item('a', 'A', 'general', 'delivered'), item('b', 'B', 'general', 'queued'), item('b', 'B')]);
  expect(skipped).toEqual(['a', 'b']);
  expect(messages.map((m) => m.ids)).toEqual([['b']]);
});

it('a batch of only delivered events → no messages', () => {
  expect(coalesce([item('a', 'A', 'general', 'delivered')]).messages).toEqual([]);
});

it('hostile names stay escaped text within the limit: @everyone, role mentions, Markdown, 100-character names', () => {
  const names = ['@everyone', '<@&123456789012345678>', '**bold** __u__ `code` ||spoiler||', 'ｗ'.repeat(100), '@here'];
  const lines = names.map((n) => `🔊 ${escapeDiscordText(n)} joined ${escapeDiscordText('General')}`);
  const { messages } = coalesce(Array.from({ length: 30 }, (_, i) => item(`h${i}`, lines[i % lines.length])));
  for (const m of messages) {
    expect(m.body.allowed_mentions).toEqual({ parse: [] });
    expect(m.body.content.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
    expect(m.body.content).not.toMatch(/(^|[^\\])@everyone|(^|[^\\])<@&/);
  }
  expect(messages.flatMap((m) => m.body.content.split('\n'))).toHaveLength(30);
});

it('a line longer than a whole message is cut to fit, not dropped', () => {
  const { messages } = coalesce([item('a', 'y'.repeat(2500))]);
  expect(messages[0].body.content).toHaveLength(DISCORD_CONTENT_LIMIT);
  expect(messages[0].body.content.endsWith('…')).toBe(true);
});

it('refuses a batch that is not an array with Relay.Malformed', async () => {
  await expect(handler({ batch: 'x' } as never)).rejects.toMatchObject({ name: RelayErrorCode.Malformed, message: expect.stringContaining('not an array') });
});

it.each([
  ['an event without id', { channel: 'general', line: 'a', kind: 'k', receivedAt: 1 }, 'id is missing', 'general'],
  ['a bad channel', laneEvent('a', 'A', 'Bad Channel!'), 'channel is missing or malformed', 'malformed'],
  ['an empty line', laneEvent('a', '  '), 'line is missing or empty', 'general'],
  ['not an object', null, 'not an object', 'malformed'],
])('sets aside %s to be dead-lettered alone, as it was queued, and the rest of the batch goes on', async (_what, bad, reason, group) => {
  const raw = ` ${JSON.stringify(bad)} `;
  const result = await handler({ batch: [{ event: laneEvent('ok', 'OK joined'), messageId: 'm-ok' }, { event: bad, messageId: 'm-bad', body: raw }] } as never);
  // The body exactly as it was queued (not re-serialized), deduplicated by its lane message.
  expect(result.malformed).toEqual([{ body: raw, messageId: 'm-bad', group, reason: expect.stringContaining(`batch[1]: lane event ${reason}`) }]);
  expect(result.messages.flatMap((m) => m.ids)).toEqual(['ok']);
  expect(result.messages.flatMap((m) => m.messageIds)).toEqual(['m-ok']);
});

describe('guild settings (the Discord app)', () => {
  const NOW = Date.parse('2026-12-01T20:00:00Z');
  const settings = (optedOut: string[], pausedUntil = new Date(0).toISOString()) => ({ Item: { pausedUntil: { S: pausedUntil }, optedOut: { SS: ['-', ...optedOut] } } });
  const member = (id: string, line: string, userId: string, s?: BatchItem['settings']): BatchItem => ({ event: { ...laneEvent(id, line), guildId: '123456789012345678', userId }, claim: {}, settings: s });

  it('leaves out an opted-out member\'s events and everything from a paused guild, read as the batch is delivered', () => {
    const { messages, skipped } = coalesce([
      member('a', 'A joined', '1001', settings(['1001'])),
      member('b', 'B joined', '1002', settings(['1001'])),
      member('c', 'C joined', '1003', settings([], new Date(NOW + 60_000).toISOString())),
      member('d', 'D joined', '1004', settings([], new Date(NOW - 1).toISOString())),
      member('e', 'E joined', '1005'),
    ], { nowMs: NOW });
    expect(skipped).toEqual(['a', 'c']);
    expect(messages.map((m) => m.body.content)).toEqual(['B joined\nD joined\nE joined']);
  });

  it('gives a card update the ids it must not name, and leaves out the opted-out member\'s own card events', () => {
    const voice = [{ channel_id: '222222222222222222', channel_name: 'General', occupants: { count: 2, members: [{ id: '1001', name: 'Hidden' }, { id: '1002', name: 'Shown' }] } }];
    const card = (id: string, userId: string) => ({ event: { id, kind: 'voice.join', channel: 'general', voice, user: { id: userId, display_name: 'x' }, at: '2026-12-01T19:59:00Z' }, claim: {}, settings: settings(['1001']) });
    const { messages, skipped } = coalesce([card('h', '1001'), card('s', '1002')], { nowMs: NOW });
    expect(skipped).toEqual(['h']);
    expect(messages).toHaveLength(1);
    expect(messages[0].card?.hidden).toEqual(['1001']);
    expect(messages[0].ids).toEqual(['s']);
  });
});

describe('Slack channels', () => {
  const voice = { type: 'VOICE_STATE_UPDATE', guild: { id: '123456789012345678', name: 'G' }, user: { id: '444444444444444444', name: 'a', display_name: 'Ana' }, before: null, after: { channel_id: '222222222222222222', channel_name: 'Room' }, at: '2026-12-02T08:00:00.000Z' };
  const slackEvent = (id: string, slack: unknown, channel = 'team') => ({ event: { id, kind: 'voice.join', channel, slack } });

  it('renders a Slack route\'s event and converts a line written for Discord, one message of text', () => {
    const { messages } = coalesceAny([slackEvent('s1', { template: '**{user}** joined', event: voice }), { event: laneEvent('t1', '🧪 \\*test\\*', 'team') }], { slackChannels: ['team'] });
    expect(messages).toEqual([{ channel: 'team', body: { text: '*Ana* joined\n🧪 _test_' }, ids: ['s1', 't1'], events: expect.any(Array), messageIds: ['s1', 't1'] }]);
  });

  it.each([
    ['a template that does not parse', { template: '{nope}', event: voice }],
    ['a user id that is not a snowflake', { template: '{user_id}', event: { ...voice, user: { ...voice.user, id: '<!channel>' } } }],
    ['an `at` that is not an ISO time', { template: '{at}', event: { ...voice, at: '<!here> 2026' } }],
  ])('sets aside %s as malformed, never rendering it', (_, slack) => {
    const { malformed, messages } = coalesceAny([slackEvent('bad', slack)], { slackChannels: ['team'] });
    expect(malformed).toEqual([expect.objectContaining({ group: 'team', reason: expect.stringContaining('slack is malformed') })]);
    expect(messages).toEqual([]);
  });

  it('sets aside a lane event of the other kind\'s shape: a Slack form on a Discord channel, a card event on a Slack channel', () => {
    const card = { event: { id: 'c', kind: 'voice.join', channel: 'team', voice: [{ channel_id: '1', channel_name: 'R' }], user: { id: '1', display_name: 'x' }, at: '2026-12-02T08:00:00.000Z' } };
    const { malformed, messages } = coalesceAny([slackEvent('s', { template: '{user}', event: voice }, 'general'), card], { slackChannels: ['team'] });
    expect(malformed.map((m) => m.reason)).toEqual([expect.stringContaining('not a Slack channel'), expect.stringContaining('cannot edit a message')]);
    expect(messages).toEqual([]);
  });

  it('keeps every message under 4,000 characters, splitting before it', () => {
    const wide = { ...voice, user: { ...voice.user, display_name: '&'.repeat(100) } };
    const { messages } = coalesceAny(Array.from({ length: 10 }, (_, i) => slackEvent(`w${i}`, { template: '{user} {user_mention} {user}', event: wide })), { slackChannels: ['team'] });
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect((m.body as { text: string }).text.length).toBeLessThanOrEqual(4000);
    expect(messages.flatMap((m) => m.ids)).toHaveLength(10);
  });
});

it('one event on two channels\' lanes posts on each; a channel in deliveredTo is skipped, an older delivered item (no set) everywhere', () => {
  const copy = (channel: string, claim: BatchItem['claim']): BatchItem => ({ event: laneEvent('f', `F joined ${channel}`, channel), claim });
  const both = coalesce([copy('general', {}), copy('audit', {}), copy('general', {})]);
  expect(both.messages.map((m) => [m.channel, m.ids])).toEqual([['general', ['f']], ['audit', ['f']]]);
  const onGeneral = { Item: { id: { S: 'f' }, state: { S: 'delivered' }, deliveredTo: { SS: ['general'] } } };
  const partly = coalesce([copy('general', onGeneral), copy('audit', onGeneral)]);
  expect(partly.messages.map((m) => m.channel)).toEqual(['audit']);
  expect(partly.skipped).toEqual(['f']);
  const older = { Item: { id: { S: 'f' }, state: { S: 'delivered' } } };
  expect(coalesce([copy('general', older), copy('audit', older)]).messages).toEqual([]);
});
