/** lib/delivery/card.ts: collapsing a batch's card events, and what each update becomes. */
import { collectCardUpdates, duration, endedText, liveText, renderCard, type CardUpdate } from '../../lib/delivery/card';
import type { CardSession, LaneEvent } from '../../lib/contracts/lane';

const T0 = Date.parse('2026-11-21T20:00:00Z');
/** The relay's clock in most tests: after every change they stamp (a change is never later than now). */
const NOW = T0 + 3 * 3600_000;
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const m = (i: number, name = `User ${i}`) => ({ id: String(400000000000000000n + BigInt(i)), name });
const GENERAL = (members: Array<ReturnType<typeof m>>, count = members.length) => ({ channel_id: '222222222222222222', channel_name: 'General', occupants: { count, members } });
const ev = (id: string, kind: string, voice: LaneEvent['voice'], user: ReturnType<typeof m>, minutes: number, card = {}): LaneEvent =>
  ({ id, kind, channel: 'general', voice, user: { id: user.id, display_name: user.name }, at: at(minutes), card });
const stored = (messageId: string, session: CardSession) => ({ messageId: { S: messageId }, session: { S: JSON.stringify(session) } });

describe('collectCardUpdates', () => {
  it('one update per card, the latest occupants winning, everyone seen kept', () => {
    const [a, b, c] = [m(1), m(2), m(3)];
    const updates = collectCardUpdates('general', [
      ev('1', 'voice.join', [GENERAL([a])], a, 0),
      ev('2', 'voice.join', [GENERAL([a, b])], b, 1),
      ev('3', 'voice.leave', [GENERAL([b])], a, 2),
      ev('4', 'voice.join', [GENERAL([b, c])], c, 3, { minMembers: 2 }),
    ]);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ key: 'card#general#222222222222222222', occupants: { count: 2, members: [b, c] }, at: at(3), settings: { minMembers: 2 } });
    expect(updates[0].seen.map((s) => s.id)).toEqual([a.id, b.id, c.id]);
  });

  it('inside a batch the latest change wins by its time, not by arrival', () => {
    const [a, b] = [m(1), m(2)];
    const [u] = collectCardUpdates('general', [ev('2', 'voice.join', [GENERAL([a, b])], b, 5), ev('1', 'voice.join', [GENERAL([a])], a, 1)]);
    expect(u).toMatchObject({ occupants: { count: 2 }, at: at(5) });
  });

  it('a burst in one batch keeps its peak and its first change: three in at once, then all gone, is peak 3 since the first join', () => {
    const [a, b, c] = [m(1), m(2), m(3)];
    const [u] = collectCardUpdates('general', [
      ev('1', 'voice.join', [GENERAL([a])], a, 0), ev('2', 'voice.join', [GENERAL([a, b])], b, 1), ev('3', 'voice.join', [GENERAL([a, b, c])], c, 2),
      ev('4', 'voice.leave', [GENERAL([b, c])], a, 3), ev('5', 'voice.leave', [GENERAL([c])], b, 4), ev('6', 'voice.leave', [GENERAL([])], c, 5),
    ]);
    expect(u).toMatchObject({ peak: 3, firstAt: at(0), at: at(5), occupants: { count: 0 } });
    const live = stored('m1', { startedAt: at(0), peak: 1, seen: [a.id], seenCount: 1, members: [a], count: 1 });
    expect(renderCard(u, live, NOW).body.content).toBe('🔇 **General** — ended · 5 min · peak 3 · 3 people');
  });

  it('a session a batch starts begins at the batch\'s first change, not its last', () => {
    const [a, b] = [m(1), m(2)];
    const [u] = collectCardUpdates('general', [ev('1', 'voice.join', [GENERAL([a])], a, 0), ev('2', 'voice.join', [GENERAL([a, b])], b, 1)]);
    expect(JSON.parse(renderCard(u, undefined, NOW).session)).toMatchObject({ startedAt: at(0), peak: 2, updatedAt: at(1) });
  });

  it('a change stamped a little in the future (a fast clock) counts as now, so the next real change is not skipped', () => {
    const [a] = [m(1)];
    const [ahead] = collectCardUpdates('general', [ev('1', 'voice.join', [GENERAL([a])], a, 4)]);
    const posted = renderCard(ahead, undefined, T0);
    expect(JSON.parse(posted.session)).toMatchObject({ startedAt: at(0), updatedAt: at(0) });
    const [leave] = collectCardUpdates('general', [ev('2', 'voice.leave', [GENERAL([])], a, 0.1)]);
    expect(renderCard(leave, { messageId: { S: 'm1' }, session: { S: posted.session } }, T0 + 6000).action).toBe('end');
  });

  it('a move touches both cards: a leave from the first, a join into the second', () => {
    const a = m(1);
    const gaming = { channel_id: '333333333333333333', channel_name: 'Gaming', occupants: { count: 1, members: [a] } };
    const [general, game] = collectCardUpdates('general', [ev('1', 'voice.move', [GENERAL([]), gaming], a, 0)]);
    expect(general.changes).toEqual([{ joined: false, member: a }]);
    expect(game.changes).toEqual([{ joined: true, member: a }]);
  });
});

describe('renderCard', () => {
  const update = (members: Array<ReturnType<typeof m>>, minutes: number, settings = {}, count = members.length): CardUpdate =>
    ({ key: 'k', voiceChannelId: '222222222222222222', voiceChannelName: 'General', occupants: { count, members }, changes: [], seen: members, at: at(minutes), settings });

  it('no card yet: a join posts one, pinging only the configured role', () => {
    const r = renderCard(update([m(1, 'Alice')], 0, { pingRoleId: '777777777777777777' }), undefined, NOW);
    expect(r).toMatchObject({ action: 'post', body: { content: `<@&777777777777777777> 🔊 **General** — live · Alice · since <t:${T0 / 1000}:t>`, allowed_mentions: { parse: [], roles: ['777777777777777777'] } } });
    expect(JSON.parse(r.session)).toEqual({ startedAt: at(0), peak: 1, seen: [m(1).id], seenCount: 1, members: [m(1, 'Alice')], count: 1, updatedAt: at(0) });
    expect(Number(r.expiresAt)).toBe(NOW / 1000 + 7 * 86400);
  });

  it('below minMembers: nothing yet, then a post once the channel reaches it', () => {
    expect(renderCard(update([m(1)], 0, { minMembers: 2 }), undefined, NOW).action).toBe('skip');
    expect(renderCard(update([m(1), m(2)], 1, { minMembers: 2 }), undefined, NOW).action).toBe('post');
  });

  it('a live card is edited with the latest occupants, never pinging; the peak and the people seen grow', () => {
    const live = stored('m1', { startedAt: at(0), peak: 3, seen: [m(1).id, m(2).id, m(3).id], seenCount: 3, members: [m(1), m(2), m(3)], count: 3 });
    const r = renderCard(update([m(2), m(4)], 5, { pingRoleId: '777777777777777777' }), live, NOW);
    expect(r).toMatchObject({ action: 'edit', messageId: 'm1', body: { content: `🔊 **General** — live · User 2, User 4 · since <t:${T0 / 1000}:t>`, allowed_mentions: { parse: [] } } });
    expect(JSON.parse(r.session)).toMatchObject({ startedAt: at(0), peak: 3, seenCount: 4, count: 2 });
  });

  it('the channel empties: the card ends with duration, peak and people', () => {
    const live = stored('m1', { startedAt: at(0), peak: 7, seen: Array.from({ length: 9 }, (_, i) => m(i).id), seenCount: 9, members: [m(1)], count: 1 });
    expect(renderCard(update([], 72), live, NOW)).toMatchObject({ action: 'end', messageId: 'm1', endedAt: at(72), body: { content: '🔇 **General** — ended · 1 h 12 min · peak 7 · 9 people', allowed_mentions: { parse: [] } } });
  });

  it('after an end, a change older than the end (sent late) starts no phantom session; a newer one starts the next', () => {
    const ended = { endedAt: { S: at(72) } };
    expect(renderCard(update([m(2)], 71, { pingRoleId: '777777777777777777' }), ended, NOW).action).toBe('skip');
    expect(renderCard(update([m(2)], 72, { pingRoleId: '777777777777777777' }), ended, NOW).action).toBe('skip');
    expect(renderCard(update([m(2)], 73, { pingRoleId: '777777777777777777' }), ended, NOW)).toMatchObject({ action: 'post', body: { allowed_mentions: { roles: ['777777777777777777'] } } });
  });

  it('a change older than the card shows (it arrived late) leaves the card as it is', () => {
    const live = stored('m1', { startedAt: at(0), peak: 3, seen: [], seenCount: 3, members: [m(1), m(2), m(3)], count: 3, updatedAt: at(10) });
    expect(renderCard(update([m(1)], 9), live, NOW).action).toBe('skip');
    expect(renderCard(update([m(1)], 11), live, NOW).action).toBe('edit');
  });

  it('an empty channel with no card stays without one', () => {
    expect(renderCard(update([], 0), undefined, NOW).action).toBe('skip');
  });

  it('without occupants it applies the joins and leaves to the stored members', () => {
    const live = stored('m1', { startedAt: at(0), peak: 2, seen: [m(1).id, m(2).id], seenCount: 2, members: [m(1), m(2)], count: 2 });
    const r = renderCard({ key: 'k', voiceChannelId: '2', voiceChannelName: 'General', changes: [{ joined: false, member: m(1) }, { joined: true, member: m(3) }], seen: [m(3)], at: at(1), settings: {} }, live, NOW);
    expect(JSON.parse(r.session)).toMatchObject({ members: [m(2), m(3)], count: 2, seenCount: 3 });
  });

  it('an unreadable stored session starts a new card rather than failing', () => {
    expect(renderCard(update([m(1)], 0), { messageId: { S: 'm1' }, session: { S: '{oops' } }, NOW).action).toBe('post');
  });
});

describe('text', () => {
  const session = (members: Array<ReturnType<typeof m>>, count = members.length): CardSession => ({ startedAt: at(0), peak: count, seen: [], seenCount: count, members, count });

  it('escapes names: no mention, no markdown, no link', () => {
    expect(liveText('**VIP** @here', session([m(1, '@everyone'), m(2, '[x](http://e.vil)')]))).toBe(`🔊 **\\*\\*VIP\\*\\* \\@here** — live · \\@everyone, \\[x\\]\\(http\\://e.vil\\) · since <t:${T0 / 1000}:t>`);
  });

  it('counts those it does not name, and stays within 2000 characters', () => {
    const many = Array.from({ length: 25 }, (_, i) => m(i, 'x'.repeat(100)));
    const text = liveText('General', session(many, 80));
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text).toMatch(/ \+\d+ more · since <t:\d+:t>$/);
    expect(liveText('General', session([m(1)], 30))).toMatch(/User 1 \+29 more · since/);
  });

  it('ended: one person or many', () => {
    expect(endedText('General', { ...session([m(1)]), seenCount: 1, peak: 1 }, at(5))).toBe('🔇 **General** — ended · 5 min · peak 1 · 1 person');
  });

  it.each([[0, '< 1 min'], [59, '< 1 min'], [60, '1 min'], [3600, '1 h'], [4320, '1 h 12 min'], [-5, '< 1 min']])('duration(%i) = %s', (s, text) => expect(duration(s)).toBe(text));
});

describe('members who opted out (the Discord app)', () => {
  it('are counted as "+n more" and never named, on the card and in the session it stores', () => {
    const [hidden, shown] = [m(1, 'Hidden Person'), m(2, 'Shown')];
    const [update] = collectCardUpdates('general', [ev('e1', 'voice.join', [GENERAL([hidden, shown])], shown, 1)]);
    const card = renderCard({ ...update, hidden: [hidden.id] }, undefined, NOW);
    expect(card.body.content).toMatch(/— live · Shown \+1 more · since/);
    expect(card.body.content).not.toContain('Hidden');
    expect(card.session).not.toContain('Hidden');
    expect((JSON.parse(card.session) as CardSession).count).toBe(2);
  });

  it('a card of only hidden members says how many, with no names', () => {
    const hidden = m(3, 'Nobody Sees Me');
    const [update] = collectCardUpdates('general', [ev('e1', 'voice.join', [GENERAL([hidden])], hidden, 1)]);
    const card = renderCard({ ...update, hidden: [hidden.id] }, undefined, NOW);
    expect(card.body.content).toMatch(/— live · \+1 more · since/);
    expect(card.body.content).not.toContain('Nobody');
  });
});
