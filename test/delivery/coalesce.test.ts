/** The Coalesce step: every event kept and named once, as few messages as 2000 characters allow, delivered ids skipped. */
import { DISCORD_CONTENT_LIMIT, escapeDiscordText } from '../../lib/contracts/template';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { coalesce, type BatchItem } from '../../lib/delivery/coalesce';
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
    { channel: 'general', body: { content: 'A joined\nC joined', allowed_mentions: { parse: [] } }, ids: ['a', 'c'], events: [laneEvent('a', 'A joined'), laneEvent('c', 'C joined')] },
    { channel: 'audit', body: { content: 'B joined', allowed_mentions: { parse: [] } }, ids: ['b'], events: [laneEvent('b', 'B joined', 'audit')] },
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

it.each([
  ['not an array', 'x', 'not an array'],
  ['an event without id', [{ event: { channel: 'general', line: 'a', kind: 'k', receivedAt: 1 } }], 'id is missing'],
  ['a bad channel', [{ event: laneEvent('a', 'A', 'Bad Channel!') }], 'channel is missing or malformed'],
  ['an empty line', [{ event: laneEvent('a', '  ') }], 'line is missing or empty'],
])('refuses %s with Relay.Malformed', async (_what, batch, message) => {
  await expect(handler({ batch } as never)).rejects.toMatchObject({ name: RelayErrorCode.Malformed, message: expect.stringContaining(message) });
});
