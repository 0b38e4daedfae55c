/**
 * Review scratch: hostile probes of fan-out. Harness copied from test/infra/fan-out-execution.test.ts,
 * with a dead-letter queue that can refuse, an execution that can die mid-way, and a payload meter.
 */
import { createHash } from 'node:crypto';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ClaimState, FAN_OUT_ID_SEPARATOR, RelayOutcome } from '../lib/contracts/lane';
import { StateName } from '../lib/contracts/state-names';
import { createDeliveryHandlers } from '../lib/delivery/handlers';
import { coalesce } from '../lib/delivery/coalesce';
import { LocalDynamoDb } from '../lib/local/dynamodb-emulator';
import { LanePipeEmulator } from '../lib/local/lane-pipe-emulator';
import { LocalSqs } from '../lib/local/sqs-emulator';
import { LocalStateMachine, TaskFailure, type PostRequest, type PostResponse } from '../lib/local/state-machine-runner';
import { StateMachineId, dedupeTableId, functionEnvironment, pipeSpec, queueSpecs, stateMachineDefinition, tableSpecs, type CfnTemplate } from '../lib/local/synthesized-template';
import { createHandler } from '../lib/verify/handler';
import { GUILD_ID, signed, signedBatch, synthRelayStack, testConfig, voiceEvent } from './support/fixtures';

const config = testConfig({
  channels: {
    general: { secretName: 'relay-test/webhooks/general' },
    team: { secretName: 'relay-test/webhooks/team', kind: 'slack' },
    ops: { secretName: 'relay-test/webhooks/ops', kind: 'slack' },
  },
  routes: [
    { event: 'voice.join', channel: ['general', 'team', 'ops'], template: '🔊 {user} joined {channel}' },
    { event: 'voice.leave', channel: ['general', 'team'], template: '👋 {user} left {channel}' },
  ],
  monitoring: undefined,
});
const template = synthRelayStack(config).template.toJSON() as CfnTemplate;
const TABLE = dedupeTableId(template)!;
const standIns = { region: 'us-east-1', accountId: '123456789012' };
const copyId = (id: string, channel: string) => `${createHash('sha256').update(id).digest('hex')}${FAN_OUT_ID_SEPARATOR}${channel}`;

let db: LocalDynamoDb;
let sqs: LocalSqs;
let pipe: LanePipeEmulator;
let relay: LocalStateMachine;
let posts: PostRequest[];
let failIds: Set<string>;
let dlqRefuses: boolean;
let dieOn: string | undefined;
let failing: Map<string, number>;
let sendActions: string[];

const lane = () => sqs.queues.get(pipeSpec(template).sourceQueue)!;
const deadLetters = () => sqs.queues.get(queueSpecs(template).find((q) => q.logicalId === pipeSpec(template).sourceQueue)!.redrive!.deadLetterLogicalId)!;
const postedTo = (channel: string) => posts.filter((p) => p.channel === channel).map((p) => { const body = p.body as { content?: string; text?: string }; return body.content ?? body.text ?? ''; });
const claimOf = async (id: string) => (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
const member = (name: string, n: number) => voiceEvent('join', { user: { id: `5555555555555556${String(n).padStart(2, '0')}`, name: name.toLowerCase(), display_name: name, bot: false } });
const countOf = (channel: string, re: RegExp) => postedTo(channel).join('\n').match(re)?.length ?? 0;

beforeAll(async () => {
  db = await LocalDynamoDb.start({ tables: tableSpecs(template), sweepIntervalMs: 0 });
});
afterAll(() => db.stop());

beforeEach(() => {
  posts = [];
  failIds = new Set();
  dlqRefuses = false;
  dieOn = undefined;
  failing = new Map();
  sendActions = [];
  sqs = new LocalSqs({ template, specs: queueSpecs(template), standIns, visibilityTimeoutMs: 1500 });
  const refused = (e: { MessageDeduplicationId?: unknown }) => failIds.has(String(e.MessageDeduplicationId));
  relay = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
    dynamodb: db.call,
    sqs: async (action, params) => {
      sendActions.push(action);
      if (action === 'sendMessageBatch') {
        const entries = params.Entries as Array<{ Id: string; MessageDeduplicationId: string }>;
        const rest = entries.filter((e) => !refused(e));
        const sent = rest.length > 0 ? ((await sqs.call(action, { ...params, Entries: rest })) as { Successful: unknown[] }).Successful : [];
        return { Successful: sent, Failed: entries.filter(refused).map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error.' })) };
      }
      if (dieOn !== undefined && params.MessageDeduplicationId === dieOn) {
        // The execution dies here (the service lost it, a timeout of the whole execution…): nothing after runs.
        relay.abortAll();
        return new Promise(() => undefined);
      }
      if (params.MessageAttributes && dlqRefuses) throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      if (refused(params) && !params.MessageAttributes) throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      return sqs.call(action, params);
    },
    retryPauseMs: 0,
  });
  const delivery = new LocalStateMachine(stateMachineDefinition(template, standIns, StateMachineId.Delivery), {
    lambdas: createDeliveryHandlers(),
    post: (request) => {
      posts.push(request);
      const left = failing.get(request.channel) ?? 0;
      if (left > 0) {
        failing.set(request.channel, left - 1);
        return { status: 503, body: 'down' };
      }
      return request.channel === 'general' ? { status: 200, body: { id: '1' }, headers: { 'x-ratelimit-remaining': ['4'] } } : { status: 200, body: 'ok' };
    },
    dynamodb: db.call,
    sqs: sqs.call,
    retryPauseMs: 0,
  });
  pipe = new LanePipeEmulator({ queue: lane(), target: delivery, batchSize: pipeSpec(template).batchSize });
  pipe.start();
});
afterEach(() => pipe.stop(0));

describe('LOSS: a copy refused by the lane and by the dead-letter queue, another copy landed', () => {
  it('the event fails with its claim kept and a cause saying the copy is in the DLQ; the DLQ is empty and a re-send is a duplicate: #team never gets it', async () => {
    failIds.add(copyId('lost-1', 'team'));
    dlqRefuses = true;
    const failed = await relay.run(signed(member('Lost', 1), { id: 'lost-1' }));
    expect(failed).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('kept in the dead-letter queue where SQS took them') });
    expect(deadLetters().peek()).toEqual([]);
    await pipe.idle();
    failIds.clear();
    dlqRefuses = false;
    // The caller does what the cause says: nothing more can be done; a re-send is a duplicate.
    expect(await relay.run(signed(member('Lost', 1), { id: 'lost-1' }))).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    await pipe.idle();
    expect([countOf('general', /Lost joined/g), countOf('team', /Lost joined/g), countOf('ops', /Lost joined/g)]).toEqual([1, 0, 1]);
  });
});

describe('LOSS: an execution that dies between its copies\' sends', () => {
  it('the first copy is delivered (state delivered), so no copy can take the claim over: #team never gets it', async () => {
    // The batch refuses the #team entry; the execution dies on its send alone (before any dead letter).
    failIds.add(copyId('died-1', 'team'));
    dieOn = copyId('died-1', 'team');
    const envelope = signed(member('Died', 2), { id: 'died-1' });
    expect(await relay.run(envelope)).toMatchObject({ status: 'FAILED', error: 'States.Aborted' });
    await pipe.idle();
    expect((await claimOf('died-1'))?.state?.S).toBe(ClaimState.Delivered);
    // The forwarder's spool re-sends after the lease ran out (lease moved into the past here), inside the takeover window.
    failIds.clear();
    dieOn = undefined;
    const now = Math.floor(Date.now() / 1000);
    await db.client.send(new UpdateItemCommand({ TableName: TABLE, Key: { id: { S: 'died-1' } }, UpdateExpression: 'SET leaseUntil = :p', ExpressionAttributeValues: { ':p': { N: String(now - 1) } } }));
    expect(await relay.run(signed(member('Died', 2), { id: 'died-1', ts: envelope.ts + 1 }))).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    await pipe.idle();
    expect(deadLetters().peek()).toEqual([]);
    expect([countOf('general', /Died joined/g), countOf('team', /Died joined/g), countOf('ops', /Died joined/g)]).toEqual([1, 0, 1]);
  });

  it('(control) the same death while the lane is slow (claim still queued): the takeover re-sends every copy, SQS drops the landed ones, each channel posts once', async () => {
    pipe.stop(0);
    failIds.add(copyId('died-2', 'team'));
    dieOn = copyId('died-2', 'team');
    const envelope = signed(member('Slow', 3), { id: 'died-2' });
    expect(await relay.run(envelope)).toMatchObject({ status: 'FAILED', error: 'States.Aborted' });
    failIds.clear();
    dieOn = undefined;
    const now = Math.floor(Date.now() / 1000);
    await db.client.send(new UpdateItemCommand({ TableName: TABLE, Key: { id: { S: 'died-2' } }, UpdateExpression: 'SET leaseUntil = :p', ExpressionAttributeValues: { ':p': { N: String(now - 1) } } }));
    expect(await relay.run(signed(member('Slow', 3), { id: 'died-2', ts: envelope.ts + 1 }))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    pipe.start();
    await pipe.idle();
    expect([countOf('general', /Slow joined/g), countOf('team', /Slow joined/g), countOf('ops', /Slow joined/g)]).toEqual([1, 1, 1]);
  });
});

describe('ten events × three channels (30 entries, 3 parts)', () => {
  const batchOf = (prefix: string) => signedBatch(Array.from({ length: 10 }, (_, i) => ({ id: `${prefix}-${i}`, event: member(`${prefix.toUpperCase()}${i}x`, 40 + i) })));

  it('one part refused in part: every copy alone, each channel posts each event once', async () => {
    failIds.add(copyId('pr-7', 'ops'));
    failIds.add('pr-3');
    const out = await relay.run(batchOf('pr'));
    const events = (out as { output: { events: Array<{ outcome: string; channels?: string[] }> } }).output.events;
    expect(events.map((e) => e.outcome).filter((o) => o !== RelayOutcome.Queued)).toEqual([RelayOutcome.Failed, RelayOutcome.Failed]);
    expect(sendActions.filter((a) => a === 'sendMessageBatch')).toHaveLength(3);
    await pipe.idle();
    for (const channel of ['general', 'team', 'ops']) {
      const counts = Array.from({ length: 10 }, (_, i) => countOf(channel, new RegExp(`PR${i}x joined`, 'g')));
      const expected = Array.from({ length: 10 }, (_, i) => ((i === 3 && channel === 'general') || (i === 7 && channel === 'ops') ? 0 : 1));
      expect({ channel, counts }).toEqual({ channel, counts: expected });
    }
    // The two kept copies, each under its own id, and a redrive posts each once.
    expect(deadLetters().peek().map((m) => [m.groupId, JSON.parse(m.body).id]).sort()).toEqual([['general', 'pr-3'], ['ops', 'pr-7']]);
    deadLetters().moveAllTo(lane());
    await pipe.idle();
    expect([countOf('general', /PR3x joined/g), countOf('ops', /PR7x joined/g), countOf('team', /PR3x joined/g)]).toEqual([1, 1, 1]);
  });

  it('the largest state of such an envelope stays under Step Functions\' 256 KiB', async () => {
    // As large an envelope as Verify takes (16 KiB payload): ten joins, each with 25 named occupants.
    const people = (k: number) => Array.from({ length: 25 }, (_, j) => ({ id: String(400000000000000000n + BigInt(k * 100 + j)), name: `n${'x'.repeat(10)}${j}` }));
    const join = (k: number) => voiceEvent('join', {
      user: { id: String(500000000000000000n + BigInt(k)), name: `u${k}`, display_name: 'D'.repeat(32), bot: false },
      after: { channel_id: '222222222222222222', channel_name: 'C'.repeat(40), occupants: { count: 25, members: people(k) } } as never,
    });
    let items = Array.from({ length: 10 }, (_, k) => ({ id: `big-${'i'.repeat(100)}-${k}`, event: join(k) }));
    while (JSON.stringify(items).length > 16 * 1024) items = items.map((it) => ({ ...it, event: { ...it.event, after: { ...(it.event.after as object), occupants: { count: 25, members: (it.event.after as { occupants: { members: unknown[] } }).occupants.members.slice(0, -1) } } } as never }));
    const envelope = signedBatch(items);
    const machine = (relay as unknown as { machine: { run: (i: unknown, o: unknown) => { result: Promise<unknown>; eventLogs: AsyncGenerator<{ type: string; state?: { name: string; output?: unknown; input?: unknown } }> } } }).machine;
    const handlers = (relay as unknown as { handlers: unknown }).handlers;
    const execution = machine.run(envelope, { overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: {} }, context: { Execution: { Id: 'arn:aws:states:local:0:express:relay:x:x', Name: 'x' } } });
    let max = { bytes: 0, state: '' };
    for await (const e of execution.eventLogs) {
      for (const v of [e.state?.output, e.state?.input]) {
        const bytes = v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v));
        if (bytes > max.bytes) max = { bytes, state: `${e.type} ${e.state!.name}` };
      }
    }
    const out = await execution.result as { events: Array<{ outcome: string }> };
    process.stdout.write(`payload ${JSON.stringify(items).length} B; largest state ${max.bytes} B at ${max.state}; outcomes ${out.events.map((x) => x.outcome).join(',')}\n`);
    expect(max.bytes).toBeLessThan(256 * 1024);
  });
});

describe('dedupe ids at the limits', () => {
  it('an id of 128 characters: copies of 64 + 1 + channel characters; each channel posts once, and a duplicate posts nowhere', async () => {
    const id = `L${'x'.repeat(126)}Z`;
    expect(id).toHaveLength(128);
    expect(await relay.run(signed(member('Longid', 5), { id }))).toMatchObject({ output: { outcome: RelayOutcome.Queued, channels: ['general', 'team', 'ops'] } });
    await pipe.idle();
    expect(await relay.run(signed(member('Longid', 5), { id }))).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    await pipe.idle();
    expect([countOf('general', /Longid joined/g), countOf('team', /Longid joined/g), countOf('ops', /Longid joined/g)]).toEqual([1, 1, 1]);
  });
});

describe('a batch returning after part of it was delivered', () => {
  it('one batch holding every channel\'s copy, #team answering 503 past the retries: the batch comes back; #general and #ops do not post again, #team posts once', async () => {
    failing.set('team', 3);
    await relay.run(signed(member('Back', 6), { id: 'back-1' }));
    await pipe.idle();
    expect(pipe.stats.failedBatches).toBeGreaterThanOrEqual(1);
    expect([countOf('general', /Back joined/g), countOf('ops', /Back joined/g)]).toEqual([1, 1]);
    expect(postedTo('team').filter((t) => t.includes('Back joined'))).toHaveLength(4);
    expect((await claimOf('back-1'))?.deliveredTo?.SS?.sort()).toEqual(['general', 'ops', 'team']);
  });
});

describe('relay.test in a fan-out relay', () => {
  it('each channel takes its own test message once; a repeat is a duplicate', async () => {
    for (const channel of ['general', 'team', 'ops']) {
      expect(await relay.run(signed({ type: 'RELAY_TEST', channel, from: 'ops' }, { id: `doctor:post:${channel}` }))).toMatchObject({ output: { outcome: RelayOutcome.Queued, channel } });
    }
    expect(await relay.run(signed({ type: 'RELAY_TEST', channel: 'team', from: 'ops' }, { id: 'doctor:post:team' }))).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    await pipe.idle();
    expect([postedTo('general').length, postedTo('team').length, postedTo('ops').length]).toEqual([1, 1, 1]);
  });
});

describe('an item marked delivered by the delivery workflow of before (no deliveredTo) while copies are on the lane', () => {
  it('the other channels\' copies are skipped: during a deploy, an in-flight fan-out event is lost on them', () => {
    const lane = (channel: string) => ({ id: 'dep-1', kind: 'voice.join', channel, receivedAt: 1, line: 'x joined' });
    const out = coalesce([{ event: lane('team'), claim: { Item: { id: { S: 'dep-1' }, state: { S: 'delivered' } } } }]);
    expect(out.skipped).toEqual(['dep-1']);
    expect(GUILD_ID).toBeTruthy();
  });
});
