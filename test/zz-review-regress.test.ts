/**
 * Review scratch: single-channel regression scenarios. Run identically at 5b2ce75 and HEAD; writes
 * a normalised JSON record per scenario to $REVIEW_OUT.
 */
import { writeFileSync } from 'node:fs';
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { StateName } from '../lib/contracts/state-names';
import { createDeliveryHandlers } from '../lib/delivery/handlers';
import { LocalDynamoDb } from '../lib/local/dynamodb-emulator';
import { LanePipeEmulator } from '../lib/local/lane-pipe-emulator';
import { LocalSqs } from '../lib/local/sqs-emulator';
import { LocalStateMachine, TaskFailure, type PostRequest, type PostResponse } from '../lib/local/state-machine-runner';
import { StateMachineId, dedupeTableId, functionEnvironment, pipeSpec, queueSpecs, stateMachineDefinition, tableSpecs, type CfnTemplate } from '../lib/local/synthesized-template';
import { createHandler } from '../lib/verify/handler';
import { OTHER_GUILD_ID, signed, signedBatch, synthRelayStack, voiceEvent } from './support/fixtures';

const standIns = { region: 'us-east-1', accountId: '123456789012' };
const template = synthRelayStack().template.toJSON() as CfnTemplate;
const TABLE = dedupeTableId(template)!;
const results: Record<string, unknown> = {};

let db: LocalDynamoDb;
let sqs: LocalSqs;
let pipe: LanePipeEmulator;
let relay: LocalStateMachine;
let posts: PostRequest[];
let answers: PostResponse[];
let calls: unknown[];
let failIds: Set<string>;
let failClaims: Set<string>;
let batchThrows: boolean;
let batchLandsThenTimesOut: boolean;
let dlqRefuses: boolean;
let failDeletes: boolean;

const OK: PostResponse = { status: 200, body: { id: '1' }, headers: { 'x-ratelimit-remaining': ['4'] } };
const lane = () => sqs.queues.get(pipeSpec(template).sourceQueue)!;
const deadLetters = () => sqs.queues.get(queueSpecs(template).find((q) => q.logicalId === pipeSpec(template).sourceQueue)!.redrive!.deadLetterLogicalId)!;
const claimOf = async (id: string) => (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
const member = (name: string, n: number) => voiceEvent('join', { user: { id: `5555555555555556${String(n).padStart(2, '0')}`, name: name.toLowerCase(), display_name: name, bot: false } });

function norm(x: unknown): unknown {
  const text = JSON.stringify(x ?? null)
    .replace(/arn:aws:states:local:[^"\\ ]+/g, '<exec>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<iso>')
    .replace(/\b1[6-9]\d{8}(\d{3})?\b/g, '"<epoch>"')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>');
  return JSON.parse(text);
}

beforeAll(async () => {
  db = await LocalDynamoDb.start({ tables: tableSpecs(template), sweepIntervalMs: 0 });
});
afterAll(async () => {
  await db.stop();
  writeFileSync(process.env.REVIEW_OUT ?? '/tmp/review-fanout/out.json', JSON.stringify(results, null, 2));
});

beforeEach(() => {
  posts = [];
  answers = [];
  calls = [];
  failIds = new Set();
  failClaims = new Set();
  batchThrows = false;
  batchLandsThenTimesOut = false;
  dlqRefuses = false;
  failDeletes = false;
  sqs = new LocalSqs({ template, specs: queueSpecs(template), standIns, visibilityTimeoutMs: 4000 });
  const laneUrl = () => lane();
  relay = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
    dynamodb: async (action, params) => {
      if (action === 'updateItem' && failClaims.has(String((params.Key as { id: { S: string } }).id.S))) throw new TaskFailure('DynamoDB.InternalServerErrorException', 'Internal server error');
      if (action === 'deleteItem' && failDeletes) throw new TaskFailure('DynamoDB.InternalServerErrorException', 'Internal server error');
      return db.call(action, params);
    },
    sqs: async (action, params) => {
      void laneUrl;
      const dlq = Boolean(params.MessageAttributes);
      if (action === 'sendMessageBatch') {
        const entries = params.Entries as Array<{ Id: string; MessageDeduplicationId: string; MessageGroupId: string; MessageBody: string }>;
        calls.push({ action, entries: entries.map((e) => ({ g: e.MessageGroupId, d: e.MessageDeduplicationId, body: JSON.parse(e.MessageBody) })) });
        if (batchThrows) throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
        if (batchLandsThenTimesOut) {
          await sqs.call(action, params);
          throw new TaskFailure('States.Timeout', '');
        }
        const rest = entries.filter((e) => !failIds.has(e.MessageDeduplicationId));
        const sent = rest.length > 0 ? ((await sqs.call(action, { ...params, Entries: rest })) as { Successful: unknown[] }).Successful : [];
        return { Successful: sent, Failed: entries.filter((e) => failIds.has(e.MessageDeduplicationId)).map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error.' })) };
      }
      calls.push({ action, dlq, g: params.MessageGroupId, d: params.MessageDeduplicationId, body: typeof params.MessageBody === 'string' ? params.MessageBody : params.MessageBody, attrs: params.MessageAttributes });
      if (dlq && dlqRefuses) throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      if (!dlq && failIds.has(String(params.MessageDeduplicationId))) throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      return sqs.call(action, params);
    },
    retryPauseMs: 0,
  });
  const delivery = new LocalStateMachine(stateMachineDefinition(template, standIns, StateMachineId.Delivery), {
    lambdas: createDeliveryHandlers(),
    post: (request) => {
      posts.push(request);
      return answers.shift() ?? OK;
    },
    dynamodb: db.call,
    sqs: sqs.call,
    retryPauseMs: 0,
  });
  pipe = new LanePipeEmulator({ queue: lane(), target: delivery, batchSize: pipeSpec(template).batchSize });
  pipe.start();
});
afterEach(() => pipe.stop(0));

async function record(name: string, runs: unknown[], ids: string[]): Promise<void> {
  await pipe.idle();
  const claims: Record<string, unknown> = {};
  for (const id of ids) {
    const item = await claimOf(id);
    claims[id] = item && { state: item.state?.S, channel: item.channel?.S, deliveredTo: item.deliveredTo?.SS };
  }
  results[name] = norm({
    runs,
    calls,
    deadLetters: deadLetters().peek().map((m) => ({ g: m.groupId, body: JSON.parse(m.body), attrs: m.attributes })),
    laneLeft: lane().peek().map((m) => ({ g: m.groupId, body: JSON.parse(m.body) })),
    posts: posts.map((p) => ({ channel: p.channel, method: p.method, body: p.body })),
    claims,
  });
}

it('A v1 lone join', async () => {
  const r = await relay.run(signed(member('Ann', 1), { id: 'a-1' }));
  await record('A', [r], ['a-1']);
});

it('B v1 lone move (audit)', async () => {
  const r = await relay.run(signed(voiceEvent('move'), { id: 'b-1' }));
  await record('B', [r], ['b-1']);
});

it('C v2 batch mixed', async () => {
  const r0 = await relay.run(signed(member('Earlier', 2), { id: 'c-earlier' }));
  await pipe.idle();
  const r = await relay.run(signedBatch([
    { id: 'c-ann', event: member('Ann', 3) },
    { id: 'c-earlier', event: member('Earlier', 2) },
    { id: 'c-foreign', event: voiceEvent('join', { guild: { id: OTHER_GUILD_ID, name: 'Other' } }) },
    { id: 'c-move', event: voiceEvent('move') },
    { id: 'c-other', event: { type: 'GUILD_MEMBER_ADD' } },
    { id: 'c-leave', event: voiceEvent('leave') },
  ], { id: 'c-batch' }));
  await pipe.idle();
  const again = await relay.run(signedBatch([{ id: 'c-ann', event: member('Ann', 3) }, { id: 'c-move', event: voiceEvent('move') }], { id: 'c-batch2' }));
  await record('C', [r0, r, again], ['c-ann', 'c-earlier', 'c-move', 'c-leave']);
});

it('D duplicate replay', async () => {
  const e = signed(member('Rep', 4), { id: 'd-1' });
  const r1 = await relay.run(e);
  const r2 = await relay.run(e);
  await pipe.idle();
  const r3 = await relay.run(signed(member('Rep', 4), { id: 'd-1', ts: e.ts + 3 }));
  await record('D', [r1, r2, r3], ['d-1']);
});

it('E one enqueue failure in a batch, then re-send, then redrive', async () => {
  failIds.add('e-stuck');
  const r = await relay.run(signedBatch([{ id: 'e-ok', event: member('Okay', 5) }, { id: 'e-stuck', event: member('Stuck', 6) }, { id: 'e-move', event: voiceEvent('move') }]));
  await pipe.idle();
  failIds.clear();
  const r2 = await relay.run(signed(member('Stuck', 6), { id: 'e-stuck' }));
  await pipe.idle();
  const moved = deadLetters().moveAllTo(lane());
  await record('E', [r, r2, moved], ['e-ok', 'e-stuck', 'e-move']);
});

it('F lone enqueue failure', async () => {
  failIds.add('f-1');
  const r = await relay.run(signed(member('Lone', 7), { id: 'f-1' }));
  await record('F', [r], ['f-1']);
});

it('G SendMessageBatch throws', async () => {
  batchThrows = true;
  const r = await relay.run(signedBatch([{ id: 'g-1', event: member('Solo', 8) }, { id: 'g-2', event: voiceEvent('move') }]));
  const r2 = await relay.run(signed(member('Solo2', 9), { id: 'g-3' }));
  await record('G', [r, r2], ['g-1', 'g-2', 'g-3']);
});

it('H SendMessageBatch lands then times out', async () => {
  batchLandsThenTimesOut = true;
  const r = await relay.run(signedBatch([{ id: 'h-1', event: member('Trio', 10) }, { id: 'h-2', event: member('Quad', 11) }]));
  await record('H', [r], ['h-1', 'h-2']);
});

it('I claim failure lone and in batch', async () => {
  failClaims.add('i-1');
  failClaims.add('i-3');
  const r = await relay.run(signed(member('Claimless', 12), { id: 'i-1' }));
  const r2 = await relay.run(signedBatch([{ id: 'i-2', event: member('Fine', 13) }, { id: 'i-3', event: voiceEvent('move') }]));
  await record('I', [r, r2], ['i-1', 'i-2', 'i-3']);
});

it('J claim takeover', async () => {
  const now = Math.floor(Date.now() / 1000);
  await db.client.send(new PutItemCommand({ TableName: TABLE, Item: {
    id: { S: 'j-dead' }, state: { S: 'queued' }, leaseUntil: { N: String(now - 1) }, takeoverUntil: { N: String(now + 150) },
    expiresAt: { N: String(now + 3600) }, claimedBy: { S: 'arn:aws:states:::execution:gone' }, channel: { S: 'general' },
  } }));
  const r1 = await relay.run(signed(member('Dead', 14), { id: 'j-dead' }));
  await pipe.idle();
  // Takeover after a landed first send: SQS drops it.
  const e = signed(member('Twice', 15), { id: 'j-twice' });
  const r2 = await relay.run(e);
  await pipe.idle();
  await db.client.send(new UpdateItemCommand({ TableName: TABLE, Key: { id: { S: 'j-twice' } }, UpdateExpression: 'SET leaseUntil = :p, #s = :q', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':p': { N: String(now - 1) }, ':q': { S: 'queued' } } }));
  const r3 = await relay.run(e);
  await record('J', [r1, r2, r3], ['j-dead', 'j-twice']);
});

it('K dead-letter queue refusing too (lone, batch, claim failure)', async () => {
  dlqRefuses = true;
  failIds.add('k-1');
  failIds.add('k-3');
  failClaims.add('k-4');
  const r1 = await relay.run(signed(member('Nowhere', 16), { id: 'k-1' }));
  const r2 = await relay.run(signedBatch([{ id: 'k-2', event: member('Fine', 17) }, { id: 'k-3', event: member('Stuck', 18) }, { id: 'k-4', event: voiceEvent('move') }]));
  await record('K', [r1, r2], ['k-1', 'k-2', 'k-3', 'k-4']);
});

it('L release fails', async () => {
  failDeletes = true;
  failIds.add('l-1');
  const r1 = await relay.run(signed(member('Unfreed', 19), { id: 'l-1' }));
  await record('L', [r1], ['l-1']);
});

it('M relay.test to each channel', async () => {
  const r1 = await relay.run(signed({ type: 'RELAY_TEST', channel: 'general', from: 'ops' }, { id: 'doctor:post:1' }));
  const r2 = await relay.run(signed({ type: 'RELAY_TEST', channel: 'audit', from: 'ops' }, { id: 'doctor:post:2' }));
  const r3 = await relay.run(signed({ type: 'RELAY_TEST', channel: 'general', from: 'ops' }, { id: 'doctor:post:1' }));
  await record('M', [r1, r2, r3], ['doctor:post:1', 'doctor:post:2']);
});

it('N batch of ten', async () => {
  const r = await relay.run(signedBatch(Array.from({ length: 10 }, (_, i) => ({ id: `n-${i}`, event: member(`N${i}`, 20 + i) }))));
  await record('N', [r], Array.from({ length: 10 }, (_, i) => `n-${i}`));
});

it('O legacy delivered item redriven is skipped; 404 to dead letters', async () => {
  const r = await relay.run(signed(member('Leg', 31), { id: 'o-1' }));
  await pipe.idle();
  // Legacy: remove deliveredTo if present.
  await db.client.send(new UpdateItemCommand({ TableName: TABLE, Key: { id: { S: 'o-1' } }, UpdateExpression: 'REMOVE deliveredTo' }));
  // Re-put the lane event as a redrive would.
  const laneCall = calls.find((c) => (c as { action: string }).action === 'sendMessageBatch') as { entries: Array<{ g: string; d: string; body: unknown }> };
  lane().send({ MessageBody: JSON.stringify(laneCall.entries[0].body), MessageGroupId: 'general', MessageDeduplicationId: 'o-1-redrive' });
  await pipe.idle();
  answers = [{ status: 404, body: { message: 'Unknown Webhook', code: 10015 } }];
  const r2 = await relay.run(signed(member('Gone', 32), { id: 'o-2' }));
  await record('O', [r, r2], ['o-1', 'o-2']);
});

it('P ten concurrent copies', async () => {
  const e = signed(member('Ten', 33), { id: 'p-1' });
  const outs = await Promise.all(Array.from({ length: 10 }, () => relay.run(e)));
  const kinds = outs.map((o) => (o.status === 'SUCCEEDED' ? (o.output as { outcome: string }).outcome : o.error)).sort();
  await record('P', [kinds], ['p-1']);
});
