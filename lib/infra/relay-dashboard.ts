/**
 * The relay's CloudWatch dashboard: traffic in, outcomes, delivery, the lane, forwarders, and every
 * alarm's state, in the order an operator reads them when something is wrong.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DeliveryLane } from './delivery-lane';
import type { IamHttpApi } from './iam-http-api';

/** The parts of a relay that monitoring watches (alarms and dashboard alike). */
export interface MonitoredRelay {
  /** The relay workflow: its failed executions include rejected envelopes (bad signature, stale…). */
  readonly relayWorkflow: sfn.IStateMachine;
  /** The delivery workflow. @default - none (a relay without lanes) */
  readonly deliveryWorkflow?: sfn.IStateMachine;
  readonly verifyFunction: lambda.IFunction;
  readonly ingestApi: IamHttpApi;
  readonly webhookProxyApi: IamHttpApi;
  /** @default - no lane alarms or widgets (a relay without lanes) */
  readonly lane?: DeliveryLane;
  /** The heartbeats forwarders send (HeartbeatTable.metricHeartbeats()). */
  readonly forwarderHeartbeat: cloudwatch.Metric;
}

export interface RelayDashboardProps extends MonitoredRelay {
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** @default - the stack name */
  readonly dashboardName?: string;
}

const PERIOD = Duration.minutes(5);
const sum = { period: PERIOD, statistic: cloudwatch.Stats.SUM };

export class RelayDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RelayDashboardProps) {
    super(scope, id);
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) => new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    const workflow = (label: string, sm: sfn.IStateMachine) => [
      sm.metricSucceeded({ ...sum, label: `${label} succeeded` }),
      sm.metricFailed({ ...sum, label: `${label} failed` }),
      sm.metricTimedOut({ ...sum, label: `${label} timed out` }),
    ];
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }));
    this.dashboard.addWidgets(
      graph('Ingest requests', [props.ingestApi.api.metricCount({ ...sum, label: 'requests' }), props.ingestApi.metricClientError({ ...sum, label: '4xx' }), props.ingestApi.metricServerError({ ...sum, label: '5xx' })],
        [props.ingestApi.metricLatency({ period: PERIOD, statistic: cloudwatch.Stats.p(99), label: 'latency p99 (ms)' })]),
      graph('Relay workflow', workflow('relay', props.relayWorkflow)),
      graph('Verify', [props.verifyFunction.metricErrors({ ...sum, label: 'errors' }), props.verifyFunction.metricThrottles({ ...sum, label: 'throttles' })],
        [props.verifyFunction.metricDuration({ period: PERIOD, statistic: cloudwatch.Stats.p(99), label: 'duration p99 (ms)' })]),
    );
    this.dashboard.addWidgets(
      ...(props.deliveryWorkflow ? [graph('Delivery workflow', workflow('delivery', props.deliveryWorkflow))] : []),
      graph('Discord (webhook proxy)', [props.webhookProxyApi.api.metricCount({ ...sum, label: 'posts' }), props.webhookProxyApi.metricClientError({ ...sum, label: '4xx (429 included)' }), props.webhookProxyApi.metricServerError({ ...sum, label: '5xx' })]),
      ...(props.lane
        ? [graph('Lane', [props.lane.metricOldestEventAge({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest event (s)' })],
          [props.lane.metricDeadLetters({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'dead letters' })])]
        : []),
    );
    this.dashboard.addWidgets(new cloudwatch.GraphWidget({ title: 'Forwarder heartbeats', left: [props.forwarderHeartbeat], width: 24, height: 4 }));
  }
}
