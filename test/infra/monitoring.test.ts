/**
 * RelayMonitoring on the synthesized stack: each alarm's metric, threshold and actions; the
 * heartbeat alarm watching exactly what the relay workflow writes; the topic and its e-mail
 * subscription; alarm changes reaching the lane as events Coalesce accepts; the dashboard.
 */
import { App, Duration } from 'aws-cdk-lib';
import { coalesce } from '../../lib/delivery/coalesce';
import { StateName } from '../../lib/contracts/state-names';
import { stateMachineDefinition, type CfnTemplate } from '../../lib/local/synthesized-template';
import { RelayMonitoring } from '../../lib/infra/relay-monitoring';
import { RelayStack } from '../../lib/infra/relay-stack';
import { validateRelayConfig } from '../../lib/config/validate';
import { ACCOUNT, CDK_CONTEXT, REGION, synthRelayStack, testConfig } from '../support/fixtures';
import { allStates } from '../support/workflow-states';

const { template, stack } = synthRelayStack();
const json = template.toJSON() as CfnTemplate & { Resources: Record<string, { Type: string; Properties: any }> };
const resourcesOf = (type: string, t = json) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const alarmsOf = (t = json) => new Map(resourcesOf('AWS::CloudWatch::Alarm', t).map(([id, r]) => [r.Properties.AlarmName as string, { id, ...r.Properties }]));
const topic = { Ref: resourcesOf('AWS::SNS::Topic')[0][0] };
const alarms = alarmsOf();

describe('alarms', () => {
  it.each([
    // name, namespace, metric, statistic, period, threshold
    ['RelayExecutionsFailed', 'AWS/States', 'ExecutionsFailed', 'Sum', 300, 5],
    ['RelayExecutionsTimedOut', 'AWS/States', 'ExecutionsTimedOut', 'Sum', 300, 1],
    ['DeliveryExecutionsFailed', 'AWS/States', 'ExecutionsFailed', 'Sum', 300, 1],
    ['DeliveryExecutionsTimedOut', 'AWS/States', 'ExecutionsTimedOut', 'Sum', 300, 1],
    ['VerifyErrors', 'AWS/Lambda', 'Errors', 'Sum', 300, 1],
    ['VerifyThrottles', 'AWS/Lambda', 'Throttles', 'Sum', 300, 1],
    ['Ingest5xx', 'AWS/ApiGateway', '5xx', 'Sum', 300, 1],
    ['Ingest4xxSpike', 'AWS/ApiGateway', '4xx', 'Sum', 300, 50],
    ['WebhookProxy5xx', 'AWS/ApiGateway', '5xx', 'Sum', 300, 1],
    ['DeadLetters', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 60, 1],
    ['LaneOldestEvent', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'Maximum', 60, 300],
  ])('%s: %s %s (%s over %i s) ≥ %i, notifying the topic on ALARM and OK', (name, namespace, metric, statistic, period, threshold) => {
    const alarm = alarms.get(`TestRelay-${name}`);
    expect(alarm).toMatchObject({
      Namespace: namespace, MetricName: metric, Statistic: statistic, Period: period, Threshold: threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
      AlarmActions: [topic], OKActions: [topic],
    });
    expect(alarm?.AlarmDescription.length).toBeGreaterThan(30);
  });

  it('each alarm watches its own resource', () => {
    const dim = (name: string) => alarms.get(`TestRelay-${name}`)?.Dimensions;
    const ref = (type: string, prefix: string) => ({ Ref: resourcesOf(type).find(([id]) => id.startsWith(prefix))![0] });
    expect(dim('RelayExecutionsFailed')).toEqual([{ Name: 'StateMachineArn', Value: ref('AWS::StepFunctions::StateMachine', 'RelayStateMachine') }]);
    expect(dim('DeliveryExecutionsFailed')).toEqual([{ Name: 'StateMachineArn', Value: ref('AWS::StepFunctions::StateMachine', 'DeliveryStateMachine') }]);
    expect(dim('VerifyErrors')).toEqual([{ Name: 'FunctionName', Value: ref('AWS::Lambda::Function', 'VerifyFunction') }]);
    expect(dim('Ingest5xx')).toEqual([{ Name: 'ApiId', Value: ref('AWS::ApiGatewayV2::Api', 'IngestApi') }]);
    expect(dim('WebhookProxy5xx')).toEqual([{ Name: 'ApiId', Value: ref('AWS::ApiGatewayV2::Api', 'WebhookProxyApi') }]);
    expect(dim('DeadLetters')).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^LaneDeadLetterQueue/), 'QueueName'] } }]);
    expect(dim('LaneOldestEvent')).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^LaneQueue/), 'QueueName'] } }]);
    expect(alarms.get('TestRelay-LaneOldestEvent')?.EvaluationPeriods).toBe(3);
  });

  it('the heartbeat alarm breaches on missing data, over the configured window, on the writes of the table only the heartbeat step writes', () => {
    const alarm = alarms.get('TestRelay-ForwarderHeartbeatMissing');
    expect(alarm).toMatchObject({
      Namespace: 'AWS/DynamoDB', MetricName: 'ConsumedWriteCapacityUnits', Statistic: 'Sum', Period: 20 * 60, Threshold: 1, EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching', AlarmActions: [topic], OKActions: [topic],
    });
    const [[tableId, heartbeats]] = resourcesOf('AWS::DynamoDB::Table').filter(([, t]) => t.Properties.KeySchema[0].AttributeName === 'forwarder');
    expect(heartbeats.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(alarm?.Dimensions).toEqual([{ Name: 'TableName', Value: { Ref: tableId } }]);
    const task = allStates(stateMachineDefinition(json))[StateName.RecordHeartbeat];
    expect(task.Resource).toMatch(/:states:::dynamodb:putItem$/);
    expect(task.Parameters.TableName).toBe(tableId);
    // No other state of either workflow writes to it, so nothing else can keep the alarm quiet.
    const writers = Object.values(json.Resources).filter((r: any) => r.Type === 'AWS::StepFunctions::StateMachine')
      .flatMap((r: any) => JSON.stringify(r.Properties.DefinitionString).split(tableId).length - 1);
    expect(writers.reduce((a, b) => a + b, 0)).toBe(1);
    // …and no custom metric: nothing is put with PutMetricData any more.
    expect(JSON.stringify(json)).not.toContain('PutMetricData');
  });

  it('twelve alarms in all, the e-mail subscribed to their topic', () => {
    expect(alarms.size).toBe(12);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topic });
  });

  it('no subscription without an e-mail, and a relay without lanes has no lane or delivery alarms', () => {
    const direct = synthRelayStack(testConfig({ monitoring: { level: 'full' } }), { directDelivery: true }).template;
    direct.resourceCountIs('AWS::SNS::Subscription', 0);
    direct.resourceCountIs('AWS::Events::Rule', 0);
    expect([...alarmsOf(direct.toJSON() as typeof json).keys()].sort()).toEqual([
      'TestRelay-ForwarderHeartbeatMissing', 'TestRelay-Ingest4xxSpike', 'TestRelay-Ingest5xx', 'TestRelay-RelayExecutionsFailed',
      'TestRelay-RelayExecutionsTimedOut', 'TestRelay-VerifyErrors', 'TestRelay-VerifyThrottles', 'TestRelay-WebhookProxy5xx',
    ]);
    expect(alarmsOf(direct.toJSON() as typeof json).get('TestRelay-ForwarderHeartbeatMissing')?.Period).toBe(15 * 60);
  });

  it('by default (essential, no dashboard): only the four alarms that mean events are not reaching Discord', () => {
    const essential = synthRelayStack(testConfig({ monitoring: undefined })).template;
    expect([...alarmsOf(essential.toJSON() as typeof json).keys()].sort()).toEqual([
      'TestRelay-DeadLetters', 'TestRelay-DeliveryExecutionsFailed', 'TestRelay-ForwarderHeartbeatMissing', 'TestRelay-Ingest5xx',
    ]);
    essential.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(essential.findOutputs('DashboardName'))).toEqual([]);
    // Without lanes, delivery fails in the relay workflow: that alarm takes the delivery alarm's place.
    const direct = synthRelayStack(testConfig({ monitoring: undefined }), { directDelivery: true }).template;
    expect([...alarmsOf(direct.toJSON() as typeof json).keys()].sort()).toEqual([
      'TestRelay-ForwarderHeartbeatMissing', 'TestRelay-Ingest5xx', 'TestRelay-RelayExecutionsFailed',
    ]);
  });

  it('dashboard: true adds the dashboard and its output at either level', () => {
    const withDashboard = synthRelayStack(testConfig({ monitoring: { dashboard: true } })).template;
    withDashboard.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    withDashboard.hasOutput('DashboardName', {});
    expect(alarmsOf(withDashboard.toJSON() as typeof json).size).toBe(4);
  });

  it('refuses a heartbeat window that is not whole minutes, naming the construct', () => {
    const app = new App({ context: CDK_CONTEXT });
    const relay = new RelayStack(app, 'TestRelay', { config: validateRelayConfig(testConfig()), env: { account: ACCOUNT, region: REGION } });
    new RelayMonitoring(relay, 'Extra', {
      relayWorkflow: relay.relay.stateMachine, verifyFunction: relay.verifyFunction, ingestApi: relay.ingest, webhookProxyApi: relay.webhookProxy,
      forwarderHeartbeat: relay.heartbeats.metricHeartbeats(), heartbeatMissingAfter: Duration.seconds(90), alarmNamePrefix: 'Other',
    });
    expect(() => app.synth()).toThrow(/TestRelay\/Extra.*heartbeatMissingAfter must be whole minutes/s);
  });
});

describe('alarm changes posted through the relay', () => {
  const [, rule] = resourcesOf('AWS::Events::Rule')[0];
  const target = rule.Properties.Targets[0];

  it('a rule on this relay\'s alarms only puts each change on the lane, in the alarm channel\'s group', () => {
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'],
      resources: [...alarms.values()].map((a) => ({ 'Fn::GetAtt': [a.id, 'Arn'] })),
    });
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^LaneQueue/), 'Arn'] });
    expect(target.SqsParameters).toEqual({ MessageGroupId: 'audit' });
  });

  it('what EventBridge writes is a lane event Coalesce posts as one inert line', () => {
    // EventBridge's input transformer: each <name> in the template becomes the value at its path.
    const event = { id: '7bf73129-1428-4cd3-a780-95db273d1602', detail: { alarmName: 'TestRelay-DeadLetters', state: { value: 'ALARM' }, previousState: { value: 'OK' } } };
    const at = (path: string) => path.slice(2).split('.').reduce<any>((o, k) => o?.[k], event);
    const { InputPathsMap: paths, InputTemplate: inputTemplate } = target.InputTransformer as { InputPathsMap: Record<string, string>; InputTemplate: string };
    const body = inputTemplate.replace(/<([\w-]+)>/g, (_, name: string) => String(at(paths[name])));
    const laneEvent = JSON.parse(body);
    expect(laneEvent).toEqual({ id: 'alarm:7bf73129-1428-4cd3-a780-95db273d1602', kind: 'relay.alarm', channel: 'audit', line: '📟 Alarm **TestRelay-DeadLetters**: ALARM (was OK)' });
    const { messages } = coalesce([{ event: laneEvent }]);
    expect(messages).toEqual([expect.objectContaining({ channel: 'audit', body: { content: '📟 Alarm **TestRelay-DeadLetters**: ALARM (was OK)', allowed_mentions: { parse: [] } } })]);
    // To a Slack alarm channel, the same notice in Slack's mrkdwn.
    expect(coalesce([{ event: laneEvent }], { slackChannels: ['audit'] }).messages).toEqual([expect.objectContaining({ channel: 'audit', body: { text: '📟 Alarm *TestRelay-DeadLetters*: ALARM (was OK)' } })]);
  });
});

describe('dashboard', () => {
  it('is named after the stack and shows every alarm, each workflow, the lane and the heartbeats', () => {
    const [, dashboard] = resourcesOf('AWS::CloudWatch::Dashboard')[0];
    expect(dashboard.Properties.DashboardName).toBe('TestRelay');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const alarm of alarms.values()) expect(body).toContain(alarm.id);
    for (const title of ['Alarms', 'Ingest requests', 'Relay workflow', 'Verify', 'Delivery workflow', 'Discord (webhook proxy)', 'Lane', 'Forwarder heartbeats']) expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    expect(body).toContain('ForwarderHeartbeat');
  });

  it('is an output, with the topic', () => {
    template.hasOutput('DashboardName', { Value: { Ref: resourcesOf('AWS::CloudWatch::Dashboard')[0][0] } });
    template.hasOutput('AlarmTopicArn', { Value: topic });
    expect(stack.monitoring.alarmFor('DeadLetters').alarmName).toBeDefined();
    expect(() => synthRelayStack(testConfig(), { directDelivery: true }).stack.monitoring.alarmFor('DeadLetters')).toThrow(/no DeadLetters alarm here/);
  });
});
