/**
 * The guild settings table (docs/architecture.md §2.7): one item per guild with the members who
 * opted out and until when notices are paused. `/relay` writes it; both workflows read it through
 * Step Functions' native GetItem. Kept when the stack is deleted or the table replaced: an opt-out
 * is a promise to a member, and a redeploy must not forget it.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { GuildSettingsAttribute } from '../contracts/interactions';
import { relayTable } from './relay-table';

export interface GuildSettingsTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class GuildSettingsTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: GuildSettingsTableProps = {}) {
    super(scope, id);
    this.table = relayTable(this, 'Table', { partitionKey: GuildSettingsAttribute.GuildId, removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN });
  }

  /** What `/relay` needs: read a guild's item and change it (GetItem, UpdateItem), nothing else. */
  public grantCommandWrites(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [this.table.tableArn] });
  }
}
