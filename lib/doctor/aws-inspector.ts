/**
 * A deployed relay as `relay doctor --stack` sees it, through the AWS SDK with the standard
 * credential chain: the stack's outputs (DescribeStacks), the pipe (DescribePipe), the lanes
 * (GetQueueAttributes, ApproximateAgeOfOldestMessage), the dead letters (peeked with
 * VisibilityTimeout 0, never deleted), this relay's alarms, the heartbeat table's write metric, and
 * one claim by id. Every call is one the stack's OperatorPolicy allows.
 */
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribePipeCommand, PipesClient } from '@aws-sdk/client-pipes';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { regionFromExecuteApiUrl } from '../client/sigv4';
import { DeadLetterAttribute } from '../contracts/lane';
import { AlarmName, ForwarderHeartbeatMetric, LegacyRelayMetric } from '../contracts/metrics';
import { StackOutput } from '../contracts/outputs';
import { readClaim } from './claims';
import { RelayNotFound, type AlarmState, type Claim, type DeadLetters, type Heartbeats, type Identity, type LaneState, type PipeState, type RelayInspector, type RelayLocation } from './inspector';

export interface AwsInspectorOptions {
  /** The relay's stack. @default - none: only `url` is checked (credentials, ingest, probe) */
  readonly stackName?: string;
  /** The ingest URL when there is no stack name to read it from. */
  readonly url?: string;
  /** @default - the standard chain's (AWS_REGION, the profile) */
  readonly region?: string;
  /** @default - the standard chain: environment, profile/SSO, container and instance roles */
  readonly credentials?: AwsCredentialIdentityProvider;
  readonly now?: () => number;
}

/** How far back the heartbeat metric is read. */
const HEARTBEAT_LOOK_BACK_HOURS = 24;

export class AwsInspector implements RelayInspector {
  public readonly target: string;
  public readonly credentials: AwsCredentialIdentityProvider;
  private readonly clients: { cfn: CloudFormationClient; sts: STSClient; pipes: PipesClient; sqs: SQSClient; cw: CloudWatchClient; ddb: DynamoDBClient };
  private outputs?: Record<string, string>;
  /** One DescribeAlarms per run: the alarms check and the heartbeat window both read it. */
  private alarmsRead?: Promise<MetricAlarm[]>;

  constructor(private readonly options: AwsInspectorOptions) {
    this.target = options.stackName ? `stack ${options.stackName}${options.region ? ` in ${options.region}` : ''}` : `the relay at ${options.url}`;
    this.credentials = options.credentials ?? fromNodeProviderChain();
    const config = { region: options.region, credentials: this.credentials };
    this.clients = { cfn: new CloudFormationClient(config), sts: new STSClient(config), pipes: new PipesClient(config), sqs: new SQSClient(config), cw: new CloudWatchClient(config), ddb: new DynamoDBClient(config) };
  }

  async identity(): Promise<Identity> {
    const { Arn } = await this.clients.sts.send(new GetCallerIdentityCommand({}));
    return { principal: Arn ?? '(unknown principal)', region: await this.clients.sts.config.region() };
  }

  async locate(): Promise<RelayLocation> {
    const { stackName, url } = this.options;
    const region = await this.clients.cfn.config.region();
    if (!stackName) {
      if (!url) throw new RelayNotFound('no relay named', 'neither a stack name nor an ingest URL was given', 'pass --stack <name>');
      return {
        kind: 'aws', name: this.target, ingestUrl: url, region: regionFromExecuteApiUrl(new URL(url)) ?? region, outputs: {}, lanes: false, readsState: false,
        detail: `${url} (no stack named: only the way in is checked)`,
      };
    }
    const stack = await this.describeStack(stackName, region);
    const outputs = Object.fromEntries((stack.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [])));
    const status = stack.StackStatus ?? 'UNKNOWN';
    const ingestUrl = outputs[StackOutput.IngestUrl];
    if (!ingestUrl) {
      throw new RelayNotFound(`stack ${stackName} (${status}) has no ${StackOutput.IngestUrl} output`, 'it is not a Discord Event Relay stack, or its deploy has not finished (outputs are missing while it rolls back)', 'run npx cdk deploy and let it finish, or pass --stack with the relay\'s stack name');
    }
    this.outputs = outputs;
    return {
      kind: 'aws', name: `stack ${stackName} in ${region}`, ingestUrl, region: regionFromExecuteApiUrl(new URL(ingestUrl)) ?? region, outputs,
      lanes: outputs[StackOutput.DeadLetterQueueUrl] !== undefined, readsState: true,
      ...(outputs[StackOutput.InteractionsUrl] ? { interactionsUrl: outputs[StackOutput.InteractionsUrl] } : {}),
      detail: `${stackName} ${status}, ingest ${ingestUrl}`,
      warning: stackWarning(status, outputs),
    };
  }

  async pipe(): Promise<PipeState> {
    const name = this.output(StackOutput.LanePipeName);
    const p = await this.clients.pipes.send(new DescribePipeCommand({ Name: name }));
    return { name, state: p.CurrentState ?? 'UNKNOWN', desiredState: p.DesiredState, reason: p.StateReason || undefined };
  }

  async lane(): Promise<LaneState> {
    const url = this.output(StackOutput.LaneQueueUrl);
    const { Attributes: a = {} } = await this.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const age = await this.latest('AWS/SQS', 'ApproximateAgeOfOldestMessage', { QueueName: url.split('/').pop() ?? '' }, 'Maximum', 15 * 60);
    return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0), oldestAgeSeconds: age?.value };
  }

  async deadLetters(): Promise<DeadLetters> {
    const url = this.output(StackOutput.DeadLetterQueueUrl);
    const { Attributes: a = {} } = await this.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const count = Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (count === 0) return { count, sample: [] };
    // A peek: visible again at once, and the dead-letter queue has no redrive policy a receive count could trigger.
    const { Messages = [] } = await this.clients.sqs.send(new ReceiveMessageCommand({
      QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0, MessageAttributeNames: [DeadLetterAttribute.Error, DeadLetterAttribute.Reason],
    }));
    const sample = Messages.map((m) => {
      const event = parseJson(m.Body) as { id?: string; channel?: string } | undefined;
      return {
        id: event?.id, channel: event?.channel,
        error: m.MessageAttributes?.[DeadLetterAttribute.Error]?.StringValue ?? 'maxReceiveCount reached',
        reason: m.MessageAttributes?.[DeadLetterAttribute.Reason]?.StringValue ?? 'the delivery workflow kept failing on this batch',
      };
    });
    return { count: Math.max(count, sample.length), sample };
  }

  async alarms(): Promise<AlarmState[]> {
    return (await this.relayAlarms()).map((a) => ({ name: a.AlarmName ?? '?', state: a.StateValue ?? 'UNKNOWN', description: a.AlarmDescription, reason: a.StateReason }));
  }

  async heartbeats(): Promise<Heartbeats> {
    const stackName = this.stackName();
    const alarm = (await this.relayAlarms()).find((a) => a.AlarmName === `${stackName}-${AlarmName.ForwarderHeartbeatMissing}`);
    const windowMinutes = alarm?.Period ? (alarm.Period * (alarm.EvaluationPeriods ?? 1)) / 60 : undefined;
    const table = this.outputs?.[StackOutput.HeartbeatTableName];
    const window = HEARTBEAT_LOOK_BACK_HOURS * 3600;
    // A stack deployed before the heartbeat table still writes the custom metric.
    const last = table
      ? await this.latest(ForwarderHeartbeatMetric.Namespace, ForwarderHeartbeatMetric.MetricName, { [ForwarderHeartbeatMetric.TableDimension]: table }, 'Sum', window)
      : await this.latest(LegacyRelayMetric.Namespace, LegacyRelayMetric.ForwarderHeartbeat, { [LegacyRelayMetric.RelayDimension]: stackName }, 'Sum', window);
    return { last: last?.at, windowMinutes, lookedBack: `in the last ${HEARTBEAT_LOOK_BACK_HOURS} h` };
  }

  async claim(id: string): Promise<Claim | undefined> {
    return readClaim(this.clients.ddb, this.output(StackOutput.DedupeTableName), id);
  }

  close(): void {
    for (const client of Object.values(this.clients)) client.destroy();
  }

  private async describeStack(stackName: string, region: string): Promise<Stack> {
    try {
      const { Stacks = [] } = await this.clients.cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      if (Stacks[0]) return Stacks[0];
    } catch (error) {
      if (!/does not exist/i.test((error as Error).message)) throw error;
    }
    throw new RelayNotFound(`no stack ${stackName} in ${region}`, 'it was never deployed to this account and region, or under another name',
      'deploy it (npx cdk deploy), or pass --region, or --stack with the name cdk deploy printed');
  }

  private stackName(): string {
    if (!this.options.stackName) throw new RelayNotFound('no stack named', 'only the ingest URL was given', 'pass --stack <name>');
    return this.options.stackName;
  }

  private output(key: string): string {
    const value = this.outputs?.[key];
    if (!value) throw new RelayNotFound(`stack ${this.options.stackName} has no ${key} output`, 'it was deployed by an older version of the relay', 'deploy this version (npx cdk deploy), then run relay doctor again');
    return value;
  }

  private relayAlarms(): Promise<MetricAlarm[]> {
    this.alarmsRead ??= this.describeAlarms();
    return this.alarmsRead;
  }

  private async describeAlarms(): Promise<MetricAlarm[]> {
    const alarms: MetricAlarm[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.clients.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${this.stackName()}-`, AlarmTypes: ['MetricAlarm'], NextToken }));
      alarms.push(...(page.MetricAlarms ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return alarms;
  }

  /** The newest non-zero data point of a metric (1-minute periods) within `seconds`. */
  private async latest(namespace: string, metricName: string, dimensions: Record<string, string>, stat: string, seconds: number): Promise<{ at: Date; value: number } | undefined> {
    const now = (this.options.now ?? Date.now)();
    const { MetricDataResults = [] } = await this.clients.cw.send(new GetMetricDataCommand({
      StartTime: new Date(now - seconds * 1000), EndTime: new Date(now), ScanBy: 'TimestampDescending',
      MetricDataQueries: [{ Id: 'm', ReturnData: true, MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) }, Period: 60, Stat: stat } }],
    }));
    const r = MetricDataResults[0];
    const i = (r?.Values ?? []).findIndex((v) => stat !== 'Sum' || v > 0);
    return r && i >= 0 && r.Timestamps?.[i] ? { at: r.Timestamps[i], value: r.Values![i] } : undefined;
  }
}

/** A stack status worth a warning: not what the last deploy meant, or still changing. */
function stackWarning(status: string, outputs: Record<string, string>): RelayLocation['warning'] {
  if (status.endsWith('_IN_PROGRESS')) return { cause: `a deploy is under way (${status})`, fix: 'run relay doctor again once it has finished' };
  if (status === 'UPDATE_ROLLBACK_COMPLETE') return { cause: 'the last deploy failed and was rolled back: the previous version runs', fix: 'read the stack events (aws cloudformation describe-stack-events) for the first failure, fix it, and deploy again' };
  if (status.endsWith('_FAILED')) return { cause: `the stack is in ${status}`, fix: 'read the stack events for the first failure, fix it, and deploy again' };
  if (!outputs[StackOutput.OperatorPolicyArn]) return { cause: 'it was deployed by an older version: some outputs relay doctor reads are missing', fix: 'deploy this version (npx cdk deploy)' };
  return undefined;
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
