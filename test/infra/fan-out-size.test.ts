/**
 * The largest envelope (10 events, 16 KiB) sent to MAX_CHANNELS_PER_KIND channels, all but one Slack's (whose lane
 * events carry the whole voice event): every state of the relay workflow stays under Step
 * Functions' 256 KiB, which the local runner enforces as AWS does (States.DataLimitExceeded).
 */
import { StateName } from '../../lib/contracts/state-names';
import { MAX_PAYLOAD_BYTES } from '../../lib/contracts/envelope';
import { MAX_CHANNELS_PER_KIND } from '../../lib/contracts/routes';
import { LocalDynamoDb } from '../../lib/local/dynamodb-emulator';
import { LocalSqs } from '../../lib/local/sqs-emulator';
import { LocalStateMachine } from '../../lib/local/state-machine-runner';
import { functionEnvironment, pipeSpec, queueSpecs, stateMachineDefinition, tableSpecs, type CfnTemplate } from '../../lib/local/synthesized-template';
import { createHandler } from '../../lib/verify/handler';
import { signedBatch, synthRelayStack, testConfig, voiceEvent } from '../support/fixtures';

// As many channels as one kind may go to, all but the first Slack's.
const channels = ['general', 'team', 'ops', 'mods', 'lounge', 'games'].slice(0, MAX_CHANNELS_PER_KIND);
const template = synthRelayStack(testConfig({
  channels: Object.fromEntries(channels.map((name, i) => [name, { secretName: `relay-test/webhooks/${name}`, kind: i === 0 ? 'discord' : 'slack' }])),
  routes: [{ event: 'voice.join', channel: channels, template: '🔊 **{user}** joined {channel} · {time}' }],
  monitoring: undefined,
})).template.toJSON() as CfnTemplate;
const standIns = { region: 'us-east-1', accountId: '123456789012' };

let db: LocalDynamoDb;
beforeAll(async () => {
  db = await LocalDynamoDb.start({ tables: tableSpecs(template), sweepIntervalMs: 0 });
});
afterAll(() => db.stop());

/** Ten joins as large as the batch allows: long ids, quote-filled names (each `"` escapes twice on the way to a lane), 25 occupants. */
function largestBatch(): Array<{ id: string; event: unknown }> {
  const join = (k: number, members: number) => voiceEvent('join', {
    user: { id: String(500000000000000000n + BigInt(k)), name: `u${k}`, display_name: '"'.repeat(32), bot: false },
    after: {
      channel_id: '222222222222222222', channel_name: '"'.repeat(40),
      occupants: { count: 25, members: Array.from({ length: members }, (_, j) => ({ id: String(400000000000000000n + BigInt(k * 100 + j)), name: `${'"'.repeat(30)}${j}` })) },
    } as never,
  });
  for (let members = 25; ; members--) {
    const items = Array.from({ length: 10 }, (_, k) => ({ id: `${k}-big-${'i'.repeat(100)}`, event: join(k, members) }));
    if (Buffer.byteLength(JSON.stringify(items)) <= MAX_PAYLOAD_BYTES) return items;
  }
}

it('queues every copy of a full 16 KiB batch to the most channels a kind may go to, without a state passing 256 KiB', async () => {
  const sqs = new LocalSqs({ template, specs: queueSpecs(template), standIns });
  const relay = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined) },
    dynamodb: db.call,
    sqs: (action, params) => {
      sends.push(action);
      return sqs.call(action, params);
    },
    retryPauseMs: 0,
  });
  const sends: string[] = [];
  const items = largestBatch();
  expect(Buffer.byteLength(JSON.stringify(items))).toBeGreaterThan(MAX_PAYLOAD_BYTES - 1024);
  const outcome = await relay.run(signedBatch(items));
  expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
  expect((outcome as { output: { events: Array<{ outcome: string; channels: string[] }> } }).output.events.map((e) => [e.outcome, e.channels]))
    .toEqual(items.map(() => ['queued', channels]));
  const lane = sqs.queues.get(pipeSpec(template).sourceQueue)!;
  expect(lane.peek()).toHaveLength(10 * channels.length);
  // Ids that differ from their first character: the local engine's MD5 (wrong past 55 bytes) does not
  // make them collide, so the batch goes in parts as it would in AWS, not copy by copy.
  expect(sends.filter((a) => a === 'sendMessageBatch')).toHaveLength(Math.ceil((10 * channels.length) / 10));
  expect(sends).not.toContain('sendMessage');
});
