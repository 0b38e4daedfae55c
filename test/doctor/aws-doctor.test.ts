/**
 * relay doctor against a deployed relay, with the AWS SDK clients mocked (aws-sdk-client-mock) in
 * the states a real account can be in, and a stand-in ingest answering the signed probe as API
 * Gateway and Step Functions would. Each case checks the lines a user sees: status, cause, fix.
 */
import { generateKeyPairSync } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribePipeCommand, PipesClient } from '@aws-sdk/client-pipes';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { publicKeyToHex } from '../../lib/contracts/envelope';
import { AwsInspector } from '../../lib/doctor/aws-inspector';
import { runDoctor, type DoctorOptions } from '../../lib/doctor/doctor';
import { renderReport, type CheckResult, type DoctorReport } from '../../lib/doctor/results';
import { OPERATOR_ACTIONS } from '../../lib/infra/operator-policy';
import { FakeIngest, type Answer } from '../../testkit/fake-ingest';

const STACK = 'DiscordEventRelay';
const ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:sts::${ACCOUNT}:assumed-role/relay-operator/ci-run-1`;
const DLQ_URL = `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/DiscordEventRelay-LaneDeadLetterQueue.fifo`;
const LANE_URL = `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/DiscordEventRelay-LaneQueue.fifo`;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const HEARTBEAT_TABLE = 'DiscordEventRelay-HeartbeatsTable-1';

const mocks = { cfn: mockClient(CloudFormationClient), sts: mockClient(STSClient), pipes: mockClient(PipesClient), sqs: mockClient(SQSClient), cw: mockClient(CloudWatchClient), ddb: mockClient(DynamoDBClient) };
const ingest = new FakeIngest();
let ingestUrl: string;
beforeAll(async () => {
  ingestUrl = await ingest.start();
});
afterAll(() => ingest.stop());

const outputs = () => ({
  IngestUrl: ingestUrl, CallerPolicyArn: `arn:aws:iam::${ACCOUNT}:policy/Caller`, OperatorPolicyArn: `arn:aws:iam::${ACCOUNT}:policy/Operator`,
  DeadLetterQueueUrl: DLQ_URL, LaneQueueUrl: LANE_URL, LaneQueueArn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:DiscordEventRelay-LaneQueue.fifo`,
  LanePipeName: 'LanePipe-abc', DedupeTableName: 'DiscordEventRelay-Dedupe-1', HeartbeatTableName: HEARTBEAT_TABLE,
});
const alarm = (name: string, state = 'OK', extra: Partial<MetricAlarm> = {}): MetricAlarm => ({ AlarmName: `${STACK}-${name}`, StateValue: state as MetricAlarm['StateValue'], AlarmDescription: `What to do about ${name}.`, StateReason: `Threshold crossed for ${name}`, ...extra });
const ALARMS = ['RelayExecutionsFailed', 'DeliveryExecutionsFailed', 'Ingest5xx', 'DeadLetters', 'LaneOldestEvent'].map((n) => alarm(n))
  .concat(alarm('ForwarderHeartbeatMissing', 'OK', { Period: 900, EvaluationPeriods: 1 }));
const probeAnswer = (output: unknown, extra: Record<string, unknown> = {}): Answer => ({ status: 200, body: { status: 'SUCCEEDED', output: JSON.stringify(output), ...extra }, headers: { date: new Date().toUTCString() } });
const CHECKED = probeAnswer({ id: 'x', kind: 'relay.probe', forwarder: 'relay-doctor', outcome: 'checked' });

/** A healthy relay: every mock answers as a working deployment does. */
function healthy(): void {
  for (const m of Object.values(mocks)) m.reset();
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: PRINCIPAL, Account: ACCOUNT });
  mocks.cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: STACK, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(outputs()).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
  mocks.pipes.on(DescribePipeCommand).resolves({ Name: 'LanePipe-abc', CurrentState: 'RUNNING', DesiredState: 'RUNNING', StateReason: '' });
  mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } });
  mocks.sqs.on(ReceiveMessageCommand).resolves({ Messages: [] });
  mocks.cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: ALARMS });
  mocks.cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: Array<{ MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: string }> } } }> }) => {
    const { Namespace, MetricName, Dimensions } = input.MetricDataQueries[0].MetricStat.Metric;
    // The heartbeat table's writes; a stack from before the table, the custom metric.
    const beats = (Namespace === 'AWS/DynamoDB' && MetricName === 'ConsumedWriteCapacityUnits' && Dimensions[0]?.Name === 'TableName' && Dimensions[0].Value === HEARTBEAT_TABLE)
      || (Namespace === 'DiscordEventRelay' && MetricName === 'ForwarderHeartbeat' && Dimensions[0]?.Value === STACK);
    return beats
      ? { MetricDataResults: [{ Id: 'm', Timestamps: [new Date(NOW - 2 * 60_000), new Date(NOW - 7 * 60_000)], Values: [1, 1] }] }
      : { MetricDataResults: [{ Id: 'm', Timestamps: [], Values: [] }] };
  });
  mocks.ddb.on(GetItemCommand).resolves({ Item: { id: { S: 'x' }, state: { S: 'delivered' }, deliveredAt: { S: '2026-12-01T12:00:01Z' } } });
  ingest.setFallback(CHECKED);
  ingest.script();
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY = { kid: 'forwarder-1', keyFile: '/etc/relay/forwarder-1.pem', privateKey, publicKeyHex: publicKeyToHex(publicKey) };

async function doctor(options: Partial<DoctorOptions> = {}): Promise<{ report: DoctorReport; text: string; by: (id: string) => CheckResult }> {
  const inspector = new AwsInspector({ stackName: STACK, region: 'eu-west-1', credentials: async () => ({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }), now: () => NOW });
  const report = await runDoctor({ inspector, key: KEY, now: () => NOW, sleep: async () => undefined, pollIntervalMs: 1, ...options });
  inspector.close();
  return { report, text: renderReport(report).join('\n'), by: (id) => report.checks.find((c) => c.id === id)! };
}

beforeEach(healthy);

it('a healthy relay: every check passes and the exit code is 0', async () => {
  const { report, text } = await doctor();
  expect(report.checks.map((c) => [c.id, c.status])).toEqual([
    ['credentials', 'pass'], ['relay', 'pass'], ['ingest-auth', 'pass'], ['probe', 'pass'], ['pipe', 'pass'], ['lane', 'pass'], ['dead-letters', 'pass'], ['alarms', 'pass'], ['forwarder-heartbeat', 'pass'],
  ]);
  expect(report.exitCode).toBe(0);
  expect(text).toContain(`✓ credentials and region  ${PRINCIPAL}, region eu-west-1`);
  expect(text).toContain('✓ forwarder heartbeat     last heartbeat 2 min ago (alarm after 15 min)');
  // The probe is a heartbeat marked probe, signed with the forwarder's key.
  const [envelope] = ingest.envelopes();
  expect(envelope).toMatchObject({ kid: 'forwarder-1', id: expect.stringMatching(/^doctor:probe:/) });
  expect(JSON.parse(envelope.payload as string)).toMatchObject({ type: 'FORWARDER_HEARTBEAT', probe: true });
  expect(ingest.requests[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/);
});

it('a stack deployed before the heartbeat table (no HeartbeatTableName output): the forwarder check reads its custom metric', async () => {
  const { HeartbeatTableName: _table, ...older } = outputs();
  mocks.cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: STACK, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(older).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
  const { by } = await doctor();
  expect(by('forwarder-heartbeat')).toMatchObject({ status: 'pass', detail: 'last heartbeat 2 min ago (alarm after 15 min)' });
  const asked = mocks.cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries?.[0].MetricStat?.Metric?.MetricName);
  expect(asked).toContain('ForwarderHeartbeat');
  expect(asked).not.toContain('ConsumedWriteCapacityUnits');
});

describe('the relay is not where it is said to be', () => {
  it('stack missing: says so with the region, skips the rest, exit 8', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error(`Stack with id ${STACK} does not exist`), { name: 'ValidationError' }));
    const { report, by } = await doctor();
    expect(by('relay')).toMatchObject({ status: 'fail', detail: `no stack ${STACK} in eu-west-1`, fix: expect.stringContaining('--region') });
    expect(report.checks.slice(2).every((c) => c.status === 'skip')).toBe(true);
    expect(report.exitCode).toBe(8);
  });

  it('outputs missing (mid-rollback): names the missing output and what to do', async () => {
    mocks.cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: STACK, StackStatus: 'UPDATE_ROLLBACK_IN_PROGRESS', CreationTime: new Date(), Outputs: [] }] });
    const { by } = await doctor();
    expect(by('relay')).toMatchObject({ status: 'fail', detail: `stack ${STACK} (UPDATE_ROLLBACK_IN_PROGRESS) has no IngestUrl output` });
  });

  it('a stack deployed by an older version: a warning, and the check that needs the missing output names it', async () => {
    const { LanePipeName: _pipe, OperatorPolicyArn: _operator, ...older } = outputs();
    mocks.cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: STACK, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(older).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
    const { by } = await doctor();
    expect(by('relay')).toMatchObject({ status: 'warn', cause: expect.stringContaining('older version') });
    expect(by('pipe')).toMatchObject({ status: 'fail', detail: `stack ${STACK} has no LanePipeName output`, fix: expect.stringContaining('deploy this version') });
  });

  it('no credentials: the credentials check fails and nothing else runs', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const { report, by } = await doctor();
    expect(by('credentials')).toMatchObject({ status: 'fail', cause: 'the AWS credentials were refused or are missing', fix: expect.stringContaining('aws sso login') });
    expect(report.checks.slice(1).map((c) => c.status)).toEqual(Array(8).fill('skip'));
  });
});

describe('the way in: ingest and probe', () => {
  it('403 not authorized: names the caller policy and the command that attaches it to this role', async () => {
    ingest.script({ status: 403, body: { message: `User: ${PRINCIPAL} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:${ACCOUNT}:abc/$default/POST/events/sync` } });
    const { by } = await doctor();
    expect(by('ingest-auth')).toMatchObject({ status: 'fail', cause: `this identity (${PRINCIPAL}) may not call the ingest routes` });
    expect(by('ingest-auth').fix).toContain(`aws iam attach-role-policy --role-name relay-operator --policy-arn arn:aws:iam::${ACCOUNT}:policy/Caller`);
    expect(by('probe').status).toBe('skip');
  });

  it('500 from API Gateway: SigV4 passed, the probe names the invoke role trust and its register row', async () => {
    ingest.script({ status: 500, body: { message: 'Internal Server Error' } });
    const { by, text } = await doctor();
    expect(by('ingest-auth').status).toBe('pass');
    expect(by('probe')).toMatchObject({ status: 'fail', detail: '500 Internal Server Error', register: 'ingest trust' });
    expect(by('probe').cause).toContain('could not assume the route\'s invoke role');
    expect(text).toContain('see:   docs/architecture.md, register row "ingest trust"');
  });

  it('Relay.Stale: reports the clock skew measured against the relay\'s Date header', async () => {
    ingest.script({ status: 200, body: { status: 'FAILED', error: 'Relay.Stale', cause: '{"errorType":"Relay.Stale","errorMessage":"ts: 420 s in the future; the window is ±300 s"}' }, headers: { date: new Date(Date.now() - 420_000).toUTCString() } });
    const { by } = await doctor();
    expect(by('probe')).toMatchObject({ status: 'fail', fix: expect.stringContaining('timedatectl set-ntp true') });
    expect(by('probe').cause).toMatch(/this machine's clock is 4(19|20|21) s ahead of the relay's/);
  });

  it('Relay.UnknownKey: prints the forwarderKeys line for this key file', async () => {
    ingest.script({ status: 200, body: { status: 'FAILED', error: 'Relay.UnknownKey', cause: 'kid: "forwarder-1" is not a key this relay accepts' } });
    const { by } = await doctor();
    expect(by('probe')).toMatchObject({ status: 'fail', cause: 'the relay does not accept key id "forwarder-1"' });
    expect(by('probe').fix).toContain(`'forwarder-1': '${KEY.publicKeyHex}',`);
  });

  it('no key given: the probe still proves the way in (a throwaway key is refused as unknown), and a warning says what to pass', async () => {
    ingest.script({ status: 200, body: { status: 'FAILED', error: 'Relay.UnknownKey', cause: 'x' } });
    const { by, report } = await doctor({ key: undefined });
    expect(by('ingest-auth').status).toBe('pass');
    expect(by('probe')).toMatchObject({ status: 'warn', detail: expect.stringContaining('it answered Relay.UnknownKey to a throwaway key'), fix: expect.stringContaining('--kid <id> --key-file <file>') });
    expect(ingest.envelopes()[0].kid).toBe('relay-doctor-no-key');
    expect(report.exitCode).toBe(0);
  });

  it('no key given, and the relay workflow fails on its own: still a failure (the way in is broken)', async () => {
    ingest.script({ status: 200, body: { status: 'FAILED', error: 'Relay.Internal', cause: 'Lambda.ServiceException' } });
    expect((await doctor({ key: undefined })).by('probe')).toMatchObject({ status: 'fail', detail: expect.stringContaining('Relay.Internal') });
  });

  it('no key given, and the ingest answers 500: the trust failure is named all the same', async () => {
    ingest.script({ status: 500, body: { message: 'Internal Server Error' } });
    expect((await doctor({ key: undefined })).by('probe')).toMatchObject({ status: 'fail', register: 'ingest trust' });
  });
});

describe('the relay\'s state', () => {
  it('pipe START_FAILED: the state, EventBridge\'s reason and the fix', async () => {
    mocks.pipes.on(DescribePipeCommand).resolves({ Name: 'LanePipe-abc', CurrentState: 'START_FAILED', DesiredState: 'RUNNING', StateReason: 'The provided customer role does not have permissions to call ReceiveMessage on SQS' });
    const { by } = await doctor();
    expect(by('pipe')).toMatchObject({
      status: 'fail', detail: 'LanePipe-abc: START_FAILED (desired RUNNING): The provided customer role does not have permissions to call ReceiveMessage on SQS', register: 'pipe start',
    });
  });

  it('pipe stopped by EventBridge: says how to start it again', async () => {
    mocks.pipes.on(DescribePipeCommand).resolves({ Name: 'LanePipe-abc', CurrentState: 'STOPPED', DesiredState: 'RUNNING', StateReason: 'Disabled due to continuous 4xx errors' });
    expect((await doctor()).by('pipe')).toMatchObject({ status: 'fail', fix: expect.stringContaining('aws pipes start-pipe --name LanePipe-abc') });
  });

  it('alarms firing: each named with its description as the fix; the heartbeat alarm is left to the forwarder check', async () => {
    mocks.cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [...ALARMS.filter((a) => !/DeliveryExecutionsFailed|ForwarderHeartbeatMissing/.test(a.AlarmName!)),
      alarm('DeliveryExecutionsFailed', 'ALARM'), alarm('ForwarderHeartbeatMissing', 'ALARM', { Period: 900, EvaluationPeriods: 1 })] });
    const { by } = await doctor();
    expect(by('alarms')).toMatchObject({ status: 'fail', detail: `1 in ALARM: ${STACK}-DeliveryExecutionsFailed (ForwarderHeartbeatMissing is in ALARM: see the forwarder check)`, fix: 'What to do about DeliveryExecutionsFailed.' });
  });

  it('no heartbeat for an hour: fails against the alarm\'s window, read from the alarm itself', async () => {
    mocks.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [new Date(NOW - 3600_000)], Values: [1] }] });
    const { by } = await doctor();
    expect(by('forwarder-heartbeat')).toMatchObject({ status: 'fail', detail: 'last heartbeat 1 h ago (alarm after 15 min)', fix: expect.stringContaining('systemctl status discord-relay-forwarder') });
  });

  it('never a heartbeat: a warning (fine before a forwarder starts), exit still 0', async () => {
    mocks.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [], Values: [] }] });
    const { by, report } = await doctor();
    expect(by('forwarder-heartbeat')).toMatchObject({ status: 'warn', detail: 'no forwarder heartbeat in the last 24 h' });
    expect(report.exitCode).toBe(0);
  });

  it('a lane whose oldest event waited 9 minutes: stuck', async () => {
    mocks.sqs.on(GetQueueAttributesCommand, { QueueUrl: LANE_URL }).resolves({ Attributes: { ApproximateNumberOfMessages: '12', ApproximateNumberOfMessagesNotVisible: '10' } });
    mocks.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [new Date(NOW - 60_000)], Values: [540] }] });
    expect((await doctor()).by('lane')).toMatchObject({ status: 'fail', detail: '12 waiting, 10 in delivery, oldest 9 min' });
  });

  it('dead letters: peeked (visibility 0, never deleted), grouped, the first reason in words', async () => {
    mocks.sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({ Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '0' } });
    const dead = (id: string) => ({ Body: JSON.stringify({ id, channel: 'general', line: 'x' }), MessageAttributes: { RelayError: { DataType: 'String', StringValue: 'ApiGateway.404' }, RelayReason: { DataType: 'String', StringValue: 'Discord answered ApiGateway.404: {"message": "Unknown Webhook", "code": 10015}' } } });
    mocks.sqs.on(ReceiveMessageCommand).resolves({ Messages: [dead('a'), dead('b'), dead('c')] });
    const { by } = await doctor();
    expect(by('dead-letters')).toMatchObject({ status: 'fail', detail: '3 events dead-lettered: 3 × ApiGateway.404 (#general)', cause: 'the webhook of #general was deleted (Discord 10015 Unknown Webhook)' });
    expect(by('dead-letters').fix).toContain('aws sqs start-message-move-task');
    expect(mocks.sqs.commandCalls(ReceiveMessageCommand)[0].args[0].input).toMatchObject({ QueueUrl: DLQ_URL, VisibilityTimeout: 0, MaxNumberOfMessages: 10 });
  });

  it('AccessDenied on a read: names the call and the operator policy to attach', async () => {
    mocks.pipes.on(DescribePipeCommand).rejects(Object.assign(new Error('User is not authorized to perform: pipes:DescribePipe'), { name: 'AccessDeniedException' }));
    expect((await doctor()).by('pipe')).toMatchObject({
      status: 'fail', cause: 'this identity may not call pipes:DescribePipe', fix: expect.stringContaining(`attach-role-policy --role-name relay-operator --policy-arn arn:aws:iam::${ACCOUNT}:policy/Operator`),
    });
  });
});

describe('--post: a test message followed to Discord', () => {
  const queued = () => probeAnswer({ id: 'x', kind: 'relay.test', channel: 'general', outcome: 'queued' });
  /** The id the doctor gave its test message (the second envelope it sent). */
  const testId = () => ingest.envelopes()[1].id as string;

  it('delivered: the claim reaches delivered', async () => {
    ingest.script(CHECKED, queued());
    let reads = 0;
    mocks.ddb.on(GetItemCommand).callsFake(() => ({ Item: { id: { S: testId() }, state: { S: ++reads < 3 ? 'queued' : 'delivered' } } }));
    const { by } = await doctor({ post: 'general' });
    expect(by('post')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^#general: delivered in /) });
    expect(JSON.parse(ingest.envelopes()[1].payload as string)).toEqual({ type: 'RELAY_TEST', channel: 'general', from: 'relay-doctor' });
    expect(mocks.ddb.commandCalls(GetItemCommand)[0].args[0].input).toMatchObject({ TableName: 'DiscordEventRelay-Dedupe-1', ConsistentRead: true });
  });

  it('401 from Discord through the proxy: the forwarded-Authorization case, with its register row', async () => {
    ingest.script(CHECKED, queued());
    mocks.ddb.on(GetItemCommand).resolves({ Item: { id: { S: 'x' }, state: { S: 'queued' } } });
    mocks.sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
    mocks.sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: ingest.envelopes().length < 2 ? [] : [{ Body: JSON.stringify({ id: testId(), channel: 'general' }), MessageAttributes: { RelayError: { DataType: 'String', StringValue: 'ApiGateway.401' }, RelayReason: { DataType: 'String', StringValue: 'Discord answered ApiGateway.401: {"message": "401: Unauthorized", "code": 0}' } } }] }));
    const { by } = await doctor({ post: 'general' });
    expect(by('post')).toMatchObject({ status: 'fail', detail: '#general: dead-lettered just now: ApiGateway.401', register: 'Discord Authorization' });
    expect(by('post').cause).toContain('forwarded the SigV4 Authorization header');
  });

  it('a channel the relay does not have: Relay.Ignored in words', async () => {
    ingest.script(CHECKED, probeAnswer({ id: 'x', kind: 'relay.test', outcome: 'ignored', code: 'Relay.Ignored' }));
    expect((await doctor({ post: 'nowhere' })).by('post')).toMatchObject({ status: 'fail', detail: 'the relay has no channel "nowhere"' });
  });

  it('never delivered within the timeout: says where it is stuck', async () => {
    ingest.script(CHECKED, queued());
    mocks.ddb.on(GetItemCommand).resolves({ Item: { id: { S: 'x' }, state: { S: 'queued' } } });
    let t = NOW;
    const { by } = await doctor({ post: 'general', postTimeoutMs: 60_000, now: () => (t += 10_000) });
    expect(by('post')).toMatchObject({ status: 'fail', detail: '#general: not delivered within 60 s (the claim is queued)' });
  });
});

it('makes no AWS call the stack\'s OperatorPolicy does not allow (its statements are pinned in iam-statements.test.ts)', async () => {
  ingest.script(CHECKED, probeAnswer({ id: 'x', kind: 'relay.test', channel: 'general', outcome: 'queued' }));
  mocks.sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
  await doctor({ post: 'general' });
  const prefixes: Record<string, string> = { cfn: 'cloudformation', pipes: 'pipes', sqs: 'sqs', cw: 'cloudwatch', ddb: 'dynamodb' };
  const used = Object.entries(prefixes).flatMap(([client, service]) =>
    mocks[client as keyof typeof mocks].calls().map((call) => `${service}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`));
  // GetCallerIdentity needs no permission; the probe and the test message are execute-api:Invoke on the ingest routes.
  expect(mocks.sts.calls().map((c) => (c.args[0] as object).constructor.name)).toEqual(['GetCallerIdentityCommand']);
  expect(new Set(used)).toEqual(new Set(Object.values(OPERATOR_ACTIONS).flat().filter((a) => a !== 'execute-api:Invoke')));
  expect(ingest.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /events/sync', 'POST /events/sync']);
});
