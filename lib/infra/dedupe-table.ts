/**
 * The dedupe table: one item per envelope id, claimed with a conditional write before the event
 * is queued and marked when its message is delivered (docs/architecture.md "Delivery lanes").
 * The state machines use it through Step Functions' native DynamoDB integration; no Lambda.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DedupeAttribute } from '../contracts/lane';
import { relayTable } from './relay-table';

export interface DedupeTableProps {
  /**
   * How long an id is remembered after it was received. Longer than the forwarder spool's 24 h,
   * so an event re-sent after a long outage is still recognised.
   * @default Duration.hours(48)
   */
  readonly retention?: Duration;
  /** @default RemovalPolicy.DESTROY (the items are only dedupe records) */
  readonly removalPolicy?: RemovalPolicy;
}

/** Shortest retention that still covers the forwarder spool's 24 h. */
const MIN_RETENTION = Duration.hours(25);

export class DedupeTable extends Construct {
  public readonly table: dynamodb.Table;
  public readonly retention: Duration;

  constructor(scope: Construct, id: string, props: DedupeTableProps = {}) {
    super(scope, id);
    this.retention = props.retention ?? Duration.hours(48);
    this.node.addValidation({
      validate: () =>
        this.retention.toSeconds() < MIN_RETENTION.toSeconds()
          ? [`retention is ${this.retention.toHumanString()}; keep ids at least ${MIN_RETENTION.toHumanString()} (the forwarder re-sends spooled events for up to 24 h)`]
          : [],
    });
    this.table = relayTable(this, 'Table', { partitionKey: DedupeAttribute.Id, timeToLiveAttribute: DedupeAttribute.ExpiresAt, removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY });
  }

  /** Lets `grantee` read and write items (the state machines get narrower grants from their tasks). */
  public grantReadWriteData(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }

  /** Claims refused because the id was already there: duplicates caught. */
  public metricConditionalCheckFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.table.metricConditionalCheckFailedRequests(props);
  }

  public metricThrottledRequests(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.table.metricThrottledRequestsForOperations({ ...props, operations: [dynamodb.Operation.PUT_ITEM, dynamodb.Operation.UPDATE_ITEM, dynamodb.Operation.GET_ITEM] });
  }
}
