/**
 * The Discord app through the local relay, end to end: signed interactions on the ingest port,
 * the guild settings in dynalite, and both workflows honouring them — an opted-out member is
 * never posted and never named on a card, a pause stops messages and card changes, `status`
 * needs Manage Server.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readPrivateKeyFile } from '../../lib/client/keys';
import type { RelayClient } from '../../lib/client/relay-client';
import type { VoiceStateUpdateEvent } from '../../lib/contracts/events';
import { IgnoreReason } from '../../lib/contracts/interactions';
import type { LocalRelayServer } from '../../lib/local/local-relay-server';
import { startTestRelay } from '../support/local-relay';
import { commandInteraction, pingInteraction, signedHeaders, type SimulatedCommand } from '../../lib/interactions/simulate';

const GUILD = '123456789012345678';
const person = (i: number, name: string) => ({ id: String(500000000000000000n + BigInt(i)), name });
let server: LocalRelayServer;
let client: RelayClient;
let sequence = 0;
const START = Date.now() - 30 * 60_000;

beforeAll(async () => {
  ({ server, client } = await startTestRelay('test/fixtures/discord-app-config.ts', 'relay-app-'));
});
afterAll(() => server.stop());
beforeEach(async () => {
  await server.lanes!.pipe.idle();
  server.sink.messages.length = 0;
});

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await fetch(server.settings.interactions!.url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function run(command: Omit<SimulatedCommand, 'guildId' | 'applicationId'>): Promise<{ status: number; json: any }> {
  const { applicationId, privateKeyFile } = server.settings.interactions!;
  const body = JSON.stringify(commandInteraction({ guildId: GUILD, applicationId, ...command }));
  return post(body, signedHeaders(body, readPrivateKeyFile(privateKeyFile)));
}

async function voice(who: { id: string; name: string }, from: { id: string; name: string; people: Array<{ id: string; name: string }> } | null, to: typeof from) {
  const ref = (c: typeof from) => c && { channel_id: c.id, channel_name: c.name, occupants: { count: c.people.length, members: c.people } };
  const event: VoiceStateUpdateEvent = {
    type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Guild' }, user: { id: who.id, name: who.name.toLowerCase(), display_name: who.name, bot: false },
    before: ref(from), after: ref(to), at: new Date(START + sequence++ * 1000).toISOString(),
  };
  const outcome = await client.sendSync(event);
  await server.lanes!.pipe.idle();
  return outcome;
}

const contents = () => server.sink.messages.map((m) => (m.body as { content: string }).content);

it('answers a signed PING with PONG and refuses a bad or stale signature with a bare 401', async () => {
  const { applicationId, privateKeyFile } = server.settings.interactions!;
  const key = readPrivateKeyFile(privateKeyFile);
  const body = JSON.stringify(pingInteraction(applicationId));
  expect(await post(body, signedHeaders(body, key))).toEqual({ status: 200, json: { type: 1 } });
  const other = generateKeyPairSync('ed25519').privateKey;
  expect((await post(body, signedHeaders(body, other))).status).toBe(401);
  expect((await post(body, signedHeaders(body, key, Date.now() - 301_000))).status).toBe(401);
  expect((await post(body, { 'content-type': 'application/json' })).status).toBe(401);
});

it('an opted-out member is posted nowhere and named on no card; after optin they are again', async () => {
  const [alice, bob] = [person(1, 'Alice'), person(2, 'Bob')];
  const optout = await run({ subcommand: 'optout', userId: alice.id });
  expect(optout.json).toMatchObject({ type: 4, data: { flags: 64, allowed_mentions: { parse: [] }, content: expect.stringContaining('no longer announces you') } });

  const lounge = { id: '700000000000000001', name: 'Lounge', people: [alice] };
  const joined = await voice(alice, null, lounge);
  expect(joined.output).toMatchObject({ outcome: 'ignored', reason: IgnoreReason.OptedOut });
  expect(server.sink.messages).toHaveLength(0);

  // Bob joins the channel Alice is in: a card for Bob, Alice counted but not named.
  lounge.people = [alice, bob];
  await voice(bob, null, lounge);
  expect(contents()).toEqual([expect.stringMatching(/Lounge\*\* — live · Bob \+1 more · since/)]);
  expect(JSON.stringify(server.sink.messages)).not.toContain('Alice');

  // A move (a message route to #log) of Alice: nothing.
  const gaming = { id: '700000000000000002', name: 'Gaming', people: [alice] };
  lounge.people = [bob];
  expect((await voice(alice, lounge, gaming)).output).toMatchObject({ outcome: 'ignored', reason: IgnoreReason.OptedOut });
  expect(JSON.stringify(server.sink.messages)).not.toContain('Alice');

  const optin = await run({ subcommand: 'optin', userId: alice.id });
  expect(optin.json.data.content).toContain('announced again');
  gaming.people = [];
  lounge.people = [bob, alice];
  const back = await voice(alice, gaming, lounge);
  expect(back.output).toMatchObject({ outcome: 'queued' });
  expect(contents().at(-1)).toMatch(/move|Alice/);
});

it('pause stops messages and card changes for the guild until resume; both need Manage Server', async () => {
  const carol = person(3, 'Carol');
  const denied = await run({ subcommand: 'pause', minutes: 30 });
  expect(denied.json.data.content).toContain('Manage Server');
  const paused = await run({ subcommand: 'pause', minutes: 30, manage: true });
  expect(paused.json.data.content).toMatch(/^Paused until <t:\d+:t>/);
  const attic = { id: '700000000000000003', name: 'Attic', people: [carol] };
  expect((await voice(carol, null, attic)).output).toMatchObject({ outcome: 'ignored', reason: IgnoreReason.Paused, pausedUntil: expect.any(String) });
  expect(server.sink.messages).toHaveLength(0);

  const status = await run({ subcommand: 'status', manage: true });
  expect(status.json.data.content).toMatch(/Notices here: paused until/);
  expect((await run({ subcommand: 'status' })).json.data.content).toContain('Manage Server');

  expect((await run({ subcommand: 'resume', manage: true })).json.data.content).toMatch(/^Resumed/);
  attic.people = [];
  const cellar = { id: '700000000000000004', name: 'Cellar', people: [carol] };
  expect((await voice(carol, attic, cellar)).output).toMatchObject({ outcome: 'queued' });
  expect(server.sink.messages).toHaveLength(1);
});

it('relay doctor\'s interactions check passes against the local endpoint', async () => {
  const { interactionsFinding } = await import('../../lib/doctor/checks-interactions');
  expect(await interactionsFinding(server.settings.interactions!.url, Date.now)).toMatchObject({ status: 'pass' });
});

it('a captured optin sent again after a later optout (within the signature\'s 5 minutes) changes nothing', async () => {
  const { applicationId, privateKeyFile } = server.settings.interactions!;
  const key = readPrivateKeyFile(privateKeyFile);
  const member = person(9, 'Replayed');
  const optin = JSON.stringify(commandInteraction({ guildId: GUILD, applicationId, subcommand: 'optin', userId: member.id }));
  const captured = signedHeaders(optin, key);
  expect((await post(optin, captured)).status).toBe(200);
  await run({ subcommand: 'optout', userId: member.id });
  const replayed = await post(optin, captured);
  expect(replayed.json.data.content).toMatch(/^Nothing changed: this command is older than the last change/);
  const room = { id: '700000000000000010', name: 'Vault', people: [member] };
  expect((await voice(member, null, room)).output).toMatchObject({ outcome: 'ignored', reason: IgnoreReason.OptedOut });
});
