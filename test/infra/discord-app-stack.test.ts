/**
 * The Discord app in the synthesized stack: what `discordApp` adds (and that nothing is added
 * without it), the public route and its throttle, the function's exact permissions, and both
 * workflows honouring the guild settings — run in-process from the synthesized definitions, with
 * the opt-out or pause written after the event was queued (so only the delivery workflow's own
 * read can catch it) — and the DiscordCommands construct on its own.
 */
import { createHash } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { InteractionsEnv } from '../../lib/contracts/env';
import { IgnoreReason, relayCommandDefinitions } from '../../lib/contracts/interactions';
import { DiscordCommands, commandsHash, type DiscordCommandsProps } from '../../lib/infra/discord-commands';
import { addSecurityChecks } from '../../lib/infra/security-checks';
import { NO_BUNDLING, cdkJsonContext } from '../../lib/project-files';
import { RelayOutcome } from '../../lib/contracts/lane';
import { StackOutput } from '../../lib/contracts/outputs';
import { StateName } from '../../lib/contracts/state-names';
import { DYNAMODB_TIMEOUT } from '../../lib/infra/task-retries';
import { createDeliveryHandlers } from '../../lib/delivery/handlers';
import { interactionId } from '../../lib/interactions/simulate';
import { GuildSettingsStore } from '../../lib/interactions/guild-settings';
import { LocalDynamoDb } from '../../lib/local/dynamodb-emulator';
import { LanePipeEmulator } from '../../lib/local/lane-pipe-emulator';
import { LocalSqs } from '../../lib/local/sqs-emulator';
import { LocalStateMachine, type PostRequest } from '../../lib/local/state-machine-runner';
import { StateMachineId, dedupeTableId, functionEnvironment, pipeSpec, queueSpecs, stateMachineDefinition, tableSpecs, type CfnTemplate } from '../../lib/local/synthesized-template';
import { createHandler } from '../../lib/verify/handler';
import { GUILD_ID, signed, signedBatch, synthRelayStack, testConfig, voiceEvent } from '../support/fixtures';
import { allStates } from '../support/workflow-states';

const APP = { applicationId: '1111111111111111111', publicKey: 'ab'.repeat(32) };
const guild = (n: number) => String(200000000000000000n + BigInt(n));
const config = testConfig({
  discordApp: APP,
  allowedGuildIds: [GUILD_ID, guild(1), guild(2), guild(3), guild(4), guild(5), guild(6), guild(7)],
  routes: [
    { event: 'voice.join', channel: 'general', mode: 'card' },
    { event: 'voice.leave', channel: 'general', mode: 'card' },
    { event: 'voice.move', channel: 'audit', template: '🔀 {user} moved from {from} to {to}' },
  ],
});
const { template } = synthRelayStack(config);
const json = template.toJSON() as CfnTemplate;
const standIns = { region: 'us-east-1', accountId: '123456789012' };
const settingsTable = () => Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.startsWith('GuildSettings'))!;

describe('template', () => {
  it('adds nothing without discordApp: no endpoint, no settings table, no settings read in either workflow', () => {
    const plain = synthRelayStack().template;
    expect(Object.keys(plain.findResources('AWS::DynamoDB::Table')).filter((id) => id.startsWith('GuildSettings'))).toEqual([]);
    expect(Object.keys(plain.findOutputs(StackOutput.InteractionsUrl))).toEqual([]);
    const definitions = JSON.stringify(plain.findResources('AWS::StepFunctions::StateMachine'));
    expect(definitions).not.toContain(StateName.ReadGuildSettings);
  });

  it('bounds the settings read like the claim: 2 s an attempt, and no other service task on the way to the send than the claim budget counts', () => {
    const states = allStates(stateMachineDefinition(json));
    expect(states[StateName.ReadGuildSettings].TimeoutSeconds).toBe(DYNAMODB_TIMEOUT.toSeconds());
    // lanes-stack.test.ts adds up the settings read, the claim and the enqueue; a new service task must be added there.
    const services = Object.entries(states).filter(([, st]) => /:states:::(aws-sdk:)?(dynamodb|sqs):/.test(st.Resource ?? '')).map(([name]) => name).sort();
    // Keep as dead letter and Release claim come after a failure, not on the way to a landed send.
    expect(services).toEqual(['Claim id', 'Enqueue', 'Enqueue part', 'Enqueue together', 'Keep as dead letter', 'Keep as dead letter (claim failed)', 'Read guild settings', "Read the envelope's guild settings", 'Record heartbeat', 'Release claim', 'Release claim (claim failed)']);
    expect(states[StateName.ReadEnvelopeGuild]).toMatchObject({ TimeoutSeconds: DYNAMODB_TIMEOUT.toSeconds(), Retry: states[StateName.ReadGuildSettings].Retry });
  });

  it('serves POST /interactions without IAM, throttled at 10/s burst 20, through a Lambda proxy (payload 2.0)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /interactions', AuthorizationType: 'NONE' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      ApiId: { Ref: Match.stringLikeRegexp('^InteractionsApi') },
    });
    template.hasOutput(StackOutput.InteractionsUrl, { Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/interactions$')])] } });
    // Every other route keeps IAM.
    const others = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter((r) => r.Properties.RouteKey !== 'POST /interactions');
    expect(others.length).toBeGreaterThan(2);
    for (const r of others) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('gives the function the public key and resource names only, a 3 s timeout, and exactly its three grants', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 3,
      Environment: { Variables: Match.objectLike({ [InteractionsEnv.PublicKey]: APP.publicKey, [InteractionsEnv.AllowedGuildIds]: config.allowedGuildIds.join(','), [InteractionsEnv.SettingsTable]: { Ref: settingsTable() } }) },
    });
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^InteractionsFunctionRole') } }));
    const statements = policy.Properties.PolicyDocument.Statement.filter((s: { Action: unknown }) => !JSON.stringify(s.Action).includes('logs:'));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [settingsTable(), 'Arn'] } },
      { Effect: 'Allow', Action: 'sqs:GetQueueAttributes', Resource: [{ 'Fn::GetAtt': [expect.stringMatching(/^LaneDeadLetterQueue/), 'Arn'] }, { 'Fn::GetAtt': [expect.stringMatching(/^LaneQueue/), 'Arn'] }] },
      { Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' },
    ]);
  });

  it('keeps the settings table when the stack goes (an opt-out must outlive a redeploy) and backs it up', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: Match.objectLike({ KeySchema: [{ AttributeName: 'guildId', KeyType: 'HASH' }], PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }) });
  });

  it('lets both workflows read the settings table, and neither write it', () => {
    const grants = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
        .filter((st) => JSON.stringify(st.Resource).includes(`"${settingsTable()}"`))
        .map((st) => [id.replace(/[0-9A-F]{8}$/, ''), st.Action]));
    expect(grants).toEqual(expect.arrayContaining([
      [expect.stringMatching(/^RelayStateMachineRoleDefaultPolicy/), 'dynamodb:GetItem'],
      [expect.stringMatching(/^DeliveryStateMachineRoleDefaultPolicy/), 'dynamodb:GetItem'],
      [expect.stringMatching(/^InteractionsFunctionRoleDefaultPolicy/), ['dynamodb:GetItem', 'dynamodb:UpdateItem']],
    ]));
    expect(grants).toHaveLength(3);
  });
});

describe('the workflows honour the settings', () => {
  let db: LocalDynamoDb;
  let sqs: LocalSqs;
  let relay: LocalStateMachine;
  let delivery: LocalStateMachine;
  let posts: PostRequest[];
  let store: GuildSettingsStore;
  /** Guild settings items read, by guild id, in the order the workflows asked. */
  let settingsReads: string[];
  /** Makes every settings read fail (as a throttled or unreachable table would). */
  let settingsDown: boolean;

  beforeAll(async () => {
    db = await LocalDynamoDb.start({ tables: tableSpecs(json), sweepIntervalMs: 0 });
    store = new GuildSettingsStore(db.jsonApi, settingsTable());
  });
  afterAll(() => db.stop());
  beforeEach(() => {
    posts = [];
    settingsReads = [];
    settingsDown = false;
    sqs = new LocalSqs({ template: json, specs: queueSpecs(json), standIns, visibilityTimeoutMs: 4000 });
    const dynamodb: typeof db.call = async (action, input) => {
      const request = input as { TableName?: string; Key?: Record<string, { S?: string }> };
      if (action === 'getItem' && request.TableName === settingsTable()) {
        settingsReads.push(String(Object.values(request.Key ?? {})[0]?.S));
        if (settingsDown) throw Object.assign(new Error('Throughput exceeds the current capacity of your table or index.'), { name: 'DynamoDB.ProvisionedThroughputExceededException' });
      }
      return db.call(action, input);
    };
    relay = new LocalStateMachine(stateMachineDefinition(json, standIns), {
      lambdas: { [StateName.Verify]: createHandler(functionEnvironment(json, 'VerifyFunction', standIns), () => undefined) },
      dynamodb, sqs: sqs.call, retryPauseMs: 0,
    });
    delivery = new LocalStateMachine(stateMachineDefinition(json, standIns, StateMachineId.Delivery), {
      lambdas: createDeliveryHandlers(), dynamodb, sqs: sqs.call, retryPauseMs: 0,
      post: (request) => {
        posts.push(request);
        return { status: 200, body: { id: String(posts.length) }, headers: {} };
      },
    });
  });

  /** Runs the pipe over what is queued now (started only after the test changed the settings). */
  async function deliver(): Promise<string[]> {
    const pipe = new LanePipeEmulator({ queue: sqs.queues.get(pipeSpec(json).sourceQueue)!, target: delivery, batchSize: 10 });
    pipe.start();
    await pipe.idle();
    await pipe.stop(0);
    return posts.map((p) => (p.body as { content: string }).content);
  }

  const member = (id: string, name: string) => ({ id, name: name.toLowerCase(), display_name: name, bot: false });

  it('a member who opted out after their event was queued is not posted (the delivery workflow reads the settings again)', async () => {
    const g = guild(1);
    const erin = member('600000000000000001', 'Erin');
    const moved = signed(voiceEvent('move', { guild: { id: g, name: 'G' }, user: erin }));
    expect(await relay.run(moved)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await store.optOut(g, erin.id, new Date(), interactionId());
    expect(await deliver()).toEqual([]);
  });

  it('a pause set after an event was queued holds it back; the relay workflow ignores events while paused', async () => {
    const g = guild(2);
    const queued = signed(voiceEvent('move', { guild: { id: g, name: 'G' }, user: member('600000000000000002', 'Finn') }));
    expect(await relay.run(queued)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    await store.setPause(g, new Date(Date.now() + 60_000), '600000000000000009', new Date(), interactionId());
    expect(await deliver()).toEqual([]);
    const later = signed(voiceEvent('move', { guild: { id: g, name: 'G' }, user: member('600000000000000003', 'Gus') }));
    expect(await relay.run(later)).toMatchObject({ output: { outcome: RelayOutcome.Ignored, reason: IgnoreReason.Paused } });
  });

  it('a card counts a member who opted out without naming them, and without storing their name', async () => {
    const g = guild(3);
    const [hana, ivo] = [member('600000000000000004', 'Hana'), member('600000000000000005', 'Ivo')];
    await store.optOut(g, hana.id, new Date(), interactionId());
    const room = { channel_id: '700000000000000009', channel_name: 'Room', occupants: { count: 2, members: [{ id: hana.id, name: 'Hana' }, { id: ivo.id, name: 'Ivo' }] } };
    const joined = signed(voiceEvent('join', { guild: { id: g, name: 'G' }, user: ivo, before: null, after: room }));
    expect(await relay.run(joined)).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    const [card] = await deliver();
    expect(card).toMatch(/Room\*\* — live · Ivo \+1 more · since/);
    const stored = JSON.stringify(await db.call('getItem', { TableName: dedupeTableId(json)!, Key: { id: { S: `card#general#${room.channel_id}` } } }));
    expect(stored).toContain('Ivo');
    expect(stored).not.toContain('Hana');
  });

  const moveIn = (g: string, who: ReturnType<typeof member>) => voiceEvent('move', { guild: { id: g, name: 'G' }, user: who });
  const outcomes = (run: unknown) => (((run as { output?: unknown }).output as { events?: Array<{ id: string; outcome: string; reason?: string }> }).events ?? []).map((e) => `${e.id}:${e.outcome}${e.reason ? `:${e.reason}` : ''}`);

  it('a batch from one guild reads its settings once, and each event is judged by them', async () => {
    const g = guild(5);
    const [kai, lu, mo] = [member('600000000000000011', 'Kai'), member('600000000000000012', 'Lu'), member('600000000000000013', 'Mo')];
    await store.optOut(g, lu.id, new Date(), interactionId());
    const run = await relay.run(signedBatch([{ id: 'b5-kai', event: moveIn(g, kai) }, { id: 'b5-lu', event: moveIn(g, lu) }, { id: 'b5-mo', event: moveIn(g, mo) }]));
    expect(outcomes(run)).toEqual(['b5-kai:queued', `b5-lu:ignored:${IgnoreReason.OptedOut}`, 'b5-mo:queued']);
    expect(settingsReads).toEqual([g]);
    // A lone (v1) event reads once as before.
    settingsReads = [];
    expect(await relay.run(signed(moveIn(g, kai)))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    expect(settingsReads).toEqual([g]);
  });

  it('a batch from two guilds reads each event\'s own, and a pause in one holds back only its events', async () => {
    const [g6, g7] = [guild(6), guild(7)];
    await store.setPause(g7, new Date(Date.now() + 60_000), '600000000000000009', new Date(), interactionId());
    const nia = member('600000000000000014', 'Nia');
    const run = await relay.run(signedBatch([{ id: 'b6-a', event: moveIn(g6, nia) }, { id: 'b7-a', event: moveIn(g7, nia) }, { id: 'b6-b', event: moveIn(g6, member('600000000000000015', 'Oz')) }]));
    expect(outcomes(run)).toEqual(['b6-a:queued', `b7-a:ignored:${IgnoreReason.Paused}`, 'b6-b:queued']);
    expect([...settingsReads].sort()).toEqual([g6, g6, g7].sort());
  });

  it('a failed read of a batch\'s guild fails each of its events (once, with the cause), and no event reads again', async () => {
    settingsDown = true;
    const run = await relay.run(signedBatch([{ id: 'b5-x', event: moveIn(guild(5), member('600000000000000016', 'Pia')) }, { id: 'b5-y', event: moveIn(guild(5), member('600000000000000017', 'Quin')) }]));
    const events = ((run as { output?: unknown }).output as { events: Array<{ id: string; outcome: string; cause?: string }> }).events;
    expect(events.map((e) => `${e.id}:${e.outcome}`)).toEqual(['b5-x:failed', 'b5-y:failed']);
    for (const e of events) expect(e.cause).toMatch(/ProvisionedThroughputExceeded|Throughput exceeds/);
    // The first attempt and its retries: one read for the envelope, none per event.
    expect(new Set(settingsReads)).toEqual(new Set([guild(5)]));
    const perAttempt = settingsReads.length;
    settingsReads = [];
    settingsDown = true;
    await relay.run(signed(moveIn(guild(5), member('600000000000000016', 'Pia'))));
    expect(settingsReads).toHaveLength(perAttempt);
  });

  it('the delivery workflow reads each guild of a batch once, whatever else the batch holds', async () => {
    const [g5, g6] = [guild(5), guild(6)];
    const [ria, sol, tam] = [member('600000000000000018', 'Ria'), member('600000000000000019', 'Sol'), member('600000000000000020', 'Tam')];
    for (const [g, who] of [[g5, ria], [g5, sol], [g6, tam], [g5, tam]] as const) {
      expect(await relay.run(signed(moveIn(g, who)))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    }
    // A lane event from no guild (an alarm notice is one) in the same batch.
    sqs.queues.get(pipeSpec(json).sourceQueue)!.send({ MessageBody: JSON.stringify({ id: 'notice-1', kind: 'relay.alarm', channel: 'general', line: 'Alarm notice' }), MessageGroupId: 'general', MessageDeduplicationId: 'notice-1' });
    await store.optOut(g5, sol.id, new Date(), interactionId());
    settingsReads = [];
    const lines = (await deliver()).join('\n');
    expect([...settingsReads].sort()).toEqual([g5, g6].sort());
    expect(lines).toContain('Ria moved');
    expect(lines).not.toContain('Sol moved');
    expect(lines.match(/Tam moved/g)).toHaveLength(2);
    expect(lines).toContain('Alarm notice');
  });

  it('an opted-in member is posted again', async () => {
    const g = guild(4);
    const jo = member('600000000000000006', 'Jo');
    await store.optOut(g, jo.id, new Date(), interactionId());
    expect(await relay.run(signed(voiceEvent('move', { guild: { id: g, name: 'G' }, user: jo })))).toMatchObject({ output: { outcome: RelayOutcome.Ignored, reason: IgnoreReason.OptedOut } });
    expect(await store.optIn(g, jo.id, new Date(), interactionId())).toBe(true);
    expect(await relay.run(signed(voiceEvent('move', { guild: { id: g, name: 'G' }, user: jo })))).toMatchObject({ output: { outcome: RelayOutcome.Queued } });
    expect(await deliver()).toEqual([expect.stringContaining('Jo moved')]);
  });
});

/** DiscordCommands alone: the custom resource with its properties, a function that may read the one secret, and its props checked. */
describe('DiscordCommands', () => {
  const APP_ID = '1111111111111111111';
  const GUILDS = ['111111111111111111', '222222222222222222'];

  function build(props: Partial<DiscordCommandsProps> = {}, checks = false) {
    const app = new App({ context: { ...cdkJsonContext(__dirname), ...NO_BUNDLING } });
    if (checks) addSecurityChecks(app);
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const botTokenSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Token', 'discord-relay/bot-token');
    const commands = new DiscordCommands(stack, 'Commands', { applicationId: APP_ID, botTokenSecret, guildIds: GUILDS, ...props });
    return { app, stack, commands };
  }

  const { stack, commands } = build();
  const template = Template.fromStack(stack);
  const functionId = stack.getLogicalId(commands.function.node.defaultChild as never);

  it('is a custom resource served by its function, with the registration\'s properties', () => {
    template.hasResourceProperties('Custom::DiscordCommands', {
      ServiceToken: { 'Fn::GetAtt': [functionId, 'Arn'] },
      ApplicationId: APP_ID,
      Scope: 'guild',
      GuildIds: GUILDS,
      SecretId: 'discord-relay/bot-token',
      CommandsHash: createHash('sha256').update(JSON.stringify(relayCommandDefinitions())).digest('hex'),
    });
    expect(commandsHash()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives global commands no guild list, so a change of guilds does not re-register them', () => {
    const { stack: s } = build({ scope: 'global' });
    Template.fromStack(s).hasResourceProperties('Custom::DiscordCommands', { Scope: 'global', GuildIds: [] });
  });

  it('runs on the house function with 60 s to wait out Discord', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 60, Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('may read that one secret, and nothing else but its own log group', () => {
    const roleId = stack.getLogicalId(commands.function.role!.node.defaultChild as never);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Effect: 'Allow', Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
        // The name plus Secrets Manager's random six-character suffix: this secret, no other.
        Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:discord-relay/bot-token-??????',
      })]) },
    });
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
    const statements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }).Properties.PolicyDocument.Statement);
    expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => !a.startsWith('logs:')).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('passes cdk-nag\'s AwsSolutions checks with no acknowledgement', () => {
    const { app } = build({}, true);
    expect(() => app.synth()).not.toThrow();
  });

  it.each([
    ['guild scope with no guilds', { guildIds: [] }, 'scope "guild" needs at least one guild id in guildIds (or use scope "global")'],
    ['an application id that is not a snowflake', { applicationId: 'my-app' }, 'applicationId "my-app" is not an application id'],
    ['a guild id that is not a snowflake', { guildIds: ['12'] }, 'guildIds "12" is not a guild id (17-20 digits)'],
  ])('refuses %s, naming its path', (_, props, message) => {
    const { app } = build(props);
    expect(() => app.synth()).toThrow(`[S/Commands] ${message}`);
  });

  it('allows the global scope with no guilds', () => {
    expect(() => build({ scope: 'global', guildIds: [] }).app.synth()).not.toThrow();
  });
});
