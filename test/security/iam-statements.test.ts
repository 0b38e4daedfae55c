/**
 * Every IAM statement of the synthesized relay stack, written out and compared with the expected
 * set: a new permission, a wider resource or a dropped condition fails here and must be added on
 * purpose. Logical ids lose their hash (`<VerifyFunction.Arn>`), `${AWS::Partition}` reads `aws`.
 */
import type { CfnTemplate } from '../../lib/local/synthesized-template';
import { ACCOUNT, REGION, synthRelayStack, testConfig } from '../support/fixtures';

type Cfn = unknown;
const name = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

/** CloudFormation intrinsic → readable text. */
function text(value: Cfn): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (v.Ref) return `<${name(v.Ref)}>`;
  if (v['Fn::GetAtt']) return `<${name(v['Fn::GetAtt'][0])}.${v['Fn::GetAtt'][1]}>`;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as Cfn[]).map(text).join(v['Fn::Join'][0]);
  throw new Error(`unexpected intrinsic ${JSON.stringify(value)}`);
}

const list = (x: Cfn): Cfn[] => (Array.isArray(x) ? x : [x]);

interface Statement {
  /** Role or policy holding it, and `trust` for an assume-role policy. */
  where: string;
  effect: string;
  principal?: string;
  actions: string[];
  resources?: string[];
  conditions?: Record<string, Record<string, string>>;
}

function statements(json: CfnTemplate): Statement[] {
  const out: Statement[] = [];
  const add = (where: string, s: any) =>
    out.push({
      where,
      effect: s.Effect,
      ...(s.Principal ? { principal: JSON.stringify(s.Principal) } : {}),
      actions: list(s.Action) as string[],
      ...(s.Resource ? { resources: list(s.Resource).map(text) } : {}),
      ...(s.Condition ? { conditions: Object.fromEntries(Object.entries(s.Condition as Record<string, Record<string, Cfn>>).map(([op, kv]) => [op, Object.fromEntries(Object.entries(kv).map(([k, val]) => [k, text(val)]))])) } : {}),
    });
  for (const [id, r] of Object.entries(json.Resources) as Array<[string, any]>) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Role') {
      expect({ role: name(id), managed: p.ManagedPolicyArns, inline: p.Policies }).toEqual({ role: name(id), managed: undefined, inline: undefined });
      for (const s of p.AssumeRolePolicyDocument.Statement) add(`${name(id)} trust`, s);
    } else if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      const holders = [...list(p.Roles ?? []).map(text), ...list(p.Users ?? []).map(text)].join(',');
      for (const s of p.PolicyDocument.Statement) add(`${name(id)} → ${holders}`, s);
    } else if (r.Type === 'AWS::SQS::QueuePolicy') {
      for (const s of p.PolicyDocument.Statement) add(`${name(id)} on ${list(p.Queues).map(text).join(',')}`, s);
    } else if (r.Type === 'AWS::SNS::TopicPolicy') {
      for (const s of p.PolicyDocument.Statement) add(`${name(id)} on ${list(p.Topics).map(text).join(',')}`, s);
    } else if (r.Type === 'AWS::Lambda::Permission') {
      // A function's resource policy, one statement each; Lambda matches SourceArn as ArnLike on aws:SourceArn.
      add(`${name(id)} on ${text(p.FunctionName)}`, { Effect: 'Allow', Principal: { Service: p.Principal }, Action: p.Action, ...(p.SourceArn ? { Condition: { ArnLike: { 'aws:SourceArn': p.SourceArn } } } : {}) });
    } else if (/^AWS::(Logs::ResourcePolicy|S3::BucketPolicy|KMS::Key)$/.test(r.Type)) {
      throw new Error(`${id} (${r.Type}) grants access too; list it here`);
    }
  }
  return out;
}

const ARN = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
const TABLE = ARN('dynamodb', 'table/<DedupeTable>');
const PROXY_ROUTE = (channel: string) => ARN('execute-api', `<WebhookProxyApi>/$default/POST/channels/${channel}`);
const trust = (service: string, conditions?: Statement['conditions']): Omit<Statement, 'where'> => ({
  effect: 'Allow', principal: JSON.stringify({ Service: service }), actions: ['sts:AssumeRole'], ...(conditions ? { conditions } : {}),
});
const allow = (actions: string[], resources: string[]): Omit<Statement, 'where'> => ({ effect: 'Allow', actions, resources });
/** The state machines' log delivery: these CloudWatch Logs actions take no resource ARN, so AWS requires "*" (acknowledged as cdk-nag IAM5). */
const LOG_DELIVERY = allow(
  ['logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'logs:DescribeLogGroups', 'logs:DescribeResourcePolicies', 'logs:GetLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:UpdateLogDelivery'],
  ['*'],
);
const STATES_TRUST = trust('states.amazonaws.com', { ArnLike: { 'aws:SourceArn': ARN('states', 'stateMachine:*') }, StringEquals: { 'aws:SourceAccount': ACCOUNT } });
/** No condition: API Gateway does not send aws:SourceAccount/aws:SourceArn when it assumes an integration role (SECURITY.md). */
const API_TRUST = trust('apigateway.amazonaws.com');
const TLS_ONLY = (queue: string) => ({ effect: 'Deny', principal: JSON.stringify({ AWS: '*' }), actions: ['sqs:*'], resources: [`<${queue}.Arn>`], conditions: { Bool: { 'aws:SecureTransport': 'false' } } });
/** A function writes its own log group's streams. `<…LogGroup.Arn>` ends in `:*`, the streams of that one group (PutLogEvents names a stream). */
const functionStatements = (fn: string): Statement[] => [
  { where: `${fn}Role trust`, ...trust('lambda.amazonaws.com') },
  { where: `${fn}RoleDefaultPolicy → <${fn}Role>`, ...allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`<${fn}LogGroup.Arn>`]) },
];

const EXPECTED: Statement[] = [
  ...functionStatements('VerifyFunction'),
  ...functionStatements('CoalesceFunction'),
  ...functionStatements('PaceFunction'),
  { where: 'LaneQueuePolicy on <LaneQueue>', ...TLS_ONLY('LaneQueue') },
  { where: 'LaneDeadLetterQueuePolicy on <LaneDeadLetterQueue>', ...TLS_ONLY('LaneDeadLetterQueue') },
  // Ingest: each route's integration role starts the relay workflow and nothing else.
  { where: 'IngestApiPOSTeventsInvokeRole trust', ...API_TRUST },
  { where: 'IngestApiPOSTeventsInvokeRoleDefaultPolicy → <IngestApiPOSTeventsInvokeRole>', ...allow(['states:StartExecution'], ['<RelayStateMachine>']) },
  { where: 'IngestApiPOSTeventssyncInvokeRole trust', ...API_TRUST },
  { where: 'IngestApiPOSTeventssyncInvokeRoleDefaultPolicy → <IngestApiPOSTeventssyncInvokeRole>', ...allow(['states:StartSyncExecution'], ['<RelayStateMachine>']) },
  // Callers (the config's callerRoleNames): the two ingest routes, nothing else.
  { where: 'IngestCallerPolicy → relay-forwarder,relay-ci', ...allow(['execute-api:Invoke'], [ARN('execute-api', '<IngestApi>/$default/POST/events'), ARN('execute-api', '<IngestApi>/$default/POST/events/sync')]) },
  // Operators (relay doctor): read this stack's outputs, the pipe, the lanes' depth, peek the dead letters, one claim by id,
  // this relay's alarms and metrics (CloudWatch reads take no resource), and the ingest routes for the signed probe.
  { where: 'OperatorPolicy → relay-operator', ...allow(['cloudformation:DescribeStacks'], [`arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/TestRelay/*`]) },
  { where: 'OperatorPolicy → relay-operator', ...allow(['execute-api:Invoke'], [ARN('execute-api', '<IngestApi>/$default/POST/events'), ARN('execute-api', '<IngestApi>/$default/POST/events/sync')]) },
  { where: 'OperatorPolicy → relay-operator', ...allow(['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'], ['*']) },
  { where: 'OperatorPolicy → relay-operator', ...allow(['pipes:DescribePipe'], ['<LanePipe.Arn>']) },
  { where: 'OperatorPolicy → relay-operator', ...allow(['sqs:GetQueueAttributes'], ['<LaneDeadLetterQueue.Arn>', '<LaneQueue.Arn>']) },
  { where: 'OperatorPolicy → relay-operator', ...allow(['sqs:ReceiveMessage'], ['<LaneDeadLetterQueue.Arn>']) },
  { where: 'OperatorPolicy → relay-operator', ...allow(['dynamodb:GetItem'], ['<DedupeTable.Arn>']) },
  // Relay workflow: Verify (unqualified ARN only), claim/release in the table, queue on the lane,
  // and each forwarder heartbeat put in the heartbeat table (whose write metric the alarm watches).
  { where: 'RelayStateMachineRole trust', ...STATES_TRUST },
  { where: 'RelayStateMachineRoleDefaultPolicy → <RelayStateMachineRole>', ...allow(['lambda:InvokeFunction'], ['<VerifyFunction.Arn>']) },
  { where: 'RelayStateMachineRoleDefaultPolicy → <RelayStateMachineRole>', ...allow(['dynamodb:PutItem'], [ARN('dynamodb', 'table/<HeartbeatsTable>')]) },
  { where: 'RelayStateMachineRoleDefaultPolicy → <RelayStateMachineRole>', ...allow(['dynamodb:DeleteItem', 'dynamodb:UpdateItem'], [TABLE]) },
  // The lane, and the dead-letter queue for the event of a claim or send that failed.
  { where: 'RelayStateMachineRoleDefaultPolicy → <RelayStateMachineRole>', ...allow(['sqs:SendMessage'], ['<LaneDeadLetterQueue.Arn>', '<LaneQueue.Arn>']) },
  { where: 'RelayStateMachineRoleDefaultPolicy → <RelayStateMachineRole>', ...LOG_DELIVERY },
  // Monitoring: the alarm topic takes TLS only and this relay's alarms; alarm changes reach the lane from one rule
  // (aws-cdk-lib's SqsQueue target grants GetQueueAttributes and GetQueueUrl with SendMessage).
  { where: 'MonitoringAlarmTopicPolicy on <MonitoringAlarmTopic>', effect: 'Deny', principal: '"*"', actions: ['sns:Publish'], resources: ['<MonitoringAlarmTopic>'], conditions: { Bool: { 'aws:SecureTransport': 'false' } } },
  { where: 'MonitoringAlarmTopicPolicy on <MonitoringAlarmTopic>', effect: 'Allow', principal: JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }), actions: ['sns:Publish'], resources: ['<MonitoringAlarmTopic>'],
    conditions: { ArnLike: { 'aws:SourceArn': ARN('cloudwatch', 'alarm:TestRelay-*') }, StringEquals: { 'aws:SourceAccount': ACCOUNT } } },
  { where: 'LaneQueuePolicy on <LaneQueue>', effect: 'Allow', principal: JSON.stringify({ Service: 'events.amazonaws.com' }), actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], resources: ['<LaneQueue.Arn>'],
    conditions: { ArnEquals: { 'aws:SourceArn': '<MonitoringAlarmNotices.Arn>' } } },
  // Pipe: take batches off the lane, run the delivery workflow.
  { where: 'LanePipeRole trust', ...trust('pipes.amazonaws.com', { StringEquals: { 'aws:SourceAccount': ACCOUNT } }) },
  { where: 'LanePipeRoleDefaultPolicy → <LanePipeRole>', ...allow(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], ['<LaneQueue.Arn>']) },
  { where: 'LanePipeRoleDefaultPolicy → <LanePipeRole>', ...allow(['states:StartSyncExecution'], ['<DeliveryStateMachine>']) },
  // Delivery workflow: Coalesce and Pace, one route per channel, read and mark claims, dead-letter.
  { where: 'DeliveryStateMachineRole trust', ...STATES_TRUST },
  { where: 'DeliveryStateMachineRoleDefaultPolicy → <DeliveryStateMachineRole>', ...allow(['lambda:InvokeFunction'], ['<CoalesceFunction.Arn>', '<PaceFunction.Arn>']) },
  { where: 'DeliveryStateMachineRoleDefaultPolicy → <DeliveryStateMachineRole>', ...allow(['execute-api:Invoke'], [PROXY_ROUTE('audit'), PROXY_ROUTE('general')]) },
  { where: 'DeliveryStateMachineRoleDefaultPolicy → <DeliveryStateMachineRole>', ...allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [TABLE]) },
  { where: 'DeliveryStateMachineRoleDefaultPolicy → <DeliveryStateMachineRole>', ...allow(['sqs:SendMessage'], ['<LaneDeadLetterQueue.Arn>']) },
  { where: 'DeliveryStateMachineRoleDefaultPolicy → <DeliveryStateMachineRole>', ...LOG_DELIVERY },
];

const { template } = synthRelayStack();
/** Key order and statement order do not matter; everything else does. */
const sortedKeys = (v: unknown): unknown =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])])) : v;
const canonical = (list: Statement[]) => list.map((s) => JSON.stringify(sortedKeys(s))).sort();

it('every IAM statement of the stack is one of the expected set, and every expected one is there', () => {
  expect(canonical(statements(template.toJSON() as CfnTemplate))).toEqual(canonical(EXPECTED));
});

it('no role carries a managed or inline policy, and the only "*" resources are log delivery and the operators\' CloudWatch reads', () => {
  const wildcard = statements(template.toJSON() as CfnTemplate).filter((s) => s.resources?.includes('*'));
  const expected = (s: Statement) => s.actions.every((a) => LOG_DELIVERY.actions.includes(a))
    || (s.where.startsWith('OperatorPolicy') && s.actions.join() === 'cloudwatch:DescribeAlarms,cloudwatch:GetMetricData');
  expect(wildcard.map(expected)).toEqual([true, true, true]);
});

it('no role API Gateway assumes carries an aws:SourceAccount or aws:SourceArn condition (it sends neither)', () => {
  const fromApiGateway = statements(template.toJSON() as CfnTemplate).filter((s) => s.where.endsWith(' trust') && s.principal?.includes('apigateway.amazonaws.com'));
  expect(fromApiGateway.map((s) => s.where)).toEqual(['IngestApiPOSTeventsInvokeRole trust', 'IngestApiPOSTeventssyncInvokeRole trust']);
  const keys = fromApiGateway.flatMap((s) => Object.values(s.conditions ?? {}).flatMap((kv) => Object.keys(kv)));
  expect(keys.filter((k) => /^aws:Source(Account|Arn)$/i.test(k))).toEqual([]);
});

describe('with the Discord app (and its bot token secret, so DiscordCommands is deployed too)', () => {
  const SETTINGS = '<GuildSettingsTable.Arn>';
  const DISCORD_APP: Statement[] = [
    // Interactions: the settings table (read and the commands' writes), the lanes' depth and the stack's metrics for /relay status.
    ...functionStatements('InteractionsFunction'),
    { where: 'InteractionsFunctionRoleDefaultPolicy → <InteractionsFunctionRole>', ...allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [SETTINGS]) },
    { where: 'InteractionsFunctionRoleDefaultPolicy → <InteractionsFunctionRole>', ...allow(['sqs:GetQueueAttributes'], ['<LaneDeadLetterQueue.Arn>', '<LaneQueue.Arn>']) },
    { where: 'InteractionsFunctionRoleDefaultPolicy → <InteractionsFunctionRole>', ...allow(['cloudwatch:GetMetricData'], ['*']) },
    // The public route may invoke the function: API Gateway, from this API only.
    { where: 'InteractionsApiPOSTinteractionsHandlerPermission on <InteractionsFunction.Arn>', effect: 'Allow', principal: JSON.stringify({ Service: 'apigateway.amazonaws.com' }), actions: ['lambda:InvokeFunction'],
      conditions: { ArnLike: { 'aws:SourceArn': ARN('execute-api', '<InteractionsApi>/*/*/interactions') } } },
    // DiscordCommands: read the bot token's one secret (Secrets Manager appends six random characters to a secret's name).
    ...functionStatements('DiscordCommandsRegisterFunction'),
    { where: 'DiscordCommandsRegisterFunctionRoleDefaultPolicy → <DiscordCommandsRegisterFunctionRole>', ...allow(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], [ARN('secretsmanager', 'secret:relay-test/bot-token-??????')]) },
    // Both workflows read a guild's opt-outs and pause (their GetItem tasks name the table by ARN); neither writes them.
    { where: 'RelayStateMachineRoleDefaultPolicy → <RelayStateMachineRole>', ...allow(['dynamodb:GetItem'], [ARN('dynamodb', 'table/<GuildSettingsTable>')]) },
    { where: 'DeliveryStateMachineRoleDefaultPolicy → <DeliveryStateMachineRole>', ...allow(['dynamodb:GetItem'], [ARN('dynamodb', 'table/<GuildSettingsTable>')]) },
  ];
  const withApp = synthRelayStack(testConfig({ discordApp: { applicationId: '1111111111111111111', publicKey: 'ab'.repeat(32), botTokenSecretName: 'relay-test/bot-token' } })).template;
  const found = statements(withApp.toJSON() as CfnTemplate);

  it('every IAM statement is the stack\'s expected set plus the Discord app\'s, and nothing else', () => {
    expect(canonical(found)).toEqual(canonical([...EXPECTED, ...DISCORD_APP]));
  });

  it('the Interactions and DiscordCommands functions\' roles hold exactly their statements', () => {
    const held = (fn: string) => canonical(found.filter((s) => s.where.startsWith(fn)));
    expect(held('InteractionsFunction')).toEqual(canonical(DISCORD_APP.filter((s) => s.where.startsWith('InteractionsFunction'))));
    expect(held('DiscordCommandsRegisterFunction')).toEqual(canonical(DISCORD_APP.filter((s) => s.where.startsWith('DiscordCommandsRegisterFunction'))));
    // Only the registration function may read the bot token.
    expect(found.filter((s) => s.actions.some((a) => a.startsWith('secretsmanager:'))).map((s) => s.where)).toEqual(['DiscordCommandsRegisterFunctionRoleDefaultPolicy → <DiscordCommandsRegisterFunctionRole>']);
  });

  it('adds one "*" resource: the Interactions function\'s GetMetricData, which takes none', () => {
    const wildcard = (list: Statement[]) => list.filter((s) => s.resources?.includes('*')).map((s) => `${s.where}: ${s.actions.join()}`);
    const before = wildcard(statements(template.toJSON() as CfnTemplate));
    expect(wildcard(found).filter((w) => !before.includes(w))).toEqual(['InteractionsFunctionRoleDefaultPolicy → <InteractionsFunctionRole>: cloudwatch:GetMetricData']);
  });
});
