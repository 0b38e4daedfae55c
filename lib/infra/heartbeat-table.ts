/**
 * The heartbeat table: one item per forwarder, overwritten by each heartbeat it sends (every 5
 * minutes). Its write metric, which DynamoDB publishes to CloudWatch free at one-minute
 * granularity, is what ForwarderHeartbeatMissing watches; a custom metric would cost $0.30 a
 * month and a PutMetricData per heartbeat (README "Alarms and dashboard": why this way).
 * Only the relay workflow's heartbeat step writes here, so nothing else stands in for a forwarder.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { HeartbeatAttribute } from '../contracts/metrics';
import { relayTable } from './relay-table';

export interface HeartbeatTableProps {
  /** @default RemovalPolicy.DESTROY (each item is only a forwarder's last heartbeat) */
  readonly removalPolicy?: RemovalPolicy;
}

export class HeartbeatTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: HeartbeatTableProps = {}) {
    super(scope, id);
    this.table = relayTable(this, 'Table', { partitionKey: HeartbeatAttribute.Forwarder, timeToLiveAttribute: HeartbeatAttribute.ExpiresAt, removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY });
  }

  /**
   * Heartbeats written per period (Sum of the table's consumed write units: one per heartbeat of
   * ≤ 1 KB). Zero or missing means no forwarder is reaching the relay.
   * @default - Sum over 5 minutes
   */
  public metricHeartbeats(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.table.metricConsumedWriteCapacityUnits({ statistic: cloudwatch.Stats.SUM, ...props });
  }
}
