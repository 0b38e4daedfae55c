/**
 * The local relay end to end over real HTTP: the synthesized template, SigV4 at the ingest, the
 * real Verify code, the webhook proxy and the sink (or a "real" webhook server).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../../lib/client/keys';
import { RelayClient } from '../../lib/client/relay-client';
import { signRequest } from '../../lib/client/sigv4';
import { MAX_PAYLOAD_BYTES } from '../../lib/contracts/envelope';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { DEFAULT_USER_AGENT } from '../../lib/infra/relay-stack';
import { LocalRelayServer } from '../../lib/local/local-relay-server';
import type { LocalRelayStatus } from '../../lib/contracts/local-relay';
import { newKey, signed, voiceEvent } from '../support/fixtures';
import { pollUntil } from '../support/until';

const stateDir = mkdtempSync(join(tmpdir(), 'relay-local-'));
const env: Record<string, string> = {};
const lines: string[] = [];
let server: LocalRelayServer;
let client: RelayClient;
const GUILD = '123456789012345678'; // the example config's guild

async function start(): Promise<LocalRelayServer> {
  return LocalRelayServer.start({ port: 0, stateDir, retryPauseMs: 100, sinkRateLimit: false, log: (l) => lines.push(l), env });
}

function clientFor(s: LocalRelayServer, maxAttempts = 1): RelayClient {
  const st = s.settings;
  return new RelayClient({ url: st.url, kid: st.kid, privateKey: readPrivateKeyFile(st.privateKeyFile), region: st.region, credentials: { accessKeyId: st.accessKeyId, secretAccessKey: st.secretAccessKey }, maxAttempts });
}

const event = (kind: 'join' | 'leave' | 'move' | 'mute', displayName = 'Alice') =>
  voiceEvent(kind, { guild: { id: GUILD, name: 'Local Guild' }, user: { id: '444444444444444444', name: 'alice', display_name: displayName, bot: false } });

beforeAll(async () => {
  server = await start();
  client = clientFor(server);
});
afterAll(() => server.stop());
/** The users named across the sink's messages, one per line. */
const names = () => server.sink.messages.flatMap((m) => (m.body as { content: string }).content.split('\n')).map((l) => /\*\*(.+?)\*\*/.exec(l)?.[1]);

const until = (check: () => boolean, ms = 20_000) => pollUntil(check, ms);

/** What the sink holds once the lanes have nothing queued or in flight. */
async function delivered() {
  await server.lanes!.pipe.idle();
  return server.sink.messages;
}

beforeEach(async () => {
  await server.lanes!.pipe.idle();
  server.sink.messages.length = 0;
  server.sink.requestHeaders.length = 0;
  server.sink.setRateLimit(false);
  lines.length = 0;
});

async function post(path: string, body: string, sign?: { secretAccessKey?: string; at?: Date }): Promise<{ status: number; body: any }> {
  const url = new URL(path, server.url);
  const st = server.settings;
  const headers = sign
    ? await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: st.region, credentials: { accessKeyId: st.accessKeyId, secretAccessKey: sign.secretAccessKey ?? st.secretAccessKey }, signingDate: sign.at })
    : { 'content-type': 'application/json' };
  delete (headers as Record<string, string>).host;
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('start', () => {
  it('writes .relay/local.json (0600) with a guild the config allows', () => {
    const file = join(stateDir, 'local.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(server.settings).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), region: 'us-east-1', kid: 'local', guildId: GUILD, accessKeyId: expect.stringMatching(/^AKIA[A-Z2-7]{16}$/) });
  });

  it('serves the sink page and the messages as JSON', async () => {
    const page = await fetch(`${server.url}/_sink`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Discord Event Relay');
    await expect((await fetch(`${server.url}/_sink/messages`)).json()).resolves.toEqual([]);
  });
});

describe('delivery', () => {
  it('a client-signed event becomes a message in the sink, through the proxy with Discord\'s headers', async () => {
    const result = await client.sendSync(event('join', '@everyone **Al**'), { id: 'local-1' });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'queued', channel: 'general', kind: 'voice.join', id: 'local-1' } });
    await delivered();
    const messages = await (await fetch(`${server.url}/_sink/messages`)).json();
    expect(messages).toEqual([{ channel: 'general', body: { content: expect.stringMatching(/^🔊 \*\*\\@everyone \\\*\\\*Al\\\*\\\*\*\* joined General · <t:\d+:t>$/), allowed_mentions: { parse: [] } }, kind: 'discord', receivedAt: expect.any(String), id: expect.stringMatching(/^\d+$/), edits: 0 }]);
    expect(server.sink.requestHeaders[0].headers).toMatchObject({ 'user-agent': DEFAULT_USER_AGENT, 'content-type': 'application/json' });
    expect(lines).toEqual([
      expect.stringMatching(/^→ queued {5}voice\.join → #general {2}local-1 {2}\(\d+ ms\)$/),
      expect.stringMatching(/^✓ posted {5}1 event in 1 message on #general {2}\(\d+ ms\)$/),
    ]);
  });

  it('POST /events answers with an execution ARN at once; the message follows', async () => {
    const result = await client.send(event('leave'), { id: 'local-async' });
    expect(result.executionArn).toMatch(/^arn:aws:states:us-east-1:123456789012:express:DiscordEventRelay-Relay:/);
    for (let i = 0; i < 50 && server.sink.messages.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.sink.messages.map((m) => (m.body as { content: string }).content)).toEqual([expect.stringMatching(/^👋 \*\*Alice\*\* left General/)]);
  });

  it('accepts a request signed independently by botocore', async () => {
    const st = server.settings;
    const body = JSON.stringify(signed(event('join'), { key: { kid: st.kid, privateKey: readPrivateKeyFile(st.privateKeyFile), publicKey: undefined as never, publicKeyHex: '' } }));
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const [line] = execFileSync('python3', [join(__dirname, '..', 'support', 'sigv4_oracle.py')], {
      input: JSON.stringify({ method: 'POST', url: `${st.url}/events/sync`, headers: { 'Content-Type': 'application/json' }, body, date, accessKeyId: st.accessKeyId, secretAccessKey: st.secretAccessKey, region: st.region, service: 'execute-api' }),
      encoding: 'utf8',
    }).trim().split('\n');
    const { authorization } = JSON.parse(line) as { authorization: string };
    const response = await fetch(`${st.url}/events/sync`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-date': date, authorization }, body });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'SUCCEEDED' });
    expect(await delivered()).toHaveLength(1);
  });

  it('forwards to a real webhook URL given locally, with wait=true and the template\'s header overwrites', async () => {
    const received: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"1"}');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    env.RELAY_WEBHOOK_GENERAL = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/api/webhooks/1/secret-token`;
    try {
      expect(await client.sendSync(event('join'))).toMatchObject({ status: 'SUCCEEDED' });
      await delivered();
    } finally {
      delete env.RELAY_WEBHOOK_GENERAL;
      hook.close();
    }
    expect(received).toHaveLength(1);
    expect(received[0].url).toBe('/api/webhooks/1/secret-token?wait=true');
    expect(received[0].headers).toMatchObject({ 'user-agent': DEFAULT_USER_AGENT, 'content-type': 'application/json' });
    expect(JSON.parse(received[0].body)).toMatchObject({ allowed_mentions: { parse: [] } });
    expect(server.sink.messages).toHaveLength(0);
    expect(lines.join('\n')).not.toContain('secret-token');
  });
});

describe('the ingest refuses what API Gateway would (403, nothing runs, nothing posted)', () => {
  const body = () => JSON.stringify(signed(event('join')));
  it.each([
    ['unsigned', () => post('/events/sync', body()), /^Forbidden$/],
    ['signed with a wrong secret', () => post('/events/sync', body(), { secretAccessKey: 'not-the-secret' }), /signature we calculated does not match/],
    ['signed 10 minutes ago', () => post('/events/sync', body(), { at: new Date(Date.now() - 600_000) }), /^Signature expired/],
  ])('%s', async (_, send, message) => {
    const response = await send();
    expect(response.status).toBe(403);
    expect(response.body.message).toMatch(message);
    expect(server.sink.messages).toHaveLength(0);
    expect(lines).toEqual([expect.stringMatching(/^✗ 403 /)]);
  });

  it('a body changed after signing', async () => {
    const st = server.settings;
    const url = new URL('/events/sync', st.url);
    const original = body();
    const headers = await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: original, region: st.region, credentials: st });
    delete headers.host;
    const response = await fetch(url, { method: 'POST', headers, body: original.replace('Alice', 'Mallo') });
    expect(response.status).toBe(403);
    expect(server.sink.messages).toHaveLength(0);
  });

  it('answers 404 for other routes and 413 for a body over 10 MiB', async () => {
    expect((await post('/nope', '{}')).status).toBe(404);
    expect((await fetch(`${server.url}/events`, { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1) })).status).toBe(413);
  });
});

describe('hostile bodies do not take the relay down', () => {
  it('a 6 KB body nested 3000 deep: both routes answer, nothing crashes, the next event goes through', async () => {
    const body = '['.repeat(3000) + ']'.repeat(3000);
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      expect((await post('/events', body, {})).status).toBe(200);
      const sync = await post('/events/sync', body, {});
      expect(sync).toMatchObject({ status: 200, body: { status: 'FAILED' } });
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).not.toHaveBeenCalled();
      expect(await client.sendSync(event('join'))).toMatchObject({ status: 'SUCCEEDED' });
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('each Relay.* outcome through /events/sync', () => {
  const now = () => Math.floor(Date.now() / 1000);
  /** Signed with the local relay's own key. */
  const localSigned = (payload: unknown, ts?: number) => {
    const st = server.settings;
    return signed(payload, { key: { kid: st.kid, privateKey: readPrivateKeyFile(st.privateKeyFile), publicKey: undefined as never, publicKeyHex: '' }, ts });
  };
  it.each([
    ['InvalidSignature', () => ({ ...localSigned(event('join')), payload: JSON.stringify(event('leave')) }), RelayErrorCode.InvalidSignature],
    ['UnknownKey', () => signed(event('join'), { key: newKey('stranger') }), RelayErrorCode.UnknownKey],
    ['Stale', () => localSigned(event('join'), now() - 3600), RelayErrorCode.Stale],
    ['Malformed', () => ({ v: 1, id: 'x' }), RelayErrorCode.Malformed],
    ['TooLarge', () => ({ v: 1, id: 'big', kid: 'local', ts: now(), payload: 'x'.repeat(MAX_PAYLOAD_BYTES + 1), sig: '0'.repeat(128) }), RelayErrorCode.TooLarge],
    ['GuildNotAllowed', () => localSigned(voiceEvent('join')), RelayErrorCode.GuildNotAllowed],
  ])('%s', async (_, make, code) => {
    const response = await post('/events/sync', JSON.stringify(make()), {});
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'FAILED', error: code, cause: expect.any(String) });
    expect(server.sink.messages).toHaveLength(0);
    expect(lines).toEqual([expect.stringContaining(`✗ rejected   ${code}`)]);
  });

  it('Ignored: a mute-only change succeeds and posts nothing', async () => {
    expect(await client.sendSync(event('mute'))).toMatchObject({ status: 'SUCCEEDED', code: RelayErrorCode.Ignored });
    expect(server.sink.messages).toHaveLength(0);
  });

  it('a forwarder heartbeat is recorded in the heartbeat table (dynalite) and posts nothing; GET /_status shows it, a probe records nothing', async () => {
    const status = async () => (await (await fetch(`${server.url}/_status`)).json()) as LocalRelayStatus;
    const before = await status();
    const probe = await client.sendSync({ type: 'FORWARDER_HEARTBEAT', forwarder: 'relay-doctor', probe: true });
    expect(probe).toMatchObject({ status: 'SUCCEEDED', output: { kind: 'relay.probe', outcome: 'checked' } });
    expect((await status()).heartbeats).toEqual(before.heartbeats);
    const result = await client.sendSync({ type: 'FORWARDER_HEARTBEAT', forwarder: 'local-test', at: new Date().toISOString(), guilds: 1, gateway_connected: true, spool_depth: 0 });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { kind: 'forwarder.heartbeat', forwarder: 'local-test', outcome: 'recorded' } });
    expect(server.sink.messages).toHaveLength(0);
    const after = await status();
    // The heartbeat alarm's window comes from the synthesized template (15 min by default).
    expect(after.heartbeats).toEqual({ last: expect.any(String), windowMinutes: 15 });
    expect(Date.now() - Date.parse(after.heartbeats.last!)).toBeLessThan(10_000);
    expect(after).toMatchObject({
      relay: { pid: process.pid, stackName: 'DiscordEventRelay' }, pipe: { state: 'RUNNING' }, lane: { visible: 0, inFlight: 0, oldestAgeSeconds: null },
      deadLetters: { count: 0 }, table: { endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), name: expect.stringMatching(/^Dedupe/) },
    });
  });

  it('Duplicate: the same id again succeeds with Relay.Duplicate and posts nothing more', async () => {
    const envelope = JSON.stringify(localSigned(event('join')));
    expect((await post('/events/sync', envelope, {})).body).toMatchObject({ status: 'SUCCEEDED' });
    expect(await delivered()).toHaveLength(1);
    const again = await post('/events/sync', envelope, {});
    expect(again.body).toMatchObject({ status: 'SUCCEEDED', output: expect.stringContaining(RelayErrorCode.Duplicate) });
    expect(await delivered()).toHaveLength(1);
  });
});

describe('a batch (v2 envelope) through /events/sync', () => {
  it('one request for several events: outcomes by event in order, each posted once; the batch again posts nothing', async () => {
    const member = (name: string, id: string) => voiceEvent('join', { guild: { id: GUILD, name: 'Local Guild' }, user: { id, name: name.toLowerCase(), display_name: name, bot: false } });
    const batch = [
      { id: 'local-b-1', event: member('Ada', '555555555555555561') },
      { id: 'local-b-2', event: member('Bea', '555555555555555562') },
      { id: 'local-b-3', event: voiceEvent('join', { guild: { id: '999999999999999999', name: 'Elsewhere' } }) },
    ];
    const result = await client.sendBatchSync(batch, { id: 'local-batch' });
    expect(result).toMatchObject({ status: 'SUCCEEDED', ids: ['local-b-1', 'local-b-2', 'local-b-3'] });
    expect(result.events!.map((e) => [e.id, e.outcome, e.code])).toEqual([
      ['local-b-1', 'queued', undefined], ['local-b-2', 'queued', undefined], ['local-b-3', 'rejected', RelayErrorCode.GuildNotAllowed],
    ]);
    // The terminal says what happened to each event, not to the envelope.
    expect(lines.filter((l) => l.includes('local-b-'))).toEqual([
      expect.stringMatching(/^→ queued +voice\.join → #general +local-b-1/), expect.stringMatching(/^→ queued .* local-b-2/),
      expect.stringMatching(/^✗ rejected +Relay\.GuildNotAllowed +local-b-3/),
    ]);
    expect(lines.join('\n')).not.toContain('local-batch');
    await delivered();
    expect(names().filter((n) => n === 'Ada' || n === 'Bea').sort()).toEqual(['Ada', 'Bea']);
    const again = await client.sendBatchSync(batch);
    expect(again.events!.map((e) => e.outcome)).toEqual(['duplicate', 'duplicate', 'rejected']);
    expect(names().filter((n) => n === 'Ada' || n === 'Bea')).toHaveLength(2);
  });
});

describe('dead letters', () => {
  it('the webhook controls know the config\'s channels: an unknown one is 404 and changes nothing', async () => {
    const answer = await fetch(`${server.url}/_sink/webhooks/nowhere`, { method: 'PUT' });
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ message: expect.stringContaining('no channel "nowhere"') });
    expect((await fetch(`${server.url}/_sink/webhooks/general`, { method: 'PUT' })).status).toBe(204);
  });

  it('a deleted webhook (404): one attempt, the event goes to the dead-letter queue with the reason, and the lane goes on', async () => {
    await fetch(`${server.url}/_sink/webhooks/general`, { method: 'DELETE' });
    const before = server.lanes!.deadLetters.peek().length;
    try {
      expect(await client.sendSync(event('join'), { id: 'dead-1' })).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'queued' } });
      await delivered();
    } finally {
      await fetch(`${server.url}/_sink/webhooks/general`, { method: 'PUT' });
    }
    expect(server.sink.requestHeaders).toHaveLength(1);
    const dead = server.lanes!.deadLetters.peek().slice(before);
    expect(dead).toEqual([expect.objectContaining({ groupId: 'general', attributes: expect.objectContaining({ RelayError: { DataType: 'String', StringValue: 'ApiGateway.404' } }) })]);
    expect(JSON.parse(dead[0].body)).toMatchObject({ id: 'dead-1', channel: 'general', kind: 'voice.join' });
    expect(lines).toContainEqual(expect.stringContaining('1 dead-lettered (ApiGateway.404)'));
    // The lane is not blocked: the next event is posted.
    await client.sendSync(event('leave'), { id: 'after-dead' });
    expect(await delivered()).toHaveLength(1);

    // GET /_lanes shows it; POST /_lanes/redrive puts it back, and with the webhook back it is posted.
    const lanes = (await (await fetch(`${server.url}/_lanes`)).json()) as { deadLetters: unknown[] };
    expect(lanes.deadLetters).toContainEqual(expect.objectContaining({ channel: 'general', event: expect.objectContaining({ id: 'dead-1' }), error: 'ApiGateway.404', reason: expect.stringContaining('Unknown Webhook') }));
    const moved = (await (await fetch(`${server.url}/_lanes/redrive`, { method: 'POST' })).json()) as { moved: number };
    expect(moved.moved).toBeGreaterThanOrEqual(1);
    const after = await delivered();
    expect(after.map((m) => (m.body as { content: string }).content).join('\n')).toMatch(/joined General/);
    expect(server.lanes!.deadLetters.peek()).toEqual([]);
  });
});

describe('rate limits', () => {
  it('a burst of 200 joins past the webhook\'s limit is coalesced, paced and fully delivered: every user named exactly once', async () => {
    server.sink.setRateLimit({ limit: 5, windowMs: 250 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => client.send(event('join', `User ${i}`))));
    expect(results).toHaveLength(200);
    await until(() => names().length >= 200);
    await delivered();
    const lines = names();
    expect(lines).toHaveLength(200);
    for (let i = 0; i < 200; i++) expect(lines.filter((l) => l === `User ${i}`)).toHaveLength(1);
    expect(server.sink.messages.length).toBeLessThan(40);
    for (const m of server.sink.messages) expect((m.body as { content: string }).content.length).toBeLessThanOrEqual(2000);
  }, 30_000);
});

describe('restart', () => {
  it('keeps the same credentials and key, so an existing client keeps working', async () => {
    const before = server.settings;
    await server.stop();
    server = await start();
    expect(server.settings).toMatchObject({ accessKeyId: before.accessKeyId, secretAccessKey: before.secretAccessKey, kid: before.kid, privateKeyFile: before.privateKeyFile });
    const again = clientFor(server);
    expect(await again.sendSync(event('join'))).toMatchObject({ status: 'SUCCEEDED' });
    expect(await delivered()).toHaveLength(1);
  });
});

describe('direct delivery (the pre-lanes design the bench compares against)', () => {
  it('starts with the Discord app\'s settings read on the local table, posts a join and records a heartbeat', async () => {
    // It once failed to start: its relay workflow reads the guild settings, and only the lanes had a table.
    const direct = await LocalRelayServer.start({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'relay-direct-')), directDelivery: true, sinkRateLimit: false, log: () => undefined, env });
    try {
      expect(direct.lanes).toBeUndefined();
      const c = clientFor(direct);
      expect(await c.sendSync(event('join', 'Dora'))).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'delivered' } });
      expect(direct.sink.messages.map((m) => (m.body as { content: string }).content)).toEqual([expect.stringContaining('Dora')]);
      expect(await c.sendSync({ type: 'FORWARDER_HEARTBEAT', forwarder: 'direct-test', at: new Date().toISOString(), guilds: 1, gateway_connected: true, spool_depth: 0 })).toMatchObject({ output: { outcome: 'recorded' } });
      const status = (await (await fetch(`${direct.url}/_status`)).json()) as LocalRelayStatus;
      expect(status).toMatchObject({ pipe: null, lane: null, table: null, heartbeats: { last: expect.any(String) } });
    } finally {
      await direct.stop();
    }
  });
});

describe('the sink checks what Discord checks', () => {
  const hit = (method: string, path: string, body = '{"content":"x"}') => fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body });

  it('a webhook URL with another token is refused 401 Invalid Webhook Token (50027), and nothing is recorded', async () => {
    const answer = await hit('POST', '/_sink/api/webhooks/general/anything?wait=true');
    expect(answer.status).toBe(401);
    expect(await answer.json()).toEqual({ message: 'Invalid Webhook Token', code: 50027 });
    expect((await hit('PATCH', '/_sink/api/webhooks/general/anything/messages/1')).status).toBe(401);
    expect(server.sink.messages).toHaveLength(0);
    expect((await hit('POST', '/_sink/api/webhooks/general/local?wait=true')).status).toBe(200);
  });

  it('a message id with a malformed percent-encoding is an unknown message (404 10008), not a 500', async () => {
    const answer = await hit('PATCH', '/_sink/api/webhooks/general/local/messages/%E0%A4%A');
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual({ message: 'Unknown Message', code: 10008 });
  });
});
