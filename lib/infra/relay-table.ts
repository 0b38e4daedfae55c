/**
 * The relay's DynamoDB tables (dedupe, heartbeats, guild settings) share one setup: on demand
 * (nothing to pay while idle), point-in-time recovery (cdk-nag DDB3; a few KB cost nothing) and
 * AWS-managed encryption. Each construct says only its key, its TTL and what a stack deletion does.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

export interface RelayTableProps {
  /** A string partition key of this name; no sort key. */
  readonly partitionKey: string;
  readonly removalPolicy: RemovalPolicy;
  /** @default - no TTL */
  readonly timeToLiveAttribute?: string;
}

export function relayTable(scope: Construct, id: string, props: RelayTableProps): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: props.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: props.timeToLiveAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: props.removalPolicy,
  });
}
