/**
 * The lanes at the state-machine level: both *synthesized* definitions run in-process with the
 * real Verify, Coalesce and Pace handlers, the dedupe table on dynalite, the FIFO lane emulator
 * and the local pipe; only the webhook's answers are scripted. Each case checks outcomes and
 * exactly what was posted.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { ClaimState, RelayOutcome } from '../../lib/contracts/lane';
import { StateName } from '../../lib/contracts/state-names';
import { LocalDynamoDb } from '../../lib/local/dynamodb-emulator';
import { LanePipeEmulator } from '../../lib/local/lane-pipe-emulator';
import { LocalSqs } from '../../lib/local/sqs-emulator';
import { LocalStateMachine, TaskFailure, type PostRequest, type PostResponse } from '../../lib/local/state-machine-runner';
import { dedupeTableId, functionEnvironment, pipeSpec, queueSpecs, stateMachineDefinition, tableSpecs, type CfnTemplate } from '../../lib/local/synthesized-template';
import { createHandler } from '../../lib/verify/handler';
import { startDeliveryPipe } from '../support/delivery-pipe';
import { OTHER_GUILD_ID, signed, signedBatch, synthRelayStack, voiceEvent } from '../support/fixtures';

const standIns = { region: 'us-east-1', accountId: '123456789012' };
const template = synthRelayStack().template.toJSON() as CfnTemplate;
const TABLE = dedupeTableId(template)!;

interface Post extends PostRequest {
  readonly at: number;
}

let db: LocalDynamoDb;
let sqs: LocalSqs;
let pipe: LanePipeEmulator;
let relay: LocalStateMachine;
let posts: Post[];
let answers: PostResponse[];
let failNextSends: number;
/** Enqueues of these event ids fail (every attempt). */
let failIds: Set<string>;
/** The relay workflow's SQS calls, by action. */
let sendActions: string[];
/** SendMessageBatch puts its messages on the lane, then answers a timeout. */
let batchLandsThenTimesOut: boolean;

const OK: PostResponse = { status: 200, body: { id: '1' }, headers: { 'x-ratelimit-remaining': ['4'] } };
const lane = () => sqs.queues.get(pipeSpec(template).sourceQueue)!;
const deadLetters = () => sqs.queues.get(queueSpecs(template).find((q) => q.logicalId === pipeSpec(template).sourceQueue)!.redrive!.deadLetterLogicalId)!;
const contents = () => posts.map((p) => (p.body as { content: string }).content);

beforeAll(async () => {
  db = await LocalDynamoDb.start({ tables: tableSpecs(template), sweepIntervalMs: 0 });
});
afterAll(() => db.stop());

beforeEach(() => {
  posts = [];
  answers = [];
  failNextSends = 0;
  failIds = new Set();
  sendActions = [];
  batchLandsThenTimesOut = false;
  sqs = new LocalSqs({ template, specs: queueSpecs(template), standIns, visibilityTimeoutMs: 4000 });
  const sendToQueue = sqs.call;
  relay = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
    dynamodb: db.call,
    sqs: async (action, params) => {
      sendActions.push(action);
      if (action === 'sendMessageBatch' && batchLandsThenTimesOut) {
        await sendToQueue(action, params);
        throw new TaskFailure('States.Timeout', '');
      }
      if (action === 'sendMessageBatch') {
        // Entries of stuck ids fail as SendMessageBatch reports them: in Failed, the call itself succeeding.
        const entries = params.Entries as { Id: string; MessageDeduplicationId: string }[];
        const stuck = entries.filter((e) => failIds.has(e.MessageDeduplicationId));
        if (stuck.length > 0 && failNextSends === 0) {
          const rest = entries.filter((e) => !failIds.has(e.MessageDeduplicationId));
          const sent = rest.length ? ((await sendToQueue(action, { ...params, Entries: rest })) as { Successful: unknown[] }).Successful : [];
          return { Successful: sent, Failed: stuck.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error.' })) };
        }
      } else if (failIds.has(String(params.MessageDeduplicationId)) && !params.MessageAttributes) {
        throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      }
      if (failNextSends > 0) {
        failNextSends--;
        throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      }
      return sendToQueue(action, params);
    },
   
    retryPauseMs: 0,
  });
  pipe = startDeliveryPipe(template, standIns, {
    db, sqs,
    post: (request) => {
      posts.push({ ...request, at: Date.now() });
      return answers.shift() ?? OK;
    },
  });
});
afterEach(() => pipe.stop(0));

const join = (name: string) => voiceEvent('join', { user: { id: '444444444444444444', name: name.toLowerCase(), display_name: name, bot: false } });
const claimOf = async (id: string) => (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }))).Item;

describe('a batched envelope (v2)', () => {
  const member = (name: string, id: string) => voiceEvent('join', { user: { id, name: name.toLowerCase(), display_name: name, bot: false } });

  it('each event is claimed and queued under its own id: outcomes by event, each posted once, and the same batch again posts nothing', async () => {
    const earlier = signed(member('Earlier', '555555555555555551'), { id: 'b1-earlier' });
    await relay.run(earlier);
    const batch = signedBatch([
      { id: 'b1-ann', event: member('Ann', '555555555555555552') },
      { id: 'b1-earlier', event: member('Earlier', '555555555555555551') },
      { id: 'b1-foreign', event: voiceEvent('join', { guild: { id: OTHER_GUILD_ID, name: 'Other' } }) },
      { id: 'b1-bo', event: member('Bo', '555555555555555553') },
      { id: 'b1-other', event: { type: 'GUILD_MEMBER_ADD' } },
    ], { id: 'batch-1' });
    const first = await relay.run(batch);
    expect(first).toEqual({ status: 'SUCCEEDED', output: { id: 'batch-1', events: [
      { id: 'b1-ann', kind: 'voice.join', channel: 'general', outcome: RelayOutcome.Queued },
      { id: 'b1-earlier', kind: 'voice.join', channel: 'general', outcome: RelayOutcome.Duplicate, code: RelayErrorCode.Duplicate },
      { id: 'b1-foreign', outcome: RelayOutcome.Rejected, code: RelayErrorCode.GuildNotAllowed, reason: expect.stringContaining(OTHER_GUILD_ID) },
      { id: 'b1-bo', kind: 'voice.join', channel: 'general', outcome: RelayOutcome.Queued },
      { id: 'b1-other', kind: 'unsupported', outcome: RelayOutcome.Ignored, code: RelayErrorCode.Ignored, reason: expect.any(String) },
    ] } });
    await pipe.idle();
    const posted = contents().join('\n');
    for (const name of ['Earlier', 'Ann', 'Bo']) expect(posted.match(new RegExp(`${name} joined`, 'g'))).toHaveLength(1);
    // The spool re-signs and re-sends the whole batch: every event is a duplicate now.
    const again = await relay.run(signedBatch(JSON.parse(batch.payload), { id: 'batch-1', ts: batch.ts + 5 }));
    expect((again as { output: { events: { outcome: string }[] } }).output.events.map((e) => e.outcome))
      .toEqual([RelayOutcome.Duplicate, RelayOutcome.Duplicate, RelayOutcome.Rejected, RelayOutcome.Duplicate, RelayOutcome.Ignored]);
    await pipe.idle();
    expect(contents().join('\n')).toBe(posted);
  });

  it('the claimed events of an envelope go onto the lane in one SendMessageBatch, in the envelope\'s order; an envelope of duplicates sends nothing', async () => {
    const batch = signedBatch(['Uno', 'Dos', 'Tres'].map((name, i) => ({ id: `order-${i}`, event: member(name, `55555555555555557${i}`) })));
    expect((await relay.run(batch)).status).toBe('SUCCEEDED');
    expect(sendActions).toEqual(['sendMessageBatch']);
    expect(lane().peek().map((m) => JSON.parse(m.body).id)).toEqual(['order-0', 'order-1', 'order-2']);
    await pipe.idle();
    sendActions.length = 0;
    expect((await relay.run(signedBatch(JSON.parse(batch.payload), { ts: batch.ts + 1 }))).status).toBe('SUCCEEDED');
    expect(sendActions).toEqual([]);
    expect(contents().join('\n').match(/(Uno|Dos|Tres) joined/g)).toEqual(['Uno joined', 'Dos joined', 'Tres joined']);
  });

  it('names with quotes and backslashes reach Discord intact through the batch send, lone and batched', async () => {
    const name = 'Ann "Q" O\\Brien';
    expect((await relay.run(signed(member(name, '555555555555555591'), { id: 'quote-1' }))).status).toBe('SUCCEEDED');
    expect((await relay.run(signedBatch([{ id: 'quote-2', event: member(`${name} 2`, '555555555555555592') }]))).status).toBe('SUCCEEDED');
    await pipe.idle();
    expect(deadLetters().peek()).toEqual([]);
    expect(contents()).toEqual([expect.stringContaining('Ann "Q" O\\\\Brien'), expect.stringContaining('Ann "Q" O\\\\Brien 2')]);
  });

  it('a SendMessageBatch that fails, or times out after it landed, sends each event alone: SQS drops the copies, each is posted once', async () => {
    failNextSends = 1;
    const first = await relay.run(signedBatch([{ id: 'alone-1', event: member('Solo', '555555555555555581') }, { id: 'alone-2', event: member('Duo', '555555555555555582') }]));
    expect(first).toMatchObject({ status: 'SUCCEEDED', output: { events: [{ id: 'alone-1', outcome: RelayOutcome.Queued }, { id: 'alone-2', outcome: RelayOutcome.Queued }] } });
    expect(sendActions).toEqual(['sendMessageBatch', 'sendMessage', 'sendMessage']);
    // A batch that landed but answered an error (a timeout): the sends alone are copies inside SQS's deduplication.
    batchLandsThenTimesOut = true;
    const second = await relay.run(signedBatch([{ id: 'landed-1', event: member('Trio', '555555555555555583') }]));
    expect(second).toMatchObject({ status: 'SUCCEEDED', output: { events: [{ id: 'landed-1', outcome: RelayOutcome.Queued }] } });
    await pipe.idle();
    expect(contents().join('\n').match(/(Solo|Duo|Trio) joined/g)?.sort()).toEqual(['Duo joined', 'Solo joined', 'Trio joined']);
  });

  it('one event that cannot be queued fails alone: kept as a dead letter and released, the rest of its batch queued and posted', async () => {
    failIds.add('b2-stuck');
    const outcome = await relay.run(signedBatch([
      { id: 'b2-ok', event: member('Okay', '555555555555555554') },
      { id: 'b2-stuck', event: member('Stuck', '555555555555555555') },
    ]));
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { events: [
      { id: 'b2-ok', outcome: RelayOutcome.Queued },
      { id: 'b2-stuck', kind: 'voice.join', outcome: RelayOutcome.Failed, code: RelayErrorCode.Internal, cause: expect.stringContaining('its id was released; send it again (it was kept in the dead-letter queue') },
    ] } });
    expect(await claimOf('b2-stuck')).toBeUndefined();
    expect(deadLetters().peek().map((m) => JSON.parse(m.body).id)).toEqual(['b2-stuck']);
    // Only the entry the batch refused goes alone (its 4 attempts, then the dead letter): the one it took keeps its claim.
    expect(sendActions).toEqual(['sendMessageBatch', 'sendMessage', 'sendMessage', 'sendMessage', 'sendMessage', 'sendMessage']);
    expect((await claimOf('b2-ok'))?.state).toEqual({ S: expect.stringMatching(`^(${ClaimState.Queued}|${ClaimState.Delivered})$`) });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Okay joined')]);
    failIds.clear();
    expect(await relay.run(signed(member('Stuck', '555555555555555555'), { id: 'b2-stuck' }))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    expect(contents().join('\n').match(/Stuck joined/g)).toHaveLength(1);
  });

  it('a lone event\'s failure still fails the execution with its code (the v1 contract), and a rejected envelope fails whole', async () => {
    failIds.add('lone-stuck');
    expect(await relay.run(signed(member('Lone', '555555555555555556'), { id: 'lone-stuck' }))).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal, cause: expect.stringContaining('send it again') });
    const forged = { ...signedBatch([{ id: 'f-1', event: member('Forged', '555555555555555557') }]), sig: '0'.repeat(128) };
    expect(await relay.run(forged)).toMatchObject({ status: 'FAILED', error: RelayErrorCode.InvalidSignature });
    expect(await claimOf('f-1')).toBeUndefined();
  });
});

describe('exactly-once effect', () => {
  it('a replayed envelope succeeds as Relay.Duplicate and posts nothing more', async () => {
    const envelope = signed(join('Replay'));
    expect(await relay.run(envelope)).toMatchObject({ status: 'SUCCEEDED', output: { outcome: RelayOutcome.Queued, id: envelope.id, channel: 'general' } });
    await pipe.idle();
    expect(await relay.run(envelope)).toEqual({
      status: 'SUCCEEDED', output: { id: envelope.id, kind: 'voice.join', channel: 'general', outcome: RelayOutcome.Duplicate, code: RelayErrorCode.Duplicate },
    });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Replay joined')]);
    expect((await claimOf(envelope.id))?.state).toEqual({ S: ClaimState.Delivered });
  });

  it('the same id re-signed later (what the forwarder spool does) is a duplicate; the same content under another id is a new event', async () => {
    const first = signed(join('Spool'), { id: 'spool-1' });
    await relay.run(first);
    await pipe.idle();
    const resigned = signed(join('Spool'), { id: 'spool-1', ts: first.ts + 5 });
    expect(resigned.sig).not.toBe(first.sig);
    expect(await relay.run(resigned)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    expect(await relay.run(signed(join('Spool'), { id: 'spool-2' }))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    expect(contents().join('\n').match(/Spool joined/g)).toHaveLength(2);
  });

  it('ten concurrent copies → one queued, nine duplicates, one post', async () => {
    const envelope = signed(join('Ten'));
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => relay.run(envelope)));
    const kinds = outcomes.map((o) => (o.status === 'SUCCEEDED' ? (o.output as { outcome: string }).outcome : o.error));
    expect(kinds.filter((k) => k === RelayOutcome.Queued)).toHaveLength(1);
    expect(kinds.filter((k) => k === RelayOutcome.Duplicate)).toHaveLength(9);
    await pipe.idle();
    expect(posts).toHaveLength(1);
  });

  it('an id whose enqueue failed is kept as a dead letter and released: the execution fails naming both, a re-send is posted, and a redrive then posts nothing more', async () => {
    const envelope = signed(join('Retry'));
    failNextSends = 5; // the envelope's SendMessageBatch, then Enqueue's first attempt and its three retries
    const failed = await relay.run(envelope);
    expect(failed).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal, cause: expect.stringContaining('its id was released; send it again (it was kept in the dead-letter queue') });
    expect(await claimOf(envelope.id)).toBeUndefined();
    // Kept as the delivery workflow keeps a refused event: the lane event, with the error and the reason.
    const [kept] = deadLetters().peek();
    expect(JSON.parse(kept.body)).toMatchObject({ id: envelope.id, channel: 'general', line: expect.stringContaining('Retry joined') });
    expect(kept.attributes).toEqual({
      RelayError: { DataType: 'String', StringValue: 'SQS.InternalError' },
      RelayReason: { DataType: 'String', StringValue: expect.stringContaining('the relay workflow could not queue it') },
    });
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Retry joined')]);
    // The operator redrives the dead letter after the re-send: already delivered, so skipped.
    expect(deadLetters().moveAllTo(lane())).toBe(1);
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Retry joined')]);
  });

  it('with the dead-letter queue refusing too, the failure says the event was not kept', async () => {
    failNextSends = 6;
    const failed = await relay.run(signed(join('Nowhere')));
    expect(failed).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal, cause: expect.stringContaining('the dead-letter queue did not take it either') });
    expect(deadLetters().peek()).toEqual([]);
  });

  it('a claim left by an execution that died is taken over after its lease and until takeoverUntil, never before or after', async () => {
    const now = Math.floor(Date.now() / 1000);
    const envelopes = { live: signed(join('Live')), dead: signed(join('Dead')), late: signed(join('Late')), older: signed(join('Older')) };
    // As the Claim step writes it (queued, before the send), by an execution that is not this one.
    const claim = (id: string, leaseUntil: number, takeoverUntil?: number, state: string = ClaimState.Queued) => db.client.send(new PutItemCommand({
      TableName: TABLE,
      Item: {
        id: { S: id }, state: { S: state }, leaseUntil: { N: String(leaseUntil) }, expiresAt: { N: String(now + 3600) }, claimedBy: { S: 'arn:aws:states:::execution:gone' },
        ...(takeoverUntil === undefined ? {} : { takeoverUntil: { N: String(takeoverUntil) } }),
      },
    }));
    await claim(envelopes.live.id, now + 60, now + 210);
    await claim(envelopes.dead.id, now - 1, now + 150);
    await claim(envelopes.late.id, now - 200, now - 1);
    // What relays before this version wrote first: `claimed`, no takeoverUntil.
    await claim(envelopes.older.id, now - 1, undefined, ClaimState.Claimed);
    expect(await relay.run(envelopes.live)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    expect(await relay.run(envelopes.dead)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    expect(await relay.run(envelopes.late)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    expect(await relay.run(envelopes.older)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Dead joined')]);
    expect((await claimOf(envelopes.dead.id))?.claimedBy.S).toMatch(/^arn:aws:states:/);
    expect((await claimOf(envelopes.dead.id))?.claimedBy.S).not.toBe('arn:aws:states:::execution:gone');
    for (const e of [envelopes.live, envelopes.late, envelopes.older]) await db.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { id: { S: e.id } } }));
  });

  it('a copy that takes over a claim whose first send did get through is dropped by SQS\'s deduplication: posted once', async () => {
    const envelope = signed(join('Twice'));
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    const now = Math.floor(Date.now() / 1000);
    const expire = (state: string) => db.client.send(new UpdateItemCommand({
      TableName: TABLE, Key: { id: { S: envelope.id } }, UpdateExpression: 'SET leaseUntil = :past, #state = :state',
      ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: { ':past': { N: String(now - 1) }, ':state': { S: state } },
    }));
    // Delivered: never taken over, whatever the lease says.
    await expire(ClaimState.Delivered);
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    // Still queued (the lane is slow) with the lease run out: the copy takes over, and SQS drops its send.
    await expire(ClaimState.Queued);
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Twice joined')]);
  });

  it('a claim that landed but answered an error is its own on the retry: queued and posted once, not a duplicate', async () => {
    let landedThenFailed = false;
    const flaky = new LocalStateMachine(stateMachineDefinition(template, standIns), {
      lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
      dynamodb: async (action, params) => {
        const result = await db.call(action, params);
        if (action === 'updateItem' && params.TableName === TABLE && !landedThenFailed) {
          landedThenFailed = true;
          throw new TaskFailure('DynamoDB.InternalServerErrorException', 'Internal server error');
        }
        return result;
      },
      sqs: sqs.call,
      retryPauseMs: 0,
    });
    const envelope = signed(join('Landed'));
    expect(await flaky.run(envelope)).toMatchObject({ status: 'SUCCEEDED', output: { outcome: RelayOutcome.Queued } });
    expect(landedThenFailed).toBe(true);
    // Another execution's copy is still a duplicate.
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Landed joined')]);
  });

  it('a late claim attempt (one that timed out, then landed after the event was delivered) is refused: a delivered record stays delivered', async () => {
    let late: Record<string, unknown> | undefined;
    const timingOut = new LocalStateMachine(stateMachineDefinition(template, standIns), {
      lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
      dynamodb: async (action, params) => {
        if (action === 'updateItem' && params.TableName === TABLE && !late) {
          late = params;
          throw new TaskFailure('States.Timeout', 'Task timed out');
        }
        return db.call(action, params);
      },
      sqs: sqs.call,
      retryPauseMs: 0,
    });
    const envelope = signed(join('Late'));
    expect(await timingOut.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    expect((await claimOf(envelope.id))?.state).toEqual({ S: ClaimState.Delivered });
    await expect(db.call('updateItem', late!)).rejects.toMatchObject({ name: 'DynamoDB.ConditionalCheckFailedException' });
    expect((await claimOf(envelope.id))?.state).toEqual({ S: ClaimState.Delivered });
    expect(contents()).toEqual([expect.stringContaining('Late joined')]);
  });

  it('a claim that landed but whose every attempt failed is given back: the error says send it again, and the re-send is posted once', async () => {
    const landing = new LocalStateMachine(stateMachineDefinition(template, standIns), {
      lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
      dynamodb: async (action, params) => {
        const result = await db.call(action, params);
        if (action === 'updateItem' && params.TableName === TABLE) throw new TaskFailure('DynamoDB.InternalServerErrorException', 'Internal server error');
        return result;
      },
      sqs: sqs.call,
      retryPauseMs: 0,
    });
    const envelope = signed(join('Gave'));
    expect(await landing.run(envelope)).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal, cause: expect.stringContaining('its id was released; send it again') });
    expect(await claimOf(envelope.id)).toBeUndefined();
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Gave joined')]);
  });

  it('a release that landed but answered an error still counts as released', async () => {
    let deletes = 0;
    const flakyRelease = new LocalStateMachine(stateMachineDefinition(template, standIns), {
      lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
      dynamodb: async (action, params) => {
        const result = await db.call(action, params);
        if (action === 'deleteItem' && deletes++ === 0) throw new TaskFailure('DynamoDB.InternalServerErrorException', 'Internal server error');
        return result;
      },
      sqs: async () => { throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.'); },
      retryPauseMs: 0,
    });
    const envelope = signed(join('Freed'));
    expect(await flakyRelease.run(envelope)).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('its id was released; send it again') });
    expect(deletes).toBe(2);
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await pipe.idle();
  });

  it('writes the claim once, as queued, with 90 s between the end of its lease and the end of the takeover', async () => {
    const envelope = signed(join('Once'));
    await relay.run(envelope);
    const item = await claimOf(envelope.id);
    expect(item?.state).toEqual({ S: ClaimState.Queued });
    expect(Number(item?.takeoverUntil.N) - Number(item?.leaseUntil.N)).toBe(90);
    await pipe.idle();
  });

  it('a takeover keeps the first claim\'s takeoverUntil and expiresAt: copies spaced out never move the window', async () => {
    const now = Math.floor(Date.now() / 1000);
    const envelope = signed(join('Anchored'));
    await db.client.send(new PutItemCommand({ TableName: TABLE, Item: {
      id: { S: envelope.id }, state: { S: ClaimState.Queued }, leaseUntil: { N: String(now - 1) }, takeoverUntil: { N: String(now + 5) },
      expiresAt: { N: String(now + 1000) }, claimedBy: { S: 'arn:aws:states:::execution:gone' }, channel: { S: 'general' },
    } }));
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    const item = await claimOf(envelope.id);
    expect({ takeoverUntil: Number(item?.takeoverUntil.N), expiresAt: Number(item?.expiresAt.N) }).toEqual({ takeoverUntil: now + 5, expiresAt: now + 1000 });
    expect(Number(item?.leaseUntil.N)).toBeGreaterThan(now);
    await pipe.idle();
  });

  it('a failed send never releases a record the lane has meanwhile delivered: a later copy is still a duplicate, and the error says it was not released', async () => {
    const envelope = signed(join('Landed'));
    // The first send reached SQS but timed out; the lane delivered it while the retries failed.
    let first = true;
    const landed = new LocalStateMachine(stateMachineDefinition(template, standIns), {
      lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
      dynamodb: db.call,
      sqs: async () => {
        if (first) {
          first = false;
          await db.client.send(new UpdateItemCommand({ TableName: TABLE, Key: { id: { S: envelope.id } }, UpdateExpression: 'SET #s = :d', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':d': { S: ClaimState.Delivered } } }));
        }
        throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      },
      retryPauseMs: 0,
    });
    const failed = await landed.run(envelope);
    expect(failed).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal, cause: expect.stringContaining('its claim was not released') });
    expect((await claimOf(envelope.id))?.state).toEqual({ S: ClaimState.Delivered });
    expect(await relay.run(envelope)).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
  });

  it('writes the claim with the TTL the retention sets (48 h) and the channel', async () => {
    const envelope = signed(join('Ttl'));
    await relay.run(envelope);
    const item = await claimOf(envelope.id);
    const expiresAt = Number(item?.expiresAt.N);
    expect(expiresAt - Math.floor(Date.now() / 1000)).toBeGreaterThan(48 * 3600 - 10);
    expect(expiresAt - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(48 * 3600);
    expect(item?.channel).toEqual({ S: 'general' });
    await pipe.idle();
  });
});

describe('pacing from Discord\'s answers', () => {
  it('429 with retry_after 1.7 → the next attempt comes at least 1.7 s later, then the message is posted once', async () => {
    answers = [{ status: 429, body: { message: 'You are being rate limited.', retry_after: 1.7, global: false } }];
    await relay.run(signed(join('Paced')));
    await pipe.idle();
    expect(posts).toHaveLength(2);
    expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(1700);
    expect(posts[1].body).toEqual(posts[0].body);
  });

  it('X-RateLimit-Remaining 0 → waits X-RateLimit-Reset-After before the next request', async () => {
    answers = [{ status: 200, body: {}, headers: { 'X-RateLimit-Remaining': ['0'], 'X-RateLimit-Reset-After': ['1.2'] } }];
    await relay.run(signed(join('First')));
    await pipe.idle();
    await relay.run(signed(join('Second')));
    await pipe.idle();
    expect(posts).toHaveLength(2);
    expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(1200);
  });
});

describe('never loses an event', () => {
  it('404 → the event goes to the dead-letter queue with the reason, once; the lane goes on', async () => {
    answers = [{ status: 404, body: { message: 'Unknown Webhook', code: 10015 } }];
    const gone = signed(join('Gone'));
    await relay.run(gone);
    await pipe.idle();
    await relay.run(signed(join('Next')));
    await pipe.idle();
    expect(contents()).toEqual([expect.stringContaining('Gone joined'), expect.stringContaining('Next joined')]);
    const dead = deadLetters().peek();
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].body)).toMatchObject({ id: gone.id, channel: 'general' });
    expect(dead[0].attributes).toEqual({
      RelayError: { DataType: 'String', StringValue: 'ApiGateway.404' },
      RelayReason: { DataType: 'String', StringValue: expect.stringMatching(/^Discord answered ApiGateway.404: .*Unknown Webhook/) },
    });
  });

  it('a server error that outlasts the retries fails the batch; the queue hands it out again and only what was not delivered is posted', async () => {
    // One batch, two channels: general is posted, audit fails (1 try + 2 retries), then succeeds on the redelivery.
    const a = signed(join('Kept'));
    const b = signed(voiceEvent('move'));
    const [bodyA, bodyB] = [await laneEventOf(a), await laneEventOf(b)];
    lane().send({ MessageBody: bodyA, MessageGroupId: 'general', MessageDeduplicationId: a.id });
    lane().send({ MessageBody: bodyB, MessageGroupId: 'audit', MessageDeduplicationId: b.id });
    answers = [OK, { status: 503, body: 'down' }, { status: 503, body: 'down' }, { status: 503, body: 'down' }];
    await pipe.idle();
    expect(posts.map((p) => p.channel)).toEqual(['general', 'audit', 'audit', 'audit', 'audit']);
    expect(pipe.stats.failedBatches).toBe(1);
  });
});

/** What the relay workflow would queue for an envelope (its claim is made here too). */
async function laneEventOf(envelope: ReturnType<typeof signed>): Promise<unknown> {
  const sent: unknown[] = [];
  const capture = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
    dynamodb: db.call,
    sqs: async (action, params) => {
      // The envelope's SendMessageBatch carries the lane event as its one entry's body.
      sent.push(action === 'sendMessageBatch' ? (params.Entries as { MessageBody: string }[])[0].MessageBody : params.MessageBody);
      return action === 'sendMessageBatch' ? { Successful: [], Failed: [] } : {};
    },
   
  });
  await capture.run(envelope);
  return sent[0];
}
