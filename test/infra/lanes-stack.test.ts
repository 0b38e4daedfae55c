/** The lanes in the template: table, queues, pipe, delivery workflow, and every IAM statement pinned to exact ARNs. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import { DedupeTable } from '../../lib/infra/dedupe-table';
import { DeliveryLane } from '../../lib/infra/delivery-lane';
import { DeliveryStateMachine } from '../../lib/infra/delivery-state-machine';
import { HeartbeatTable } from '../../lib/infra/heartbeat-table';
import { RelayStateMachine } from '../../lib/infra/relay-state-machine';
import { DYNAMODB_TIMEOUT, ENQUEUE_TIMEOUT } from '../../lib/infra/task-retries';
import { SEND_WORST_CASE_SECONDS } from '../../lib/infra/claim-steps';
import { CLAIM_TAKEOVER_SECONDS, SQS_DEDUPLICATION_SECONDS } from '../../lib/contracts/lane';
import { StateName } from '../../lib/contracts/state-names';
import { WebhookProxyApi } from '../../lib/infra/webhook-proxy-api';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { StateMachineId, stateMachineDefinition, type CfnTemplate } from '../../lib/local/synthesized-template';
import { CDK_CONTEXT, synthRelayStack, testConfig } from '../support/fixtures';
import { allStates } from '../support/workflow-states';

const { template } = synthRelayStack(testConfig({ dedupeRetentionHours: 72 }));
const json = template.toJSON() as CfnTemplate;
const only = (type: string, prefix: string) => {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
};
const table = only('AWS::DynamoDB::Table', 'DedupeTable');
const lane = only('AWS::SQS::Queue', 'LaneQueue');
const dlq = only('AWS::SQS::Queue', 'LaneDeadLetterQueue');
const relay = only('AWS::StepFunctions::StateMachine', 'RelayStateMachine');
const delivery = only('AWS::StepFunctions::StateMachine', 'DeliveryStateMachine');
const proxyApi = Object.keys(template.findResources('AWS::ApiGatewayV2::Api', { Properties: { Description: Match.stringLikeRegexp('webhook proxy') } }))[0];

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** Every statement of the policies attached to a role, logging permissions (CDK's, `Resource: *`) aside. */
function statementsOf(roleLogicalId: string): Array<{ Action: string | string[]; Resource: unknown }> {
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleLogicalId }] } }))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((st: { Action: string | string[] }) => ![st.Action].flat().some((a) => a.startsWith('logs:')));
}
const roleOf = (stateMachine: string) => (json.Resources[stateMachine].Properties!.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
const tableResource = (id = table) => ({ 'Fn::Join': ['', ['arn:aws:dynamodb:eu-west-1:123456789012:table/', { Ref: id }]] });

describe('dedupe table', () => {
  it('is on-demand, keyed by id, with TTL, point-in-time recovery and AWS-managed encryption', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('claims as queued in one conditional write whose TTL is the configured retention (72 h here, 48 h by default), and nothing marks it queued again', () => {
    const states = allStates(stateMachineDefinition(json));
    const claim = states['Claim id'];
    expect(claim.Resource).toMatch(/:states:::dynamodb:updateItem$/);
    expect(claim.Parameters.ConditionExpression).toBe('attribute_not_exists(#id) OR (#claimedBy = :me AND #state = :queued) OR (#state = :queued AND #leaseUntil < :now AND #takeoverUntil > :now)');
    // A takeover keeps the first claim's takeoverUntil and expiresAt: the window never moves.
    expect(claim.Parameters.UpdateExpression).toBe('SET #state = :queued, #channel = :channel, #leaseUntil = :lease, #claimedBy = :me, #takeoverUntil = if_not_exists(#takeoverUntil, :takeover), #expiresAt = if_not_exists(#expiresAt, :expires)');
    const values = claim.Parameters.ExpressionAttributeValues;
    expect(values[':me']).toEqual({ 'S.$': '$$.Execution.Id' });
    expect(values[':queued']).toEqual({ S: 'queued' });
    expect(values[':expires']).toEqual({ 'N.$': `States.JsonToString(States.MathAdd($.receivedAt, ${72 * 3600}))` });
    expect(values[':lease']).toEqual({ 'N.$': 'States.JsonToString(States.MathAdd($.receivedAt, 90))' });
    expect(values[':takeover']).toEqual({ 'N.$': 'States.JsonToString(States.MathAdd($.receivedAt, 180))' });
    expect(claim.TimeoutSeconds).toBe(2);
    expect(states.Enqueue.Next).toBe(StateName.CopyLanded);
    // The relay workflow writes each event's item once: the claim (the release only deletes it after a failed send).
    const writes = Object.entries(states).filter(([, s]) => /:states:::dynamodb:(putItem|updateItem)$/.test(s.Resource ?? '') && s.Parameters.TableName === table);
    expect(writes.map(([name]) => name)).toEqual(['Claim id']);
    expect(states['Release claim'].Parameters.ConditionExpression).toBe('attribute_not_exists(#id) OR (#claimedBy = :me AND #state = :queued)');
    // A claim that failed (it may have landed) is kept and given back the same way as a failed send.
    // After the sends: a failed claim is an outcome inside the Map, kept and released by Release failed claims.
    expect(claim.Catch.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'Claim failed' });
    // Every copy kept (one per channel), then the claim released.
    expect(states['Release failed claims: claim-failed?'].Choices[0].Next).toBe('Keep each copy (claim failed)');
    expect(states['Keep as dead letter (claim failed)']).toMatchObject({ Next: 'Copy kept (claim failed)', Parameters: { 'MessageBody.$': '$.entry.MessageBody', 'MessageGroupId.$': '$.channel', 'MessageDeduplicationId.$': '$.id' } });
    expect(states['Take kept note (claim failed)']).toMatchObject({ Next: 'Release claim (claim failed)' });
    expect(states['A copy lost (claim failed)']).toMatchObject({ InputPath: '$.lostCopies.kept[0]', Next: 'Release claim (claim failed)' });
    expect(states.Enqueue.Catch.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'Keep as dead letter' });
    // A copy that could not be queued is kept under its own deduplication id; the release is decided once every copy is settled.
    expect(states['Keep as dead letter']).toMatchObject({ Resource: expect.stringMatching(/:states:::sqs:sendMessage$/), Next: StateName.CopyNotLanded, Parameters: { 'MessageBody.$': '$.entry.MessageBody', 'MessageDeduplicationId.$': '$.id' } });
    expect(states[StateName.TakeFailedCopy]).toMatchObject({ Next: 'Release claim' });
    expect(states['Not kept'].Next).toBe(StateName.CopyNotLanded);
    // Both spellings Step Functions is seen to use (register row "DynamoDB error names").
    expect(claim.Catch[0]).toEqual({ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException', 'DynamoDb.ConditionalCheckFailedException'], ResultPath: null, Next: 'Duplicate' });
    expect(claim.Retry[0].ErrorEquals).toEqual(expect.arrayContaining(['DynamoDB.ThrottlingException', 'DynamoDb.ThrottlingException']));
    const defaults = synthRelayStack().template.toJSON() as CfnTemplate;
    expect(allStates(stateMachineDefinition(defaults))['Claim id'].Parameters.ExpressionAttributeValues[':expires']).toEqual({ 'N.$': `States.JsonToString(States.MathAdd($.receivedAt, ${48 * 3600}))` });
  });
});

describe('lane', () => {
  it('is an SQS FIFO queue, SQS-encrypted, TLS only, with a FIFO dead-letter queue after 5 receives', () => {
    // Content-based deduplication: EventBridge (the alarm notices' rule) can target a FIFO queue only with it on.
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true, SqsManagedSseEnabled: true, VisibilityTimeout: 180, ContentBasedDeduplication: true,
      RedrivePolicy: { deadLetterTargetArn: arnOf(dlq), maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, SqsManagedSseEnabled: true, ContentBasedDeduplication: true, MessageRetentionPeriod: 14 * 86400 });
    for (const queue of [lane, dlq]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('is fed by the relay workflow with the channel as message group and the event id as deduplication id, which each channel remembers on its own', () => {
    const enqueue = (allStates(stateMachineDefinition(json))).Enqueue;
    expect(enqueue.Resource).toMatch(/:states:::sqs:sendMessage$/);
    expect(enqueue.Parameters).toMatchObject({ 'MessageGroupId.$': '$.channel', 'MessageDeduplicationId.$': '$.id' });
    expect(allStates(stateMachineDefinition(json))[StateName.laneEntry('voice.join', 'general')].Parameters).toMatchObject({ entry: { 'MessageDeduplicationId.$': '$.id', MessageGroupId: 'general', 'MessageBody.$': 'States.JsonToString($.fan.f0.lane)' } });
    expect(enqueue.Parameters['MessageBody.$']).toBe('$.entry.MessageBody');
    // Per message group on the lane and its dead-letter queue: one event's copies for two channels are two messages.
    template.resourcePropertiesCountIs('AWS::SQS::Queue', { FifoQueue: true, DeduplicationScope: 'messageGroup' }, 2);
    template.resourcePropertiesCountIs('AWS::SQS::Queue', { FifoThroughputLimit: Match.anyValue() }, 0);
    const format = (allStates(stateMachineDefinition(json)))['Format voice.join'];
    expect(format.Parameters.lane).toEqual({ 'id.$': '$.id', 'kind.$': '$.kind', channel: 'general', 'line.$': expect.stringMatching(/^States\.Format\(/), 'receivedAt.$': '$.receivedAt' });
  });

  it('is drained by a pipe running the delivery workflow synchronously, 10 events per batch', () => {
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      Source: arnOf(lane), Target: { Ref: delivery },
      SourceParameters: { SqsQueueParameters: { BatchSize: 10 } },
      TargetParameters: { StepFunctionStateMachineParameters: { InvocationType: 'REQUEST_RESPONSE' } },
    });
  });
});

describe('IAM, pinned to exact ARNs', () => {
  it('relay workflow: claim and release in the table (no update); send to the lane; invoke Verify; put heartbeats in their table; nothing else', () => {
    const heartbeats = only('AWS::DynamoDB::Table', 'HeartbeatsTable');
    const statements = statementsOf(roleOf(relay));
    const expected = [
      // The unqualified ARN only: no `:*` for versions and aliases nothing calls.
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: arnOf(only('AWS::Lambda::Function', 'VerifyFunction')) },
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: tableResource(heartbeats) },
      { Action: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: tableResource() },
      // The lane (SendMessageBatch needs sqs:SendMessage too); and the dead-letter queue for Keep as dead letter.
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: [arnOf(dlq), arnOf(lane)] },
    ];
    expect(statements).toHaveLength(expected.length);
    expect(statements).toEqual(expect.arrayContaining(expected));
  });

  it('delivery workflow: Coalesce and Pace, exactly the two channel routes, read and mark in the table, send to the dead-letter queue', () => {
    const coalesce = arnOf(only('AWS::Lambda::Function', 'CoalesceFunction'));
    const pace = arnOf(only('AWS::Lambda::Function', 'PaceFunction'));
    const route = (channel: string) => ({ 'Fn::Join': ['', [`arn:aws:execute-api:eu-west-1:123456789012:`, { Ref: proxyApi }, `/$default/POST/channels/${channel}`]] });
    const statements = statementsOf(roleOf(delivery));
    expect(statements).toEqual(([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: [coalesce, pace] },
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [route('audit'), route('general')] },
      { Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: tableResource() },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: arnOf(dlq) },
    ]));
    expect(statements).toHaveLength(4);
  });

  it('pipe: created only after its role and the role\'s policy (a pipe created first fails with CREATE_FAILED: register row "pipe start")', () => {
    const pipe = only('AWS::Pipes::Pipe', 'LanePipe');
    const dependsOn = (json.Resources[pipe] as { DependsOn?: string[] }).DependsOn ?? [];
    expect(dependsOn).toEqual(expect.arrayContaining([only('AWS::IAM::Role', 'LanePipeRole'), only('AWS::IAM::Policy', 'LanePipeRoleDefaultPolicy')]));
  });

  it('relay workflow: updated only after the delivery workflow, so a fanned-out copy never meets a delivery workflow that marks no channel', () => {
    const relay = only('AWS::StepFunctions::StateMachine', 'RelayStateMachine');
    expect((json.Resources[relay] as { DependsOn?: string[] }).DependsOn).toEqual(expect.arrayContaining([only('AWS::StepFunctions::StateMachine', 'DeliveryStateMachine')]));
  });

  it('pipe: receive, delete and read attributes of the lane; start the delivery workflow; assumable by Pipes of this account only', () => {
    const role = only('AWS::IAM::Role', 'LanePipeRole');
    expect(statementsOf(role)).toEqual([
      { Action: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], Effect: 'Allow', Resource: arnOf(lane) },
      { Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: { Ref: delivery } },
    ]);
    expect(json.Resources[role].Properties!.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'pipes.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } }],
    });
  });

});

it('the longest channel name the config takes (48) makes state names Step Functions takes (80), in both workflows and with fan-out', () => {
  const long = `c${'x'.repeat(47)}`;
  const other = `d${'y'.repeat(47)}`;
  const config = testConfig({
    channels: { [long]: { secretName: 'relay-test/webhooks/long' }, [other]: { secretName: 'relay-test/webhooks/other', kind: 'slack' } },
    routes: [{ event: 'voice.update', channel: [long, other], template: '{user}' }], monitoring: { alarmChannel: long },
  });
  const tooLong = synthRelayStack(config).template.toJSON() as CfnTemplate;
  for (const id of [StateMachineId.Relay, StateMachineId.Delivery]) {
    const definition = stateMachineDefinition(tooLong, undefined, id);
    expect(aslValidator(structuredClone(definition)).errorsText?.()).toBe('');
    expect(Math.max(...Object.keys(allStates(definition)).map((name) => [...name].length))).toBeLessThanOrEqual(80);
  }
});

describe('delivery workflow', () => {
  it('is an Express workflow with a definition asl-validator accepts, timing out before the lane hands a batch out again', () => {
    const definition = stateMachineDefinition(json, undefined, StateMachineId.Delivery);
    const result = aslValidator(structuredClone(definition));
    expect(result.errorsText?.()).toBe('');
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'EXPRESS', LoggingConfiguration: Match.objectLike({ Level: 'ERROR' }) });
    expect(definition.TimeoutSeconds).toBe(120);
    // No Slack channel: Coalesce is told of none (slack-stack.test.ts has one).
    expect(allStates(definition)['Coalesce'].Parameters.slackChannels).toBeUndefined();
  });

  it('catches 429 to wait retry_after, dead-letters permanent refusals, and lets other failures return the batch to the lane', () => {
    const post = ((stateMachineDefinition(json, undefined, StateMachineId.Delivery).States as any)['Post each message'].ItemProcessor.States as Record<string, any>)['Post to general'];
    expect(post.Catch.map((c: { ErrorEquals: string[]; Next: string }) => [c.ErrorEquals, c.Next])).toEqual([
      [['ApiGateway.429'], 'Pace after 429'],
      [['ApiGateway.400', 'ApiGateway.401', 'ApiGateway.403', 'ApiGateway.404', 'ApiGateway.405', 'ApiGateway.410', 'ApiGateway.413', 'ApiGateway.415'], 'Describe refusal'],
    ]);
    // The refusal's body is redacted by Pace before a dead-letter reason quotes it.
    const states = (stateMachineDefinition(json, undefined, StateMachineId.Delivery).States as any)['Post each message'].ItemProcessor.States;
    // A stack without Slack channels names Discord as the one that refused (slack-stack.test.ts has both).
    expect(states['Describe refusal']).toMatchObject({ Next: 'Who refused?: Discord', ResultPath: '$.pace' });
    expect(states['Who refused?: Discord']).toMatchObject({ Result: 'Discord', ResultPath: '$.answerer', Next: 'Dead-letter' });
    expect(states['Dead-letter'].ItemSelector).toMatchObject({ 'cause.$': '$.pace.detail' });
    expect(post.Retry).toEqual([expect.objectContaining({ ErrorEquals: ['ApiGateway.500', 'ApiGateway.502', 'ApiGateway.503', 'ApiGateway.504'] })]);
  });

  it('outputs the dead-letter queue URL and the lane ARN (for redrive)', () => {
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: dlq } });
    template.hasOutput('LaneQueueArn', { Value: arnOf(lane) });
  });
});

describe('validation, with the construct path', () => {
  const build = (f: (s: Stack) => void) => {
    const app = new App({ context: CDK_CONTEXT });
    f(new Stack(app, 'V'));
    return () => app.synth();
  };

  it('refuses a dedupe retention shorter than the forwarder spool', () => {
    expect(build((s) => new DedupeTable(s, 'Dedupe', { retention: Duration.hours(24) }))).toThrow(/V\/Dedupe.*retention is 1 day.*at least 1 day 1 hour/);
  });

  it('a copy\'s send lands inside the first send\'s deduplication interval whenever it may take a claim over, and the lease outlasts a live execution', () => {
    // From Verify to a landed send: the guild settings read, the claim, the envelope's one batch send,
    // then each event alone — every attempt timing out.
    const toSend = SEND_WORST_CASE_SECONDS;
    expect(toSend).toBe(82);
    expect(CLAIM_TAKEOVER_SECONDS + toSend + 30).toBeLessThanOrEqual(SQS_DEDUPLICATION_SECONDS);
    const states = allStates(stateMachineDefinition(json));
    expect(states['Claim id'].TimeoutSeconds).toBe(DYNAMODB_TIMEOUT.toSeconds());
    expect(states.Enqueue.TimeoutSeconds).toBe(ENQUEUE_TIMEOUT.toSeconds());
    expect(states['Enqueue together']).toMatchObject({ TimeoutSeconds: 5 });
    expect(states['Enqueue together'].Retry).toBeUndefined();
    // Every claimed event's send waits for the whole Map: inside it, nothing slower than a claim
    // (the failed claims are kept and released after the sends).
    const inMap = Object.entries(allStates((stateMachineDefinition(json).States as Record<string, any>)['Handle each event'].ItemProcessor))
      .filter(([, st]) => st.Type === 'Task').map(([name]) => name).sort();
    expect(inMap).toEqual(['Claim id', 'Record heartbeat']);
    // With the Discord app the guild settings read comes first, bounded the same way (discord-app-stack.test.ts).
    // The default lease (90 s) is longer than a live execution needs to send.
    expect(toSend).toBeLessThan(90);
  });

  it('refuses a claim lease that would leave no time to take a claim over before SQS forgets the first send', () => {
    const relayWith = (claimLease: Duration) => build((s) => {
      const proxy = new WebhookProxyApi(s, 'Proxy', { channels: [{ name: 'general', webhookUrlSecret: secretsmanager.Secret.fromSecretNameV2(s, 'Hook', 'hooks/general') }], userAgent: 'DiscordBot (https://x, 1.0.0)' });
      const fn = new lambda.Function(s, 'Verify', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
      new RelayStateMachine(s, 'Relay', {
        verifyFunction: fn, webhookProxy: proxy, heartbeatTable: new HeartbeatTable(s, 'Heartbeats').table, routes: [{ event: 'voice.join', channel: 'general', template: 'x' }],
        lanes: { dedupe: new DedupeTable(s, 'Dedupe'), lane: new DeliveryLane(s, 'Lane'), claimLease },
      });
    });
    expect(relayWith(Duration.minutes(3))).toThrow(/V\/Relay.*claimLease must be from 82 s to 120 s \(got 3 minutes\)/);
    expect(relayWith(Duration.seconds(30))).toThrow(/claimLease must be from 82 s to 120 s \(got 30 seconds\): a shorter one lets a copy take over an execution still sending/);
    expect(relayWith(Duration.seconds(90))).not.toThrow();
  });

  it('refuses a delivery timeout that reaches the lane\'s visibility timeout', () => {
    expect(build((s) => {
      const fn = (id: string) => new lambda.Function(s, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
      new DeliveryStateMachine(s, 'Delivery', {
        coalesceFunction: fn('Coalesce'), paceFunction: fn('Pace'),
        webhookProxy: new WebhookProxyApi(s, 'Proxy', { channels: [{ name: 'general', webhookUrlSecret: secretsmanager.Secret.fromSecretNameV2(s, 'Hook', 'hooks/general') }], userAgent: 'DiscordBot (https://x, 1.0.0)' }),
        dedupe: new DedupeTable(s, 'Dedupe'),
        lane: new DeliveryLane(s, 'Lane', { visibilityTimeout: Duration.minutes(1) }),
      });
    })).toThrow(/V\/Delivery.*timeout \(2 minutes\) must be shorter than the lane's visibility timeout \(1 minute\)/);
  });
});
