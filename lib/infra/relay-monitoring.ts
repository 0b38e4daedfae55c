/**
 * Alarms on everything an operator of the relay acts on, an SNS topic they notify (optionally an
 * e-mail subscription), optionally each alarm change posted to a Discord channel through the
 * relay's own lane, and a dashboard (relay-dashboard.ts). Alarm names are `<prefix>-<AlarmName>`;
 * README "Alarms and dashboard" says what each means and what to do.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ALARM_NOTICE_KIND } from '../contracts/lane';
import { AlarmName, ESSENTIAL_ALARMS, type MonitoringLevel } from '../contracts/metrics';
import type { DeliveryLane } from './delivery-lane';
import { acknowledgeAlarmTopicEncryption } from './nag-acknowledgements';
import { RelayDashboard, type MonitoredRelay } from './relay-dashboard';

// The alarm names are a contract: relay doctor reads them too.
export { AlarmName };

const FIVE_MINUTES = Duration.minutes(5);
const DEFAULT_HEARTBEAT_WINDOW = Duration.minutes(15);

export interface RelayMonitoringProps extends MonitoredRelay {
  /** No heartbeat for this long is an alarm; missing data counts as none. Whole minutes. @default Duration.minutes(15) */
  readonly heartbeatMissingAfter?: Duration;
  /** Relay executions failing in 5 minutes that raise the alarm (rejections count). @default 5 */
  readonly relayFailuresThreshold?: number;
  /** Ingest 4xx answers in 5 minutes that count as a spike (403 unsigned or denied, 429 throttled). @default 50 */
  readonly ingestClientErrorThreshold?: number;
  /** Oldest event waiting on the lane for this long is an alarm. @default Duration.minutes(5) */
  readonly laneAgeThreshold?: Duration;
  /** Subscribed to the alarm topic. @default - no subscription */
  readonly alarmEmail?: string;
  /** Post each alarm change to this channel, through the lane like any event. @default - not posted */
  readonly alarmNotices?: { readonly lane: DeliveryLane; readonly channel: string };
  /** @default - the stack name */
  readonly alarmNamePrefix?: string;
  /**
   * `essential`: only the alarms that mean events are not reaching Discord (`ESSENTIAL_ALARMS`);
   * `full`: all twelve. Each standard alarm costs $0.10 a month.
   * @default 'essential'
   */
  readonly level?: MonitoringLevel;
  /**
   * Add the CloudWatch dashboard ($3 a month beyond an account's first three).
   * @default false
   */
  readonly dashboard?: boolean;
}

export class RelayMonitoring extends Construct {
  /** Every alarm notifies it, on ALARM and on OK. */
  public readonly topic: sns.Topic;
  public readonly alarms: ReadonlyMap<AlarmName, cloudwatch.Alarm>;
  /** With `dashboard` only. */
  public readonly dashboard?: RelayDashboard;
  public readonly level: MonitoringLevel;
  /** The rule that puts alarm changes on the lane, with `alarmNotices`. */
  public readonly alarmNoticeRule?: events.Rule;
  private readonly prefix: string;
  private readonly essential: ReadonlySet<AlarmName>;
  private readonly byName = new Map<AlarmName, cloudwatch.Alarm>();

  constructor(scope: Construct, id: string, props: RelayMonitoringProps) {
    super(scope, id);
    this.prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    this.level = props.level ?? 'essential';
    // Without lanes, delivery happens in the relay workflow: its failures are the delivery alarm.
    this.essential = new Set(props.deliveryWorkflow ? ESSENTIAL_ALARMS : [...ESSENTIAL_ALARMS, AlarmName.RelayExecutionsFailed]);
    const requested = props.heartbeatMissingAfter ?? DEFAULT_HEARTBEAT_WINDOW;
    const minutes = requested.toMinutes({ integral: false });
    const windowIsValid = Number.isInteger(minutes) && minutes >= 2 && minutes <= 1440;
    this.node.addValidation({ validate: () => (windowIsValid ? [] : [`heartbeatMissingAfter must be whole minutes from 2 to 1440 (got ${requested.toHumanString()})`]) });
    // CloudWatch refuses other periods when the metric is built; the validation above names the problem instead.
    const heartbeatWindow = windowIsValid ? requested : DEFAULT_HEARTBEAT_WINDOW;

    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: `${this.prefix} alarms`, enforceSSL: true });
    acknowledgeAlarmTopicEncryption(this.topic);
    // A topic policy replaces SNS's default one, so CloudWatch is allowed by name, for this account's alarms only.
    const { account, region, partition } = Stack.of(this);
    this.topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: {
        ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:${this.prefix}-*` },
        StringEquals: { 'aws:SourceAccount': account },
      },
    }));
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.workflowAlarms(props);
    this.addAlarm(AlarmName.VerifyErrors, props.verifyFunction.metricErrors({ period: FIVE_MINUTES }), 1, 'Verify threw (not a rejection: those are Relay.* outcomes). Its log group has the stack trace.');
    this.addAlarm(AlarmName.VerifyThrottles, props.verifyFunction.metricThrottles({ period: FIVE_MINUTES }), 1, 'Lambda throttled Verify: the account or function concurrency limit was reached.');
    this.addAlarm(AlarmName.Ingest5xx, props.ingestApi.metricServerError({ period: FIVE_MINUTES }), 1, 'The ingest API could not start executions (integration role, Step Functions limits). Its access log has each request.');
    this.addAlarm(AlarmName.Ingest4xxSpike, props.ingestApi.metricClientError({ period: FIVE_MINUTES }), props.ingestClientErrorThreshold ?? 50, 'Many requests were refused (403: unsigned or not allowed; 429: throttled). A forwarder with expired credentials, or someone probing the URL.');
    this.addAlarm(AlarmName.Proxy5xx, props.webhookProxyApi.metricServerError({ period: FIVE_MINUTES }), 1, 'Discord (or the path to it) answered 5xx or timed out; the lanes retry, this says it is happening.');
    if (props.lane) {
      this.addAlarm(AlarmName.DeadLetters, props.lane.metricDeadLetters({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }), 1, 'Events Discord refused are waiting in the dead-letter queue: inspect and redrive them (README "Dead letters").');
      const age = props.laneAgeThreshold ?? FIVE_MINUTES;
      this.addAlarm(AlarmName.LaneOldestEvent, props.lane.metricOldestEventAge({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }), age.toSeconds(), `An event has waited on its lane for ${age.toHumanString()} or more: the pipe or the delivery workflow is stuck.`, { evaluationPeriods: 3 });
    }
    this.addAlarm(AlarmName.ForwarderHeartbeatMissing, props.forwarderHeartbeat.with({ period: heartbeatWindow, statistic: cloudwatch.Stats.SUM }), 1,
      `No forwarder heartbeat for ${heartbeatWindow.toHumanString()}: relay forward is down, disconnected or cannot reach the relay.`,
      { comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.BREACHING });
    this.alarms = this.byName;

    if (props.alarmNotices) this.alarmNoticeRule = this.postAlarmChanges(props.alarmNotices);
    if (props.dashboard) this.dashboard = new RelayDashboard(this, 'Dashboard', { ...props, alarms: [...this.byName.values()] });
  }

  /** The alarm of this name; throws if the relay has none such (e.g. lane alarms without lanes). */
  public alarmFor(name: AlarmName): cloudwatch.Alarm {
    const found = this.byName.get(name);
    if (!found) throw new Error(`no ${name} alarm here (known: ${[...this.byName.keys()].join(', ')})`);
    return found;
  }

  private workflowAlarms(props: RelayMonitoringProps): void {
    const relay = props.relayWorkflow;
    this.addAlarm(AlarmName.RelayExecutionsFailed, relay.metricFailed({ period: FIVE_MINUTES }), props.relayFailuresThreshold ?? 5,
      'Relay executions failed: envelopes rejected (Relay.InvalidSignature, Stale, UnknownKey…) or Relay.Internal. The workflow log group names each error.');
    this.addAlarm(AlarmName.RelayExecutionsTimedOut, relay.metricTimedOut({ period: FIVE_MINUTES }), 1, 'A relay execution ran into its timeout.');
    if (props.deliveryWorkflow) {
      this.addAlarm(AlarmName.DeliveryExecutionsFailed, props.deliveryWorkflow.metricFailed({ period: FIVE_MINUTES }), 1,
        'A delivery batch failed (Discord 5xx beyond retries, rate limited too long): the lane hands it out again; after 5 receives it goes to the dead-letter queue.');
      this.addAlarm(AlarmName.DeliveryExecutionsTimedOut, props.deliveryWorkflow.metricTimedOut({ period: FIVE_MINUTES }), 1, 'A delivery batch ran into its timeout.');
    }
  }

  /** Creates the alarm when the level includes it. */
  private addAlarm(name: AlarmName, metric: cloudwatch.IMetric, threshold: number, description: string, extra: Partial<cloudwatch.CreateAlarmOptions> = {}): cloudwatch.Alarm | undefined {
    if (this.level === 'essential' && !this.essential.has(name)) return undefined;
    const alarm = new cloudwatch.Alarm(this, name, {
      alarmName: `${this.prefix}-${name}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...extra,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.byName.set(name, alarm);
    return alarm;
  }

  /**
   * Each state change of these alarms becomes a lane event for `channel`: paced, coalesced and
   * dead-lettered like any other. The line holds only the alarm's name (ours) and AWS's state
   * words, never free text, so nothing in it can ping or format.
   */
  private postAlarmChanges(notices: NonNullable<RelayMonitoringProps['alarmNotices']>): events.Rule {
    const field = (path: string) => events.EventField.fromPath(path);
    const rule = new events.Rule(this, 'AlarmNotices', {
      description: `Posts ${this.prefix} alarm changes to the ${notices.channel} channel`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: [...this.byName.values()].map((a) => a.alarmArn),
      },
    });
    rule.addTarget(new targets.SqsQueue(notices.lane.queue, {
      messageGroupId: notices.channel,
      message: events.RuleTargetInput.fromObject({
        id: `alarm:${field('$.id')}`,
        kind: ALARM_NOTICE_KIND,
        channel: notices.channel,
        line: `📟 Alarm **${field('$.detail.alarmName')}**: ${field('$.detail.state.value')} (was ${field('$.detail.previousState.value')})`,
      }),
    }));
    return rule;
  }
}
