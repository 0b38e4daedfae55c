/**
 * The forwarder against a real-protocol fake Discord (discord.js's unmodified `@discordjs/ws` connects to it) and a
 * stand-in ingest API reached through the real RelayClient.
 */
import { Forwarder } from '../../lib/forwarder/forwarder';
import { jsonLogger } from '../../lib/forwarder/logger';
import { Spool } from '../../lib/forwarder/spool';
import { RelayClient } from '../../lib/client/relay-client';
import { FakeDiscord, GATEWAY_INTENTS } from '../../testkit/fake-discord';
import { FakeIngest, batchProbeAnswer } from '../../testkit/fake-ingest';
import { KEY } from '../support/fixtures';
import { pollUntil } from '../support/until';

const GUILD = '111111111111111111';
const OTHER_GUILD = '999999999999999999';
const GENERAL = '222222222222222222';
const GAMING = '333333333333333333';
const ALICE = '444444444444444444';
const BOB = '555555555555555555';
const BOT = '666666666666666666';
const CAROL = '777777777777777777';

const ACCEPT = { status: 200, body: { executionArn: 'arn:aws:states:eu-west-1:123456789012:express:Relay:x' } } as const;

let discord: FakeDiscord;
const ingest = new FakeIngest();
let ingestUrl: string;
const logs: string[] = [];

beforeAll(async () => {
  discord = new FakeDiscord([
    { id: GUILD, name: 'Test Guild', voiceChannels: [{ id: GENERAL, name: 'General' }, { id: GAMING, name: 'Gaming' }],
      members: [{ id: ALICE, username: 'alice', globalName: 'Alice' }, { id: BOB, username: 'bob', nick: 'Bobby' }, { id: BOT, username: 'musicbot', bot: true }] },
    { id: OTHER_GUILD, name: 'Other', voiceChannels: [{ id: '888888888888888888', name: 'Lobby' }], members: [{ id: CAROL, username: 'carol' }] },
  ], 1000);
  await discord.start();
  ingestUrl = await ingest.start();
  // A relay that takes batches answers the forwarder's probe.
  ingest.respondTo('/events/sync', batchProbeAnswer);
});
afterAll(async () => {
  await discord.stop();
  await ingest.stop();
});

function makeForwarder(options: Partial<ConstructorParameters<typeof Forwarder>[0]> = {}) {
  const spool = new Spool(':memory:');
  const sender = new RelayClient({ url: ingestUrl, kid: KEY.kid, privateKey: KEY.privateKey, region: 'eu-west-1', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1, timeoutMs: 1000 });
  const forwarder = new Forwarder({
    token: discord.token, sender, spool, discordApi: discord.api, debounceMs: 150, heartbeatMs: 0, retry: { baseMs: 50, maxMs: 200 },
    allowedGuildIds: [GUILD], log: jsonLogger('debug', (l) => logs.push(l)), ...options,
  });
  return { forwarder, spool };
}

/** Runs `body` with a started forwarder, always stopping it. */
async function withForwarder(options: Partial<ConstructorParameters<typeof Forwarder>[0]>, body: (f: Forwarder, spool: Spool) => Promise<void>): Promise<void> {
  const { forwarder, spool } = makeForwarder(options);
  await forwarder.start();
  try {
    await body(forwarder, spool);
  } finally {
    await forwarder.stop(200);
  }
}

/** Events received by the ingest, in arrival order, those of batches (v2 envelopes) included. */
const received = () => ingest.envelopes().flatMap((e): { id: string; event: any }[] => (e.v === 2 ? JSON.parse(e.payload as string) : [{ id: e.id as string, event: JSON.parse(e.payload as string) }]));
/** The events of each envelope received, by user and channel after. */
const envelopes = () => ingest.envelopes().map((e) => (e.v === 2 ? JSON.parse(e.payload as string).map((i: { event: any }) => i.event) : [JSON.parse(e.payload as string)]).map((ev: any) => [ev.user.id, ev.after?.channel_id ?? null]));
const settle = (ms = 400) => new Promise((r) => setTimeout(r, ms));
const until = (check: () => boolean, ms = 5000) => pollUntil(check, ms);

beforeEach(() => {
  ingest.script();
  ingest.setFallback(ACCEPT);
  logs.length = 0;
});

describe('forwarding', () => {
  let forwarder: Forwarder;
  beforeAll(async () => {
    ({ forwarder } = makeForwarder());
    await forwarder.start();
  });
  afterAll(() => forwarder.stop());

  it('identifies with exactly the Guilds and GuildVoiceStates intents', () => {
    expect(discord.identifies.at(-1)?.intents).toBe(GATEWAY_INTENTS.Guilds | GATEWAY_INTENTS.GuildVoiceStates);
    expect(logs.join('\n')).not.toContain(discord.token);
  });

  it('forwards join, move and leave as VOICE_STATE_UPDATE events with names from the cache', async () => {
    discord.setVoiceState(GUILD, ALICE, GENERAL);
    await until(() => received().length === 1);
    discord.setVoiceState(GUILD, ALICE, GAMING);
    await until(() => received().length === 2);
    discord.setVoiceState(GUILD, ALICE, null);
    await until(() => received().length === 3);
    const events = received().map((r) => r.event);
    expect(events[0]).toMatchObject({
      type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Test Guild' }, user: { id: ALICE, name: 'alice', display_name: 'Alice', bot: false },
      before: null, after: { channel_id: GENERAL, channel_name: 'General' },
    });
    expect(events[1]).toMatchObject({ before: { channel_id: GENERAL }, after: { channel_id: GAMING, channel_name: 'Gaming' } });
    expect(events[2]).toMatchObject({ before: { channel_id: GAMING }, after: null });
    expect(received().map((r) => r.id)).toEqual([expect.stringMatching(new RegExp(`^vsu:${GUILD}:${ALICE}:[0-9a-f]+:\\d+$`)), expect.any(String), expect.any(String)]);
    expect(new Set(received().map((r) => r.id)).size).toBe(3);
  });

  it('uses the server nickname as the display name', async () => {
    discord.setVoiceState(GUILD, BOB, GENERAL);
    await until(() => received().length === 1);
    expect(received()[0].event.user).toMatchObject({ name: 'bob', display_name: 'Bobby' });
    discord.setVoiceState(GUILD, BOB, null);
    await until(() => received().length === 2);
  });

  it('adds who is in each channel after the change: count and names from the cache', async () => {
    discord.setVoiceState(GUILD, BOB, GENERAL);
    await until(() => received().length === 1);
    discord.setVoiceState(GUILD, ALICE, GENERAL);
    await until(() => received().length === 2);
    discord.setVoiceState(GUILD, ALICE, GAMING);
    await until(() => received().length === 3);
    const [bobJoins, aliceJoins, aliceMoves] = received().map((r) => r.event);
    expect(bobJoins.after.occupants).toEqual({ count: 1, members: [{ id: BOB, name: 'Bobby' }] });
    expect(aliceJoins.after.occupants.count).toBe(2);
    expect(aliceJoins.after.occupants.members).toEqual(expect.arrayContaining([{ id: BOB, name: 'Bobby' }, { id: ALICE, name: 'Alice' }]));
    expect(aliceMoves.before).toMatchObject({ channel_id: GENERAL, occupants: { count: 1, members: [{ id: BOB, name: 'Bobby' }] } });
    expect(aliceMoves.after).toMatchObject({ channel_id: GAMING, occupants: { count: 1, members: [{ id: ALICE, name: 'Alice' }] } });
    discord.setVoiceState(GUILD, ALICE, null);
    discord.setVoiceState(GUILD, BOB, null);
    await until(() => received().length === 5);
    expect(received().map((r) => r.event.before?.occupants?.count)).toEqual([undefined, undefined, 1, 0, 0]);
  });

  it('ignores mute/deafen/video changes, bots, and guilds not allowed', async () => {
    discord.setVoiceState(GUILD, ALICE, GENERAL);
    await until(() => received().length === 1);
    discord.setVoiceState(GUILD, ALICE, GENERAL, { self_mute: true });
    discord.setVoiceState(GUILD, ALICE, GENERAL, { self_deaf: true, self_video: true });
    discord.setVoiceState(GUILD, BOT, GAMING);
    discord.setVoiceState(OTHER_GUILD, CAROL, '888888888888888888');
    await settle();
    expect(received()).toHaveLength(1);
    discord.setVoiceState(GUILD, ALICE, null);
    discord.setVoiceState(GUILD, BOT, null);
    discord.setVoiceState(OTHER_GUILD, CAROL, null);
    await until(() => received().length === 2);
  });

  it('forwards nothing for a join and leave inside the debounce window', async () => {
    discord.setVoiceState(GUILD, ALICE, GENERAL);
    discord.setVoiceState(GUILD, ALICE, null);
    discord.setVoiceState(GUILD, ALICE, GAMING);
    discord.setVoiceState(GUILD, ALICE, null);
    await settle();
    expect(received()).toEqual([]);
  });

  it('forwards a leave and a join of another channel inside the window as one move', async () => {
    discord.setVoiceState(GUILD, BOB, GENERAL);
    await until(() => received().length === 1);
    discord.setVoiceState(GUILD, BOB, null);
    discord.setVoiceState(GUILD, BOB, GAMING);
    await until(() => received().length === 2);
    await settle();
    expect(received()[1].event).toMatchObject({ before: { channel_id: GENERAL }, after: { channel_id: GAMING } });
    expect(received()).toHaveLength(2);
    discord.setVoiceState(GUILD, BOB, null);
    await until(() => received().length === 3);
  });

  it('announces nothing after a dropped connection is resumed, and forwards what happened meanwhile once', async () => {
    discord.setVoiceState(GUILD, ALICE, GENERAL);
    await until(() => received().length === 1);
    const resumes = discord.resumes.length;
    discord.dropConnection();
    discord.dispatchWhileAway(GUILD, ALICE, GAMING);
    await until(() => discord.resumes.length > resumes && discord.connected);
    await until(() => received().length === 2);
    await settle();
    expect(received().map((r) => [r.event.before?.channel_id ?? null, r.event.after?.channel_id ?? null])).toEqual([[null, GENERAL], [GENERAL, GAMING]]);
    discord.setVoiceState(GUILD, ALICE, null);
    await until(() => received().length === 3);
  });

  it('reports health: gateway, guilds, spool, last delivery', async () => {
    // The ingest has answered the last send; the spool drops it once the answer is read.
    await until(() => forwarder.healthReport().spool.depth === 0);
    expect(forwarder.healthReport()).toMatchObject({
      status: 'ok', gateway: { connected: true }, guilds: 2, spool: { depth: 0, capacity: 10_000, dead: 0 }, lastDelivery: expect.any(String), lastError: null,
    });
  });
});

describe('restart', () => {
  it('announces nobody who was already in a channel when it starts', async () => {
    discord.seedVoiceState(GUILD, ALICE, GENERAL);
    discord.seedVoiceState(GUILD, BOB, GAMING);
    await withForwarder({}, async () => {
      await settle();
      expect(received()).toEqual([]);
      // And the cache knows them: Alice leaving is a leave from General.
      discord.setVoiceState(GUILD, ALICE, null);
      await until(() => received().length === 1);
      expect(received()[0].event).toMatchObject({ before: { channel_id: GENERAL, channel_name: 'General' }, after: null });
      discord.setVoiceState(GUILD, BOB, null);
      await until(() => received().length === 2);
    });
  });
});

/** What a relay deployed before batches answers the forwarder's v2 probe. */
const OLD_RELAY_PROBE_ANSWER = { status: 200, body: { executionArn: 'arn:x', status: 'FAILED', error: 'Relay.Malformed', cause: 'v: must be 1' } } as const;

/** Alice, then Bob, join General while the ingest answers 503: both wait in the spool. */
async function twoJoinsWhileTheRelayIsDown(): Promise<void> {
  ingest.setFallback({ status: 503, body: { message: 'Service Unavailable' } });
  discord.setVoiceState(GUILD, ALICE, GENERAL);
  await settle(250);
  discord.setVoiceState(GUILD, BOB, GENERAL);
}

describe('the spool', () => {
  it('keeps events while the relay is down and delivers each once, in order, when it is back', async () => {
    await withForwarder({}, async (forwarder, spool) => {
      await until(() => logs.some((l) => l.includes('the relay takes batches')));
      ingest.setFallback({ status: 503, body: { message: 'Service Unavailable' } });
      discord.setVoiceState(GUILD, ALICE, GENERAL);
      await settle(250);
      discord.setVoiceState(GUILD, BOB, GENERAL);
      await settle(250);
      discord.setVoiceState(GUILD, ALICE, GAMING);
      await until(() => spool.depth() === 3);
      await settle(300);
      expect(forwarder.healthReport()).toMatchObject({ status: 'degraded', spool: { depth: 3 }, lastError: { message: expect.stringContaining('HTTP 503') } });
      const failedAttempts = ingest.requests.length;
      expect(failedAttempts).toBeGreaterThan(0);
      ingest.script();
      ingest.setFallback(ACCEPT);
      await until(() => spool.depth() === 0);
      const delivered = received();
      expect(delivered.map((r) => [r.event.user.id, r.event.after?.channel_id])).toEqual([[ALICE, GENERAL], [BOB, GENERAL], [ALICE, GAMING]]);
      expect(new Set(delivered.map((r) => r.id)).size).toBe(3);
      // What waited went out batched, but never one member twice in an envelope: Alice's join and move keep their order.
      const sent = envelopes().slice(-2);
      expect(sent.flat()).toEqual([[ALICE, GENERAL], [BOB, GENERAL], [ALICE, GAMING]]);
      expect(sent[0]).toEqual([[ALICE, GENERAL], [BOB, GENERAL]]);
      for (const who of [ALICE, BOB]) discord.setVoiceState(GUILD, who, null);
      await until(() => received().length === 5);
    });
  });

  it('never batches events of two guilds together: the relay reads one guild\'s settings for an envelope', async () => {
    await withForwarder({ allowedGuildIds: [GUILD, OTHER_GUILD] }, async (_, spool) => {
      await until(() => logs.some((l) => l.includes('the relay takes batches')));
      ingest.setFallback({ status: 503, body: { message: 'Service Unavailable' } });
      discord.setVoiceState(GUILD, ALICE, GENERAL);
      await settle(250);
      discord.setVoiceState(OTHER_GUILD, CAROL, '888888888888888888');
      await settle(250);
      discord.setVoiceState(OTHER_GUILD, CAROL, null);
      await settle(250);
      discord.setVoiceState(GUILD, BOB, GENERAL);
      await until(() => spool.depth() === 4);
      ingest.script(); // also forgets the refused requests
      ingest.setFallback(ACCEPT);
      await until(() => spool.depth() === 0);
      // Carol's join and leave stay apart too (one member), so four envelopes, each of one guild.
      const sent = ingest.envelopes().map((e) => (e.v === 2 ? JSON.parse(e.payload as string).map((i: { event: any }) => i.event.guild.id) : [JSON.parse(e.payload as string).guild.id]));
      expect(sent.flat()).toEqual([GUILD, OTHER_GUILD, OTHER_GUILD, GUILD]);
      for (const guilds of sent) expect(new Set(guilds).size).toBe(1);
      discord.setVoiceState(GUILD, ALICE, null);
      discord.setVoiceState(GUILD, BOB, null);
      await until(() => received().filter((r) => r.event.after === null).length >= 3);
    });
  });

  it('sets aside an event the relay refuses (4xx) and lets the rest through', async () => {
    await withForwarder({}, async (_, spool) => {
      ingest.script({ status: 400, body: { message: 'Invalid input' } });
      discord.setVoiceState(GUILD, ALICE, GENERAL);
      await settle(250);
      discord.setVoiceState(GUILD, ALICE, null);
      // The refused one, then the next.
      await until(() => received().length === 2 && spool.depth() === 0);
      expect(spool.deadCount()).toBe(1);
      expect(logs.some((l) => l.includes('moved to dead letters'))).toBe(true);
    });
  });

  it('asks whether the relay takes batches before sending one: a relay older than batches gets every event alone', async () => {
    // Such a relay starts an execution for a batch and fails it in Verify, after the spool let the events go.
    ingest.respondTo('/events/sync', () => OLD_RELAY_PROBE_ANSWER);
    try {
      await withForwarder({}, async (_, spool) => {
        await twoJoinsWhileTheRelayIsDown();
        await until(() => spool.depth() === 2);
        await settle(200);
        ingest.setFallback(ACCEPT);
        await until(() => spool.depth() === 0);
        expect(ingest.envelopes().every((e) => e.v === 1)).toBe(true);
        expect(logs.some((l) => l.includes('the relay does not take batches'))).toBe(true);
        for (const who of [ALICE, BOB]) discord.setVoiceState(GUILD, who, null);
        await until(() => received().length >= 4 && spool.depth() === 0);
      });
    } finally {
      ingest.respondTo('/events/sync', batchProbeAnswer);
    }
  });

  it('asks again while batching: a relay rolled back to one without batches gets every event alone from then on', async () => {
    let takes = true;
    ingest.respondTo('/events/sync', (request) => (takes ? batchProbeAnswer(request) : OLD_RELAY_PROBE_ANSWER));
    try {
      await withForwarder({ batchProbe: { retryMs: 100, recheckMs: 100 } }, async () => {
        await until(() => logs.some((l) => l.includes('the relay takes batches')));
        takes = false;
        await until(() => logs.some((l) => l.includes('the relay does not take batches')));
        await twoJoinsWhileTheRelayIsDown();
        await settle(300);
        ingest.setFallback(ACCEPT);
        await until(() => received().filter((r) => r.event.after?.channel_id === GENERAL).length >= 2);
        expect(ingest.envelopes().every((e) => e.v === 1)).toBe(true);
        for (const who of [ALICE, BOB]) discord.setVoiceState(GUILD, who, null);
        await until(() => received().filter((r) => r.event.after === null).length >= 2);
      });
    } finally {
      ingest.respondTo('/events/sync', batchProbeAnswer);
    }
  });

  it('a lone event goes out alone (v1) at once; a batch the relay refuses is sent again event by event', async () => {
    await withForwarder({}, async (_, spool) => {
      // The relay's answer to the batch probe first (on a loaded machine it can come late).
      await until(() => logs.some((l) => l.includes('the relay takes batches')));
      discord.setVoiceState(GUILD, ALICE, GENERAL);
      await until(() => received().length === 1);
      expect(ingest.envelopes()[0]).toMatchObject({ v: 1 });
      ingest.setFallback({ status: 503, body: { message: 'Service Unavailable' } });
      discord.setVoiceState(GUILD, BOB, GENERAL);
      await settle(250);
      discord.setVoiceState(GUILD, ALICE, null);
      await until(() => spool.depth() === 2);
      await settle(200);
      // An older relay, say, refuses v2 envelopes: the batch is refused once, then each event goes alone.
      ingest.script({ status: 400, body: { message: 'Invalid input' } });
      ingest.setFallback(ACCEPT);
      await until(() => spool.depth() === 0);
      expect(spool.deadCount()).toBe(0);
      const last = ingest.envelopes().slice(-3);
      expect(last.map((e) => e.v)).toEqual([2, 1, 1]);
      expect(logs.some((l) => l.includes('sending its events one by one'))).toBe(true);
      expect(received().slice(-2).map((r) => [r.event.user.id, r.event.after?.channel_id ?? null])).toEqual([[BOB, GENERAL], [ALICE, null]]);
      discord.setVoiceState(GUILD, BOB, null);
      await until(() => received().length === 4 && spool.depth() === 0);
    });
  });

  it('a spooled row that is not JSON goes alone, as its text, and never stops the forwarder', async () => {
    const { forwarder, spool } = makeForwarder();
    spool.add('good-1', JSON.stringify({ type: 'CUSTOM', guild: { id: GUILD }, user: { id: ALICE } }));
    spool.add('odd-2', '{truncated');
    spool.add('good-3', JSON.stringify({ type: 'CUSTOM', guild: { id: GUILD }, user: { id: BOB } }));
    await forwarder.start();
    try {
      await until(() => spool.depth() === 0);
      expect(ingest.envelopes().flatMap((e) => (e.v === 2 ? JSON.parse(e.payload as string).map((i: { id: string }) => i.id) : [e.id]))).toEqual(['good-1', 'odd-2', 'good-3']);
      expect(ingest.envelopes().find((e) => e.id === 'odd-2')).toMatchObject({ v: 1, payload: '{truncated' });
    } finally {
      await forwarder.stop(200);
    }
  });

  it('stop() puts held changes in the spool instead of dropping them', async () => {
    const { forwarder, spool } = makeForwarder({ debounceMs: 60_000 });
    await forwarder.start();
    ingest.setFallback({ status: 503 });
    discord.setVoiceState(GUILD, BOB, GENERAL);
    await settle(200);
    await forwarder.stop(200);
    expect(spool.depth()).toBe(1);
    expect(JSON.parse(spool.head()!.payload)).toMatchObject({ user: { id: BOB }, after: { channel_id: GENERAL } });
    discord.seedVoiceState(GUILD, BOB, GENERAL);
  });
});

describe('heartbeat and health endpoint', () => {
  it('sends a heartbeat event every interval and serves /healthz', async () => {
    await withForwarder({ heartbeatMs: 150, healthPort: 0 }, async (forwarder) => {
      await until(() => received().length >= 2);
      expect(received()[0]).toEqual({ id: expect.stringMatching(/^hb:forwarder:\d+$/), event: expect.objectContaining({ type: 'FORWARDER_HEARTBEAT', forwarder: 'forwarder', guilds: 2, gateway_connected: true, spool_depth: 0 }) });
      const response = await fetch(`http://127.0.0.1:${forwarder.healthPort}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', gateway: { connected: true }, guilds: 2, spool: { depth: 0 } });
    });
  });
});
