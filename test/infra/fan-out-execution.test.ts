/**
 * One event to several channels (fan-out), at the state-machine level: both *synthesized*
 * definitions with the real Verify, Coalesce and Pace handlers, the dedupe table on dynalite, the
 * FIFO lane emulator and the local pipe. Joins and leaves go to #general (Discord) and #team
 * (Slack); only the webhooks' answers and the injected SQS and DynamoDB failures are scripted.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
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
import { signed, signedBatch, synthRelayStack, testConfig, voiceEvent } from '../support/fixtures';

const config = testConfig({
  channels: { general: { secretName: 'relay-test/webhooks/general' }, team: { secretName: 'relay-test/webhooks/team', kind: 'slack' } },
  routes: [
    { event: 'voice.join', channel: ['general', 'team'], template: '🔊 {user} joined {channel}' },
    { event: 'voice.leave', channel: 'general', template: '👋 {user} left {channel}' },
    { event: 'voice.leave', channel: 'team', template: 'bye {user}' },
  ],
  monitoring: undefined,
});
const template = synthRelayStack(config).template.toJSON() as CfnTemplate;
const TABLE = dedupeTableId(template)!;
const standIns = { region: 'us-east-1', accountId: '123456789012' };
/** What names one channel's copy of an event in `failIds`: the lane deduplicates by event id per channel. */
const copyId = (id: string, channel: string) => `${channel}:${id}`;

let db: LocalDynamoDb;
let sqs: LocalSqs;
let pipe: LanePipeEmulator;
let relay: LocalStateMachine;
let posts: PostRequest[];
/** Channels whose webhook answers as deleted. */
let gone: Set<string>;
/** Sends of these event ids (every channel's copy), or of one channel's copy (`copyId`), fail at every attempt. */
let failIds: Set<string>;
/** Dead letters of these (as `failIds`) are refused too. */
let failDeadLetters: Set<string>;
/** Claims of these event ids fail, every attempt. */
let failClaims: Set<string>;
let sendActions: string[];

const lane = () => sqs.queues.get(pipeSpec(template).sourceQueue)!;
const deadLetters = () => sqs.queues.get(queueSpecs(template).find((q) => q.logicalId === pipeSpec(template).sourceQueue)!.redrive!.deadLetterLogicalId)!;
/** What each channel was sent: a Discord message's content, a Slack message's text. */
const postedTo = (channel: string) => posts.filter((p) => p.channel === channel).map((p) => { const body = p.body as { content?: string; text?: string }; return body.content ?? body.text ?? ''; });
const claimOf = async (id: string) => (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
const member = (name: string, n: number) => voiceEvent('join', { user: { id: `5555555555555556${String(n).padStart(2, '0')}`, name: name.toLowerCase(), display_name: name, bot: false } });

function answer(request: PostRequest): PostResponse {
  if (request.channel === 'team') return gone.has('team') ? { status: 404, body: 'no_service' } : { status: 200, body: 'ok' };
  return gone.has(request.channel) ? { status: 404, body: { code: 10015, message: 'Unknown Webhook' } } : { status: 200, body: { id: '1' }, headers: { 'x-ratelimit-remaining': ['4'] } };
}

beforeAll(async () => {
  db = await LocalDynamoDb.start({ tables: tableSpecs(template), sweepIntervalMs: 0 });
});
afterAll(() => db.stop());

beforeEach(() => {
  posts = [];
  gone = new Set();
  failIds = new Set();
  failDeadLetters = new Set();
  failClaims = new Set();
  sendActions = [];
  sqs = new LocalSqs({ template, specs: queueSpecs(template), standIns, visibilityTimeoutMs: 4000 });
  const matches = (set: Set<string>, e: { MessageDeduplicationId?: unknown; MessageGroupId?: unknown }) => set.has(String(e.MessageDeduplicationId)) || set.has(copyId(String(e.MessageDeduplicationId), String(e.MessageGroupId)));
  const refused = (e: { MessageDeduplicationId?: unknown; MessageGroupId?: unknown }) => matches(failIds, e);
  relay = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
    dynamodb: async (action, params) => {
      if (action === 'updateItem' && failClaims.has(String((params.Key as { id: { S: string } }).id.S))) throw new TaskFailure('DynamoDB.InternalServerErrorException', 'Internal server error');
      return db.call(action, params);
    },
    sqs: async (action, params) => {
      sendActions.push(action);
      if (action === 'sendMessageBatch') {
        // A stuck entry fails as SendMessageBatch reports it: in Failed, the call itself succeeding.
        const entries = params.Entries as Array<{ Id: string; MessageDeduplicationId: string }>;
        const rest = entries.filter((e) => !refused(e));
        const sent = rest.length > 0 ? ((await sqs.call(action, { ...params, Entries: rest })) as { Successful: unknown[] }).Successful : [];
        return { Successful: sent, Failed: entries.filter(refused).map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error.' })) };
      }
      if (params.MessageAttributes ? matches(failDeadLetters, params) : refused(params)) throw new TaskFailure('SQS.InternalError', 'We encountered an internal error. Please try again.');
      return sqs.call(action, params);
    },
    retryPauseMs: 0,
  });
  pipe = startDeliveryPipe(template, standIns, {
    db, sqs,
    post: (request) => {
      posts.push(request);
      return answer(request);
    },
  });
});
afterEach(() => pipe.stop(0));

it('a join posts once on each channel, each in its own form; its outcome names both; the same envelope again posts nowhere', async () => {
  const envelope = signed(member('Ann <!channel>', 1), { id: 'fan-1' });
  expect(await relay.run(envelope)).toEqual({ status: 'SUCCEEDED', output: { id: 'fan-1', kind: 'voice.join', channel: 'general', channels: ['general', 'team'], outcome: RelayOutcome.Queued } });
  // One SendMessageBatch, one entry per channel, each deduplicated by the event id in its own channel.
  expect(sendActions).toEqual(['sendMessageBatch']);
  expect(lane().peek().map((m) => [m.groupId, JSON.parse(m.body).channel])).toEqual([['general', 'general'], ['team', 'team']]);
  await pipe.idle();
  expect(postedTo('general')).toEqual(['🔊 Ann \\<!channel\\> joined General']);
  expect(posts.find((p) => p.channel === 'general')?.body).toMatchObject({ allowed_mentions: { parse: [] } });
  expect(postedTo('team')).toEqual([expect.stringContaining('Ann &lt;!channel&gt; joined')]);
  expect((await claimOf('fan-1'))?.deliveredTo?.SS?.sort()).toEqual(['general', 'team']);
  expect(await relay.run(signed(member('Ann <!channel>', 1), { id: 'fan-1', ts: envelope.ts + 5 }))).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
  await pipe.idle();
  expect(posts).toHaveLength(2);
});

it('a second route for a kind is a fan-out too, with its own template per channel', async () => {
  expect(await relay.run(signed(voiceEvent('leave'), { id: 'fan-leave' }))).toMatchObject({ output: { outcome: RelayOutcome.Queued, channels: ['general', 'team'] } });
  await pipe.idle();
  expect(postedTo('general')).toEqual([expect.stringContaining('left')]);
  expect(postedTo('team')).toEqual([expect.stringContaining('bye ')]);
});

it('a batch of six joins (twelve entries) goes onto the lanes in two SendMessageBatch parts; each posts once per channel', async () => {
  const batch = signedBatch(['A1', 'B2', 'C3', 'D4', 'E5', 'F6'].map((name, i) => ({ id: `part-${i}`, event: member(name, 10 + i) })));
  const outcome = await relay.run(batch);
  expect((outcome as { output: { events: Array<{ outcome: string; channels: string[] }> } }).output.events.map((e) => [e.outcome, e.channels]))
    .toEqual(Array.from({ length: 6 }, () => [RelayOutcome.Queued, ['general', 'team']]));
  expect(sendActions).toEqual(['sendMessageBatch', 'sendMessageBatch']);
  await pipe.idle();
  for (const channel of ['general', 'team']) expect(postedTo(channel).join('\n').match(/[A-F]\d joined/g)?.sort()).toEqual(['A1 joined', 'B2 joined', 'C3 joined', 'D4 joined', 'E5 joined', 'F6 joined']);
});

it('a copy SQS will not take fails the event with its claim kept: the other channel posts once, a re-send is a duplicate, and a redrive posts the kept copy once', async () => {
  failIds.add(copyId('fan-stuck', 'team'));
  const failed = await relay.run(signed(member('Stuck', 30), { id: 'fan-stuck' }));
  expect(failed).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal, cause: expect.stringContaining('could not queue the event for ["team"]; its other channels have it, so its claim was kept') });
  // Only the refused entry went alone: its four attempts, then the dead letter.
  expect(sendActions).toEqual(['sendMessageBatch', ...Array(5).fill('sendMessage')]);
  expect((await claimOf('fan-stuck'))?.state).toEqual({ S: expect.stringMatching(`^(${ClaimState.Queued}|${ClaimState.Delivered})$`) });
  expect(deadLetters().peek().map((m) => [m.groupId, JSON.parse(m.body).channel])).toEqual([['team', 'team']]);
  await pipe.idle();
  expect(postedTo('general')).toHaveLength(1);
  expect(postedTo('team')).toEqual([]);
  failIds.clear();
  expect(await relay.run(signed(member('Stuck', 30), { id: 'fan-stuck' }))).toMatchObject({ output: { outcome: RelayOutcome.Duplicate } });
  expect(deadLetters().moveAllTo(lane())).toBe(1);
  await pipe.idle();
  expect(postedTo('general')).toHaveLength(1);
  expect(postedTo('team')).toEqual([expect.stringContaining('Stuck joined')]);
});

it('when no copy can be queued the claim is released: a re-send posts once on each channel', async () => {
  failIds.add('fan-none');
  expect(await relay.run(signed(member('None', 31), { id: 'fan-none' }))).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('its id was released; send it again (it was kept in the dead-letter queue') });
  expect(await claimOf('fan-none')).toBeUndefined();
  expect(deadLetters().peek().map((m) => m.groupId).sort()).toEqual(['general', 'team']);
  failIds.clear();
  expect(await relay.run(signed(member('None', 31), { id: 'fan-none' }))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
  await pipe.idle();
  expect([postedTo('general').length, postedTo('team').length]).toEqual([1, 1]);
  // A redrive of the kept copies after the re-send posts nothing more: each channel is in deliveredTo.
  expect(deadLetters().moveAllTo(lane())).toBe(2);
  await pipe.idle();
  expect([postedTo('general').length, postedTo('team').length]).toEqual([1, 1]);
});

it('a copy neither queued nor kept (the dead-letter queue refusing it too) while another landed: the failure says that channel will not post it', async () => {
  failIds.add(copyId('fan-lost', 'team'));
  failDeadLetters.add(copyId('fan-lost', 'team'));
  expect(await relay.run(signed(member('Lost', 35), { id: 'fan-lost' }))).toMatchObject({
    status: 'FAILED', cause: expect.stringContaining('could not queue the event for ["team"]; its other channels have it, so its claim was kept and a re-send is a duplicate. The dead-letter queue refused a copy not queued too: those channels will not post it'),
  });
  expect(deadLetters().peek()).toEqual([]);
  await pipe.idle();
  expect([postedTo('general').length, postedTo('team').length]).toEqual([1, 0]);
});

it('no copy queued and one not kept either: released, and a re-send posts once on each channel', async () => {
  failIds.add('fan-none-lost');
  failDeadLetters.add(copyId('fan-none-lost', 'team'));
  expect(await relay.run(signed(member('Nolost', 36), { id: 'fan-none-lost' }))).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('its id was released; send it again (the dead-letter queue did not take it either)') });
  expect(deadLetters().peek().map((m) => m.groupId)).toEqual(['general']);
  failIds.clear();
  expect(await relay.run(signed(member('Nolost', 36), { id: 'fan-none-lost' }))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
  await pipe.idle();
  expect([postedTo('general').length, postedTo('team').length]).toEqual([1, 1]);
});

it('a claim that fails keeps every channel\'s copy as a dead letter, each in its channel', async () => {
  failClaims.add('fan-claim');
  expect(await relay.run(signed(member('Claimless', 32), { id: 'fan-claim' }))).toMatchObject({ status: 'FAILED', error: RelayErrorCode.Internal });
  expect(deadLetters().peek().map((m) => [m.groupId, JSON.parse(m.body).id])).toEqual([['general', 'fan-claim'], ['team', 'fan-claim']]);
  expect(await claimOf('fan-claim')).toBeUndefined();
});

it('a claim that fails with one copy refused by the dead-letter queue too says so; the other copy is kept', async () => {
  failClaims.add('fan-claim-lost');
  failDeadLetters.add(copyId('fan-claim-lost', 'team'));
  expect(await relay.run(signed(member('Claimlost', 37), { id: 'fan-claim-lost' }))).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('its id was released; send it again (the dead-letter queue did not take it either)') });
  expect(deadLetters().peek().map((m) => m.groupId)).toEqual(['general']);
});

it('a deleted Slack webhook dead-letters the Slack copy only; Discord goes on posting', async () => {
  gone.add('team');
  await relay.run(signed(member('Gone', 33), { id: 'fan-gone' }));
  await pipe.idle();
  expect(deadLetters().peek().map((m) => [m.groupId, m.attributes.RelayReason?.StringValue])).toEqual([['team', 'Slack answered ApiGateway.404: no_service']]);
  await relay.run(signed(member('After', 34), { id: 'fan-after' }));
  await pipe.idle();
  expect(postedTo('general').join('\n').match(/(Gone|After) joined/g)).toEqual(['Gone joined', 'After joined']);
  expect((await claimOf('fan-gone'))?.deliveredTo?.SS).toEqual(['general']);
});
