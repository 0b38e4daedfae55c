/**
 * Slack channels through the local relay, end to end (examples/slack.config.ts: joins and leaves
 * to #general on Discord and #team on Slack, moves to #general only): joins reach both channels
 * once each, hostile names arrive inert in Slack, a burst
 * over Slack's one-per-second limit is paced and loses nothing, and a removed Slack webhook
 * dead-letters its events without holding up the Discord channel.
 */
import type { RelayClient } from '../../lib/client/relay-client';
import type { VoiceStateUpdateEvent } from '../../lib/contracts/events';
import type { LocalRelayServer } from '../../lib/local/local-relay-server';
import { SLACK_WEBHOOK_RATE_LIMIT } from '../../lib/local/slack-sink';
import { startTestRelay } from '../support/local-relay';

const GUILD = '123456789012345678';
const ROOM = { channel_id: '222222222222222222', channel_name: 'Room' };
const HALL = { channel_id: '333333333333333333', channel_name: 'Hall' };
let server: LocalRelayServer;
let client: RelayClient;
let sequence = 0;
const START = Date.now() - 30 * 60_000;

beforeAll(async () => {
  ({ server, client } = await startTestRelay('test/fixtures/slack-config.ts', 'relay-slack-'));
});
afterAll(() => server.stop());
beforeEach(async () => {
  await server.lanes!.pipe.idle();
  server.sink.messages.length = 0;
  server.slackSink!.setRateLimit(false);
});

function voice(name: string, before: typeof ROOM | null, after: typeof ROOM | null, id = String(500000000000000000n + BigInt(++sequence))): VoiceStateUpdateEvent {
  return {
    type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Guild' }, user: { id, name: 'member', display_name: name, bot: false },
    before, after, at: new Date(START + sequence * 1000).toISOString(),
  };
}

const slackTexts = () => server.sink.messages.filter((m) => m.kind === 'slack').map((m) => (m.body as { text: string }).text);

it('says which channel is Slack\'s, and posts a join once on each channel (Slack text and a Discord message), a move to Discord only', async () => {
  expect(server.destinations.map((d) => [d.channel, d.kind])).toEqual([['general', 'discord'], ['team', 'slack']]);
  const join = voice('Ana', null, ROOM);
  const envelope = await client.sendSync(join);
  expect(envelope).toMatchObject({ output: { outcome: 'queued', channel: 'general', channels: ['general', 'team'] } });
  expect(await client.sendSync(voice('Ben', ROOM, HALL))).toMatchObject({ output: { outcome: 'queued', channel: 'general' } });
  await server.lanes!.pipe.idle();
  const [slack, ...moreSlack] = server.sink.messages.filter((m) => m.kind === 'slack');
  const discord = server.sink.messages.filter((m) => m.kind === 'discord').map((m) => (m.body as { content: string }).content);
  expect(moreSlack).toEqual([]);
  expect(slack.body).toEqual({ text: expect.stringMatching(/^🔊 \*Ana\* joined Room · <!date\^\d+\^\{time\}\|\d\d:\d\d UTC>$/) });
  expect(discord).toEqual([expect.stringMatching(/^🔊 \*\*Ana\*\* joined Room · <t:\d+:t>$/), expect.stringContaining('**Ben** moved from Room to Hall')]);
  // /_sink/messages says which kind each message went to.
  const listed = await (await fetch(`${server.url}/_sink/messages`)).json() as Array<{ kind: string }>;
  expect(listed.map((m) => m.kind).sort()).toEqual(['discord', 'discord', 'slack']);
});

it('the same join again (a replay) posts on neither channel', async () => {
  const join = voice('Replay', null, ROOM);
  const first = await client.sendSync(join, { id: 'slack-replay-1' });
  expect(first).toMatchObject({ output: { outcome: 'queued', channels: ['general', 'team'] } });
  await server.lanes!.pipe.idle();
  expect(await client.sendSync(join, { id: 'slack-replay-1' })).toMatchObject({ output: { outcome: 'duplicate' } });
  await server.lanes!.pipe.idle();
  expect(server.sink.messages.map((m) => m.kind).sort()).toEqual(['discord', 'slack']);
});

it('hostile names arrive inert: no mention, link or entity can form from user text', async () => {
  const names = ['<!channel>', '<@U123>', '&lt;', '*bold*', '<https://evil.example|free>', '@here'];
  for (const name of names) await client.sendSync(voice(name, null, ROOM));
  await server.lanes!.pipe.idle();
  const text = slackTexts().join('\n');
  expect(text).toContain('&lt;!channel&gt;');
  expect(text).toContain('&lt;@U123&gt;');
  expect(text).toContain('&amp;lt;');
  expect(text).toContain('&lt;https:\u2060//evil.\u2060example|free&gt;');
  expect(text).toContain('@\u2060here');
  // No formatting from a name: its asterisks are look-alikes, inside the template's own bold.
  expect(text).toContain('*\u2217bold\u2217*');
  // The only `<…>` left are the date tokens the relay wrote, one per line.
  expect(text.match(/<[^>]*>/g)?.every((token) => token.startsWith('<!date^'))).toBe(true);
  expect(text.split('\n')).toHaveLength(names.length);
});

it('a burst over Slack\'s one message a second is paced by its 429s and loses nothing', async () => {
  server.slackSink!.setRateLimit(SLACK_WEBHOOK_RATE_LIMIT);
  const before = server.slackSink!.stats;
  const names = ['Cy', 'Di', 'Ed'];
  // One at a time, each through the lane before the next: each its own Slack message, within a second.
  for (const name of names) {
    await client.sendSync(voice(name, null, ROOM));
    await server.lanes!.pipe.idle();
  }
  const text = slackTexts().join('\n');
  for (const name of names) expect(text.match(new RegExp(`\\*${name}\\* joined`, 'g'))).toHaveLength(1);
  expect(server.slackSink!.stats.rateLimited).toBeGreaterThan(before.rateLimited);
  const times = server.sink.messages.filter((m) => m.kind === 'slack').map((m) => Date.parse(m.receivedAt));
  for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(SLACK_WEBHOOK_RATE_LIMIT.windowMs - 5);
  expect(server.lanes!.deadLetters.peek()).toEqual([]);
}, 30_000);

it('a removed Slack webhook dead-letters its events with the reason, and the Discord channel goes on', async () => {
  expect((await fetch(`${server.url}/_sink/webhooks/team`, { method: 'DELETE' })).status).toBe(204);
  try {
    await client.sendSync(voice('Gil', null, ROOM));
    await client.sendSync(voice('Hal', ROOM, HALL));
    await server.lanes!.pipe.idle();
    const [dead] = server.lanes!.deadLetters.peek();
    expect(JSON.parse(dead.body)).toMatchObject({ channel: 'team', slack: { event: { user: { display_name: 'Gil' } } } });
    expect(dead.attributes.RelayError).toEqual({ DataType: 'String', StringValue: 'ApiGateway.404' });
    expect(dead.attributes.RelayReason.StringValue).toBe('Slack answered ApiGateway.404: no_service');
    // Gil's join on Discord, Hal's move: the Discord channel went on.
    expect(server.sink.messages.map((m) => m.kind)).toEqual(['discord', 'discord']);
    expect(server.lanes!.deadLetters.peek()).toHaveLength(1);
  } finally {
    await fetch(`${server.url}/_sink/webhooks/team`, { method: 'PUT' });
  }
  // Restored and redriven: posted once.
  expect((await (await fetch(`${server.url}/_lanes/redrive`, { method: 'POST' })).json())).toEqual({ moved: 1 });
  await server.lanes!.pipe.idle();
  expect(slackTexts()).toEqual([expect.stringContaining('*Gil* joined')]);
  // Never Discord's copy again: #general is in the claim's deliveredTo.
  expect(server.sink.messages.filter((m) => m.kind === 'discord')).toHaveLength(2);
});

it('a lane event written by hand that cannot be read is dead-lettered alone; its batch goes on', async () => {
  const poison = { id: 'poison-1', kind: 'voice.join', channel: 'team', slack: { template: '{user_id}', event: { ...voice('x', null, ROOM), user: { id: '<!channel>', name: 'x', display_name: 'x', bot: false } } } };
  server.lanes!.lane.send({ MessageBody: JSON.stringify(poison), MessageGroupId: 'team', MessageDeduplicationId: 'poison-1' });
  await client.sendSync(voice('Ivy', null, ROOM));
  await server.lanes!.pipe.idle();
  expect(slackTexts()).toEqual([expect.stringContaining('*Ivy* joined')]);
  expect(slackTexts().join()).not.toContain('<!channel>');
  const [dead] = server.lanes!.deadLetters.peek();
  expect(JSON.parse(dead.body)).toEqual(poison);
  expect(dead.attributes.RelayError).toEqual({ DataType: 'String', StringValue: 'Relay.Malformed' });
  expect(dead.attributes.RelayReason.StringValue).toContain('slack is malformed');
  expect(server.lanes!.lane.peek()).toEqual([]);
});

it('a dead letter redriven too early (the webhook still gone) is kept again, not dropped as a copy', async () => {
  const jos = () => server.lanes!.deadLetters.peek().filter((d) => d.body.includes('"display_name":"Jo"'));
  await fetch(`${server.url}/_sink/webhooks/team`, { method: 'DELETE' });
  try {
    await client.sendSync(voice('Jo', null, ROOM));
    await server.lanes!.pipe.idle();
    expect(jos()).toHaveLength(1);
    // Redriven within SQS's 5-minute deduplication of the first dead letter, and refused again.
    server.lanes!.deadLetters.moveAllTo(server.lanes!.lane);
    await server.lanes!.pipe.idle();
    expect(jos()).toHaveLength(1);
  } finally {
    await fetch(`${server.url}/_sink/webhooks/team`, { method: 'PUT' });
  }
  server.lanes!.deadLetters.moveAllTo(server.lanes!.lane);
  await server.lanes!.pipe.idle();
  expect(slackTexts()).toEqual([expect.stringContaining('*Jo* joined')]);
  expect(jos()).toEqual([]);
});
