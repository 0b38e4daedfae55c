/**
 * The *synthesized* definition (taken from the template) executed in-process: the real Verify
 * handler with the environment the stack gives it, and a recording Post whose answers each test
 * scripts. Every case checks the outcome and exactly which posts were made.
 */
import { VerifyEnv } from '../../lib/contracts/env';
import { MAX_PAYLOAD_BYTES } from '../../lib/contracts/envelope';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { LocalStateMachine, TaskFailure, type PostRequest, type PostResponse } from '../../lib/local/state-machine-runner';
import { LocalDynamoDb } from '../../lib/local/dynamodb-emulator';
import { functionEnvironment, heartbeatTableId, stateMachineDefinition, tableSpecs, type CfnTemplate } from '../../lib/local/synthesized-template';
import { POST_RETRIES } from '../../lib/infra/task-retries';
// The entry assigns module.exports (no ESM helpers in the bundle): required, as Lambda loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { handler } = require('../../lambda/verify/index') as { handler: ReturnType<typeof import('../../lib/verify/handler').createHandler> };
import { OTHER_GUILD_ID, newKey, signed, synthRelayStack, voiceEvent } from '../support/fixtures';
import { IgnoreReason } from '../../lib/contracts/interactions';
import { allStates } from '../support/workflow-states';

// The pre-lanes path (one post per execution); the lanes have their own tests.
const json = synthRelayStack(undefined, { directDelivery: true }).template.toJSON() as CfnTemplate;
const definition = stateMachineDefinition(json);
const stackEnv = functionEnvironment(json, 'VerifyFunction');
const savedEnv = { ...process.env };
// The heartbeat table, on dynalite: the only table of a relay without lanes.
let db: LocalDynamoDb;
beforeAll(async () => {
  Object.assign(process.env, stackEnv);
  db = await LocalDynamoDb.start({ tables: tableSpecs(json) });
});
afterAll(async () => {
  process.env = savedEnv;
  await db.stop();
});
const heartbeatItems = async () => ((await db.call('scan', { TableName: heartbeatTableId(json) })) as { Items: unknown[] }).Items;

const OK: PostResponse = { status: 200, body: { id: '555555555555555555', content: '…' } };
const status = (code: number, body: unknown = { message: `status ${code}` }): PostResponse => ({ status: code, body });
const [rateLimitRetry, serverErrorRetry] = POST_RETRIES;

it('direct delivery formats the line the Post task sends, and no lane event', () => {
  const format = (allStates(definition) as Record<string, { Parameters: Record<string, unknown> }>)['Format voice.join'].Parameters;
  expect(format['line.$']).toMatch(/^States\.Format\(/);
  expect(format).not.toHaveProperty('lane');
});

/** Runs one execution; `answers` are what the webhook says to each post in turn (OK once they run out). */
async function execute(input: unknown, answers: PostResponse[] = []) {
  const posts: PostRequest[] = [];
  const relay = new LocalStateMachine(definition, {
    lambdas: { Verify: handler },
    dynamodb: db.call,
    post: (request) => {
      posts.push(request);
      return answers[posts.length - 1] ?? OK;
    },
    retryPauseMs: 0,
  });
  return { outcome: await relay.run(input), posts };
}

function bodyOf(post: PostRequest) {
  return post.body as { content: string; allowed_mentions: unknown };
}

beforeAll(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));

it('uses the environment the stack deploys the Verify function with', () => {
  expect(Object.keys(stackEnv)).toEqual(expect.arrayContaining(Object.values(VerifyEnv)));
});

describe('delivered', () => {
  it('join → one post to its channel with the formatted text and no pings', async () => {
    const envelope = signed(voiceEvent('join'));
    const { outcome, posts } = await execute(envelope);
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { id: envelope.id, kind: 'voice.join', channel: 'general', status: 200, outcome: 'delivered' } });
    expect(posts).toEqual([
      { channel: 'general', path: '/channels/general', method: 'POST', body: { content: '🔊 Alice joined General', allowed_mentions: { parse: [] } } },
    ]);
  });

  it('leave → one post with the channel left', async () => {
    const { outcome, posts } = await execute(signed(voiceEvent('leave')));
    expect(outcome.status).toBe('SUCCEEDED');
    expect(posts.map((p) => [p.channel, bodyOf(p).content])).toEqual([['general', '👋 Alice left General']]);
  });

  it('move → one post to the move route\'s own channel, literal braces and quote intact', async () => {
    const { outcome, posts } = await execute(signed(voiceEvent('move')));
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { channel: 'audit', kind: 'voice.move' } });
    expect(posts.map((p) => [p.channel, bodyOf(p).content])).toEqual([['audit', "🔀 Alice moved from General to Gaming {it's}"]]);
  });

  it('user text that tries to ping or format arrives escaped, with mentions disabled', async () => {
    const event = voiceEvent('join', { user: { id: '444444444444444444', name: 'm', display_name: '@everyone **hi**', bot: false } });
    const { posts } = await execute(signed(event));
    expect(posts.map(bodyOf)).toEqual([{ content: '🔊 \\@everyone \\*\\*hi\\*\\* joined General', allowed_mentions: { parse: [] } }]);
  });
});

describe('ignored (succeeds, posts nothing)', () => {
  it.each([
    ['a mute-only change', () => signed(voiceEvent('mute')), 'voice.update'],
    ['an unknown event type', () => signed({ type: 'GUILD_MEMBER_ADD', guild: { id: '1' } }), 'unsupported'],
  ])('%s', async (_, make, kind) => {
    const envelope = make();
    const { outcome, posts } = await execute(envelope);
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { id: envelope.id, kind, outcome: 'ignored', code: RelayErrorCode.Ignored, reason: IgnoreReason.NoRoute } });
    expect(posts).toEqual([]);
  });
});

describe('forwarder heartbeats (the forwarder\'s item in the heartbeat table, never a message)', () => {
  const heartbeat = (forwarder: unknown) => signed({ type: 'FORWARDER_HEARTBEAT', forwarder, at: new Date().toISOString(), guilds: 1, gateway_connected: true, spool_depth: 0 });
  beforeEach(async () => {
    for (const item of (await heartbeatItems()) as Array<{ forwarder: unknown }>) await db.call('deleteItem', { TableName: heartbeatTableId(json), Key: { forwarder: item.forwarder } });
  });

  it('overwrites the forwarder\'s item (one per forwarder, with when and which key) and succeeds as recorded', async () => {
    const before = new Date().toISOString();
    const { outcome, posts } = await execute(heartbeat('vc-bot-1'), []);
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { id: expect.any(String), kind: 'forwarder.heartbeat', forwarder: 'vc-bot-1', outcome: 'recorded' } });
    expect(posts).toEqual([]);
    await execute(heartbeat('vc-bot-1'), []);
    await execute(heartbeat('vc-bot-2'), []);
    const items = (await heartbeatItems()) as Array<{ forwarder: { S: string }; at: { S: string }; kid: { S: string }; expiresAt: { N: string } }>;
    expect(items.map((i) => i.forwarder.S).sort()).toEqual(['vc-bot-1', 'vc-bot-2']);
    for (const item of items) {
      expect(item.kid.S).toBe('test-key');
      expect(item.at.S >= before.slice(0, 19)).toBe(true);
      // Kept 30 days after the last heartbeat (TTL), so renamed forwarders do not pile up.
      expect(Number(item.expiresAt.N) - Math.floor(Date.now() / 1000)).toBeGreaterThan(30 * 86400 - 60);
    }
  });

  it.each([[''], ['a b'], ['x'.repeat(41)], [7]])('a heartbeat whose forwarder name is %j → Relay.Malformed, nothing written', async (name) => {
    const { outcome } = await execute(heartbeat(name), []);
    expect(outcome).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Malformed });
    expect(await heartbeatItems()).toEqual([]);
  });

  it('a table that refuses the write → Relay.Internal, after the retries (the alarm then says no heartbeat)', async () => {
    const refusing = new LocalStateMachine(definition, { lambdas: { Verify: handler }, post: () => OK, dynamodb: async () => { throw new TaskFailure('DynamoDB.InternalServerErrorException', 'down'); }, retryPauseMs: 0 });
    await expect(refusing.run(heartbeat('vc-bot-1'))).resolves.toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal });
  });
});

describe('relay doctor: a probe heartbeat and a test message', () => {
  it('a heartbeat with probe: true is answered as checked and writes no heartbeat (a doctor run never stands in for a forwarder)', async () => {
    const envelope = signed({ type: 'FORWARDER_HEARTBEAT', forwarder: 'relay-doctor-probe', probe: true });
    const { outcome, posts } = await execute(envelope, []);
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { id: envelope.id, kind: 'relay.probe', forwarder: 'relay-doctor-probe', outcome: 'checked' } });
    expect(posts).toEqual([]);
    expect(JSON.stringify(await heartbeatItems())).not.toContain('relay-doctor-probe');
  });

  it.each([['yes'], [1], [null]])('probe: %j → Relay.Malformed', async (probe) => {
    const { outcome } = await execute(signed({ type: 'FORWARDER_HEARTBEAT', forwarder: 'relay-doctor', probe }));
    expect(outcome).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Malformed });
  });

  it('a test message goes to the channel it names, whatever the routes say, as fixed text with no pings', async () => {
    // The audit channel has no join/leave route; the test reaches it all the same.
    const envelope = signed({ type: 'RELAY_TEST', channel: 'audit', from: 'ops-host.1' }, { id: 'doctor:post:7' });
    const { outcome, posts } = await execute(envelope);
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { id: 'doctor:post:7', kind: 'relay.test', channel: 'audit', status: 200, outcome: 'delivered' } });
    expect(posts).toEqual([{
      channel: 'audit', path: '/channels/audit', method: 'POST',
      body: { content: '🩺 **Relay test** from `ops-host.1`: if you can read this, the relay can post to #audit. (event `doctor:post:7`)', allowed_mentions: { parse: [] } },
    }]);
  });

  it.each([
    ['a channel the relay does not have', 'ignored', { type: 'RELAY_TEST', channel: 'nowhere', from: 'ops' }],
    ['a channel name with markdown', RelayErrorCode.Malformed, { type: 'RELAY_TEST', channel: '**x**', from: 'ops' }],
    ['a sender with a backtick', RelayErrorCode.Malformed, { type: 'RELAY_TEST', channel: 'general', from: 'a`b' }],
    ['no channel', RelayErrorCode.Malformed, { type: 'RELAY_TEST', from: 'ops' }],
  ])('%s → %s, nothing posted', async (_, expected, event) => {
    const { outcome, posts } = await execute(signed(event));
    if (expected === 'ignored') expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { kind: 'relay.test', outcome: 'ignored', code: RelayErrorCode.Ignored } });
    else expect(outcome).toMatchObject({ status: 'FAILED', error: expected });
    expect(posts).toEqual([]);
  });
});

describe('rejected by Verify (fails with the code, posts nothing)', () => {
  const now = Math.floor(Date.now() / 1000);
  it.each([
    ['bad signature', () => ({ ...signed(voiceEvent('join')), payload: JSON.stringify(voiceEvent('leave')) }), RelayErrorCode.InvalidSignature],
    ['unknown kid', () => signed(voiceEvent('join'), { key: newKey('stranger') }), RelayErrorCode.UnknownKey],
    ['stale ts', () => signed(voiceEvent('join'), { ts: now - 3600 }), RelayErrorCode.Stale],
    ['future ts', () => signed(voiceEvent('join'), { ts: now + 3600 }), RelayErrorCode.Stale],
    ['malformed payload', () => signed('{"type": "VOICE_STATE_UPDATE"'), RelayErrorCode.Malformed],
    ['malformed envelope', () => ({ v: 1, id: 'x' }), RelayErrorCode.Malformed],
    ['oversized payload', () => signed(JSON.stringify({ ...voiceEvent('join'), pad: 'x'.repeat(MAX_PAYLOAD_BYTES) })), RelayErrorCode.TooLarge],
    ['guild not allowed', () => signed(voiceEvent('join', { guild: { id: OTHER_GUILD_ID, name: 'Elsewhere' } })), RelayErrorCode.GuildNotAllowed],
  ])('%s → %s', async (_, make, code) => {
    const { outcome, posts } = await execute(make());
    expect(outcome).toMatchObject({ status: 'FAILED', error: code });
    if (outcome.status === 'FAILED') expect(JSON.parse(outcome.cause)).toMatchObject({ errorType: code, errorMessage: expect.any(String) });
    expect(posts).toEqual([]);
  });

  it('an unexpected Verify failure → Relay.Internal, posts nothing', async () => {
    const relay = new LocalStateMachine(definition, { lambdas: { Verify: () => { throw new TypeError('boom'); } }, post: () => OK, dynamodb: db.call, retryPauseMs: 0 });
    await expect(relay.run(signed(voiceEvent('join')))).resolves.toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal });
  });
});

describe('delivery', () => {
  it('429 then 200 → retried once, delivered; the same body both times', async () => {
    const { outcome, posts } = await execute(signed(voiceEvent('join')), [status(429, { message: 'You are being rate limited.', retry_after: 0.3, global: false }), OK]);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(posts).toHaveLength(2);
    expect(posts[1]).toEqual(posts[0]);
  });

  it('503 then 200 → retried, delivered', async () => {
    const { outcome, posts } = await execute(signed(voiceEvent('join')), [status(503), OK]);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(posts).toHaveLength(2);
  });

  it.each([400, 401, 403, 404])('%i → Relay.DeliveryFailed after exactly one attempt', async (code) => {
    const { outcome, posts } = await execute(signed(voiceEvent('join')), [status(code, { message: 'Unknown Webhook', code: 10015 })]);
    expect(outcome).toEqual({ status: 'FAILED', error: RelayErrorCode.DeliveryFailed, cause: `general webhook answered ApiGateway.${code}` });
    expect(posts).toHaveLength(1);
  });

  it('500 every time → gives up with Relay.DeliveryFailed after 1 + MaxAttempts posts', async () => {
    const { outcome, posts } = await execute(signed(voiceEvent('join')), Array(10).fill(status(500)));
    expect(outcome).toMatchObject({ status: 'FAILED', error: RelayErrorCode.DeliveryFailed, cause: expect.stringContaining('ApiGateway.500') });
    expect(posts).toHaveLength(1 + serverErrorRetry.maxAttempts!);
    expect(posts).toHaveLength(4);
  });

  it('429 every time → gives up with Relay.DeliveryFailed after 1 + MaxAttempts posts', async () => {
    const { outcome, posts } = await execute(signed(voiceEvent('join')), Array(10).fill(status(429)));
    expect(outcome).toMatchObject({ status: 'FAILED', error: RelayErrorCode.DeliveryFailed, cause: expect.stringContaining('ApiGateway.429') });
    expect(posts).toHaveLength(1 + rateLimitRetry.maxAttempts!);
  });
});

describe('retry budget', () => {
  it('every task has a timeout, and the worst case (every attempt timing out, every backoff capped) fits in the 5-minute Express limit', () => {
    type Retrier = { IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number; MaxDelaySeconds?: number };
    const states = allStates(definition) as Record<string, { Type: string; TimeoutSeconds?: number; Retry?: Retrier[] }>;
    const worstFor = (state: (typeof states)[string]) => {
      expect(state.TimeoutSeconds).toBeGreaterThan(0);
      let seconds = 0;
      let attempts = 1;
      for (const r of state.Retry ?? []) {
        for (let retry = 0; retry < (r.MaxAttempts ?? 3); retry++) {
          seconds += Math.min((r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** retry, r.MaxDelaySeconds ?? Infinity);
          attempts++;
        }
      }
      return seconds + attempts * state.TimeoutSeconds!;
    };
    // An execution runs Verify, then at most one Post task.
    const posts = Object.entries(states).filter(([name, s]) => s.Type === 'Task' && name.startsWith('Post to '));
    expect(posts.map(([name]) => name).sort()).toEqual(['Post to audit', 'Post to general']);
    const worst = worstFor(states.Verify) + Math.max(...posts.map(([, s]) => worstFor(s)));
    expect(worst).toBe(232);
    expect(definition.TimeoutSeconds).toBe(300);
  });
});
