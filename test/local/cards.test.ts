/**
 * Live voice cards through the local relay, end to end: the synthesized card routes, Verify, the
 * lanes, Coalesce, Render card, the webhook proxy's edit route and the sink's Edit Webhook Message.
 */
import type { RelayClient } from '../../lib/client/relay-client';
import type { VoiceStateUpdateEvent } from '../../lib/contracts/events';
import type { LocalRelayServer } from '../../lib/local/local-relay-server';
import { startTestRelay } from '../support/local-relay';
import { PING_ROLE } from '../fixtures/card-config';

const GUILD = '123456789012345678';
const GENERAL = { channel_id: '222222222222222222', channel_name: 'General' };
const GAMING = { channel_id: '333333333333333333', channel_name: 'Gaming' };
// Each test below that leaves a session open uses a voice channel of its own.
const STAGE = { channel_id: '555555555555555555', channel_name: 'Stage' };
const LOUNGE = { channel_id: '666666666666666666', channel_name: 'Lounge' };
const STUDIO = { channel_id: '888888888888888888', channel_name: 'Studio' };
const ATTIC = { channel_id: '999999999999999999', channel_name: 'Attic' };
const CELLAR = { channel_id: '111111111111111111', channel_name: 'Cellar' };
const person = (i: number, name = `User ${i}`) => ({ id: String(400000000000000000n + BigInt(i)), name });
type Person = ReturnType<typeof person>;

let server: LocalRelayServer;
let client: RelayClient;
/** Who is in each voice channel, as the forwarder's cache would say. */
const rooms = new Map<string, Person[]>();
let sequence = 0;
/** Changes are stamped a second apart from half an hour ago: in order, and never later than now (a future change counts as now). */
const START = Date.now() - 30 * 60_000;

beforeAll(async () => {
  ({ server, client } = await startTestRelay('test/fixtures/card-config.ts', 'relay-cards-'));
});
afterAll(() => server.stop());
beforeEach(async () => {
  await server.lanes!.pipe.idle();
  server.sink.messages.length = 0;
  rooms.clear();
});

const ref = (channel: typeof GENERAL | null, withOccupants: boolean) => {
  if (!channel) return null;
  const people = rooms.get(channel.channel_id) ?? [];
  // As the forwarder does: every person counted, at most 25 named.
  return withOccupants ? { ...channel, occupants: { count: people.length, members: people.slice(0, 25) } } : channel;
};

/** A member changes channel: the rooms are updated, then the event is sent as the forwarder would (occupants after the change). */
async function change(who: Person, from: typeof GENERAL | null, to: typeof GENERAL | null, options: { occupants?: boolean; sync?: boolean } = {}) {
  if (from) rooms.set(from.channel_id, (rooms.get(from.channel_id) ?? []).filter((p) => p.id !== who.id));
  if (to) rooms.set(to.channel_id, [...(rooms.get(to.channel_id) ?? []), who]);
  const withOccupants = options.occupants ?? true;
  const event: VoiceStateUpdateEvent = {
    type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Guild' }, user: { id: who.id, name: who.name.toLowerCase(), display_name: who.name, bot: false },
    before: ref(from, withOccupants), after: ref(to, withOccupants), at: new Date(START + sequence++ * 1000).toISOString(),
  };
  const send = options.sync === false ? client.send(event) : client.sendSync(event);
  await send;
  if (options.sync !== false) await server.lanes!.pipe.idle();
}

const contents = () => server.sink.messages.map((m) => (m.body as { content: string }).content);

it('a session: the first join posts a card (pinging the role once), each change edits it, the last leave ends it with a summary', async () => {
  const [alice, bob] = [person(1, 'Alice'), person(2, '@everyone **Bob**')];
  await change(alice, null, GENERAL);
  expect(server.sink.messages).toHaveLength(1);
  expect(server.sink.messages[0].body).toEqual({
    content: expect.stringMatching(new RegExp(`^<@&${PING_ROLE}> 🔊 \\*\\*General\\*\\* — live · Alice · since <t:\\d+:t>$`)),
    allowed_mentions: { parse: [], roles: [PING_ROLE] },
  });
  await change(bob, null, GENERAL);
  await change(alice, GENERAL, null);
  expect(server.sink.messages).toHaveLength(1);
  // The edit carries no ping, and user text stays inert.
  expect(server.sink.messages[0].body).toEqual({ content: expect.stringMatching(/^🔊 \*\*General\*\* — live · \\@everyone \\\*\\\*Bob\\\*\\\* · since <t:\d+:t>$/), allowed_mentions: { parse: [] } });
  await change(bob, GENERAL, null);
  expect(server.sink.messages).toHaveLength(1);
  expect(server.sink.messages[0]).toMatchObject({ edits: 3, body: { content: '🔇 **General** — ended · < 1 min · peak 2 · 2 people', allowed_mentions: { parse: [] } } });
  // The next join starts a new card.
  await change(alice, null, GENERAL);
  expect(contents()).toEqual([expect.stringContaining('— ended'), expect.stringMatching(/— live · Alice/)]);
});

it('a card a moderator deleted is posted anew at the next change, and the edit is not retried', async () => {
  await change(person(1, 'Alice'), null, STUDIO);
  server.sink.deleteMessage(server.sink.messages[0].id);
  const before = server.sink.stats.unknownMessage;
  await change(person(2, 'Bob'), null, STUDIO);
  expect(server.sink.stats.unknownMessage - before).toBe(1);
  expect(contents()).toEqual([expect.stringMatching(/— live · Alice, Bob · since/)]);
  await change(person(3, 'Carol'), null, STUDIO);
  expect(server.sink.messages).toEqual([expect.objectContaining({ edits: 1, body: expect.objectContaining({ content: expect.stringMatching(/Alice, Bob, Carol/) }) })]);
});

it('a move between two carded channels edits both cards', async () => {
  const [alice, bob] = [person(1, 'Alice'), person(2, 'Bob')];
  await change(alice, null, GENERAL);
  await change(bob, null, GENERAL);
  await change(alice, null, GAMING); // Alice's second client: a card in Gaming too
  await change(bob, GENERAL, GAMING);
  const general = server.sink.messages.find((m) => (m.body as { content: string }).content.includes('General'))!;
  const gaming = server.sink.messages.find((m) => (m.body as { content: string }).content.includes('Gaming'))!;
  expect((general.body as { content: string }).content).toMatch(/General\*\* — live · Alice · since/);
  expect((gaming.body as { content: string }).content).toMatch(/Gaming\*\* — live · Alice, Bob · since/);
  expect(server.sink.messages).toHaveLength(2);
});

it('a burst of 30 joins collapses: one card, a handful of edits, everyone on it', async () => {
  const people = Array.from({ length: 30 }, (_, i) => person(100 + i));
  for (const p of people) await change(p, null, STAGE, { sync: false });
  await server.lanes!.pipe.idle();
  expect(server.sink.messages).toHaveLength(1);
  const [card] = server.sink.messages;
  expect(card.edits).toBeLessThan(30);
  expect((card.body as { content: string }).content).toMatch(/User 100, User 101, .* \+5 more · since/);
});

it('events without occupants (an older forwarder) still keep the card right, from the joins and leaves', async () => {
  const [alice, bob] = [person(1, 'Alice'), person(2, 'Bob')];
  await change(alice, null, LOUNGE, { occupants: false });
  await change(bob, null, LOUNGE, { occupants: false });
  expect(contents()).toEqual([expect.stringMatching(/— live · Alice, Bob · since/)]);
  await change(alice, LOUNGE, null, { occupants: false });
  await change(bob, LOUNGE, null, { occupants: false });
  expect(contents()).toEqual(['🔇 **Lounge** — ended · < 1 min · peak 2 · 2 people']);
});

it('a forwarder restarted mid-session: the next event\'s occupants repair the card, and no false "ended"', async () => {
  const [alice, bob, carol] = [person(1, 'Alice'), person(2, 'Bob'), person(3, 'Carol')];
  await change(alice, null, ATTIC);
  await change(bob, null, ATTIC);
  // While the forwarder was down Alice left (no event); after its restart Carol joins, and the snapshot says who is there.
  rooms.set(ATTIC.channel_id, [bob]);
  await change(carol, null, ATTIC);
  expect(contents()).toEqual([expect.stringMatching(/Attic\*\* — live · Bob, Carol · since/)]);
});

it('a deleted webhook: the card\'s events go to the dead-letter queue, and the lane goes on', async () => {
  await change(person(1, 'Alice'), null, CELLAR);
  server.sink.deleteWebhook('general');
  try {
    await change(person(2, 'Bob'), null, CELLAR);
    const lanes = (await (await fetch(`${server.settings.url}/_lanes`)).json()) as { deadLetters: Array<{ error: string; event: { voice?: unknown[] } }> };
    expect(lanes.deadLetters).toEqual(expect.arrayContaining([expect.objectContaining({ error: 'ApiGateway.404', event: expect.objectContaining({ voice: [expect.objectContaining({ channel_name: 'Cellar' })] }) })]));
  } finally {
    server.sink.restoreWebhook('general');
  }
});

describe('time, order and loss (issue 19)', () => {
  const BASEMENT = { channel_id: '121212121212121212', channel_name: 'Basement' };
  const ROOF = { channel_id: '131313131313131313', channel_name: 'Roof' };
  const GARDEN = { channel_id: '141414141414141414', channel_name: 'Garden' };
  const deadLetters = async () => ((await (await fetch(`${server.settings.url}/_lanes`)).json()) as { deadLetters: Array<{ error: string; event: { kind: string; voice?: Array<{ channel_name: string }> } }> }).deadLetters;

  it('ending a card while its webhook is deleted dead-letters the leave (not lost); restored and redriven, the card ends', async () => {
    const alice = person(1, 'Alice');
    await change(alice, null, BASEMENT);
    server.sink.deleteWebhook('general');
    try {
      await change(alice, BASEMENT, null);
      expect(await deadLetters()).toEqual(expect.arrayContaining([expect.objectContaining({ error: 'ApiGateway.404', event: expect.objectContaining({ kind: 'voice.leave', voice: [expect.objectContaining({ channel_name: 'Basement' })] }) })]));
    } finally {
      server.sink.restoreWebhook('general');
    }
    const basement = () => contents().filter((c) => c.includes('Basement'));
    expect(basement()).toEqual([expect.stringMatching(/Basement\*\* — live · Alice/)]);
    await fetch(`${server.settings.url}/_lanes/redrive`, { method: 'POST' });
    await server.lanes!.pipe.idle();
    expect(basement()).toEqual([expect.stringMatching(/^🔇 \*\*Basement\*\* — ended/)]);
  });

  it('a change older than the end of a session (sent late) starts no phantom session and pings no one', async () => {
    const [alice, bob] = [person(1, 'Alice'), person(2, 'Bob')];
    await change(alice, null, ROOF);
    const lateAt = new Date(START + sequence++ * 1000).toISOString(); // Bob joined before Alice left…
    await change(alice, ROOF, null);
    expect(contents()).toEqual([expect.stringContaining('Roof** — ended')]);
    // …but his join arrives only now.
    await client.sendSync({ type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Guild' }, user: { id: bob.id, name: 'bob', display_name: 'Bob', bot: false }, before: null, after: { ...ROOF, occupants: { count: 1, members: [bob] } }, at: lateAt });
    await server.lanes!.pipe.idle();
    expect(server.sink.messages).toHaveLength(1);
    // A newer join does start the next session, with its ping.
    await change(bob, null, ROOF);
    expect(server.sink.messages.at(-1)!.body).toMatchObject({ allowed_mentions: { parse: [], roles: [PING_ROLE] } });
  });

  it('a card\'s settings are its channel\'s: a card started by a move pings, though only the join route names the role', async () => {
    const carol = person(3, 'Carol');
    rooms.set(GARDEN.channel_id, []);
    await change(carol, null, GAMING);
    await change(carol, GAMING, GARDEN);
    const garden = server.sink.messages.find((m) => (m.body as { content: string }).content.includes('Garden'))!;
    expect(garden.body).toMatchObject({ content: expect.stringMatching(new RegExp(`^<@&${PING_ROLE}> 🔊 \\*\\*Garden\\*\\*`)), allowed_mentions: { roles: [PING_ROLE] } });
  });

});

describe('the local relay says what a batch did with cards', () => {
  it('a card update is logged as one, not as a message posted', async () => {
    const { describeBatch } = await import('../../lib/local/lane-pipe-emulator');
    const record = (body: unknown) => ({ body: JSON.stringify(body) }) as never;
    const card = { id: 'e1', kind: 'voice.join', channel: 'general', voice: [GENERAL] };
    const line = { id: 'e2', kind: 'voice.join', channel: 'general', line: 'x' };
    const ok = (results: unknown[]) => ({ status: 'SUCCEEDED', output: { results } }) as never;
    expect(describeBatch(1, ok([{ outcome: 'posted', ids: ['e1'] }]), 12, [record(card)])).toBe('✓ posted     1 event on 1 card update  (12 ms)');
    expect(describeBatch(2, ok([{ outcome: 'posted', ids: ['e1'] }, { outcome: 'posted', ids: ['e2'] }]), 9, [record(card), record(line)])).toBe('✓ posted     1 event in 1 message, 1 event on 1 card update  (9 ms)');
    expect(describeBatch(1, ok([{ outcome: 'posted', ids: ['e2'] }]), 5, [record(line)])).toBe('✓ posted     1 event in 1 message  (5 ms)');
  });

  it('names the lanes a batch came from (its message groups: the channels)', async () => {
    const { describeBatch } = await import('../../lib/local/lane-pipe-emulator');
    const record = (channel: string) => ({ body: JSON.stringify({ id: `e-${channel}`, kind: 'voice.join', channel, line: 'x' }), attributes: { MessageGroupId: channel } }) as never;
    const ok = { status: 'SUCCEEDED', output: { results: [{ outcome: 'posted', ids: ['e-general'] }, { outcome: 'posted', ids: ['e-team'] }] } } as never;
    expect(describeBatch(2, ok, 7, [record('general'), record('team')])).toBe('✓ posted     2 events in 2 messages on #general, #team  (7 ms)');
  });
});
