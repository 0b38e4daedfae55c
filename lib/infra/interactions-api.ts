/**
 * The Discord interactions endpoint: a public HTTP API (Discord cannot sign with SigV4, so this
 * is the relay's one route without IAM: SECURITY.md "The interactions endpoint") with
 * `POST /interactions`, stage throttling, and the Interactions function behind a Lambda proxy
 * integration. The function checks Discord's Ed25519 signature before it reads the body, writes
 * the guild settings table, and reads what `/relay status` reports.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { InteractionsEnv } from '../contracts/env';
import { INTERACTIONS_PATH } from '../contracts/interactions';
import { lambdaEntry } from '../project-files';
import type { DeliveryLane } from './delivery-lane';
import type { GuildSettingsTable } from './guild-settings-table';
import { IamHttpApi } from './iam-http-api';
import { acknowledgeInteractionsFindings } from './nag-acknowledgements';
import { RelayFunction } from './relay-function';

export interface InteractionsApiProps {
  /** The application's Ed25519 public key (64 hex), from the Developer Portal. */
  readonly publicKey: string;
  readonly applicationId: string;
  /** Commands from other guilds are refused. */
  readonly allowedGuildIds: readonly string[];
  readonly settings: GuildSettingsTable;
  /** What `/relay status` reads. @default - no lane facts (direct delivery) */
  readonly lane?: DeliveryLane;
  /** @default - no last delivery in `/relay status` */
  readonly deliveryWorkflow?: sfn.IStateMachine;
  /** The table forwarder heartbeats are written to: `/relay status` reads its write metric for the last one. */
  readonly heartbeatTable: dynamodb.ITable;
  /**
   * A busy guild runs a few commands a minute; this stops a flood of unsigned requests from
   * costing more than a few Lambda invocations a second.
   * @default { rateLimit: 10, burstLimit: 20 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class InteractionsApi extends IamHttpApi {
  public readonly handler: RelayFunction;
  public readonly route: apigwv2.HttpRoute;

  constructor(scope: Construct, id: string, props: InteractionsApiProps) {
    super(scope, id, {
      description: 'Discord Event Relay interactions endpoint: POST /interactions, signed by Discord (no IAM)',
      throttle: props.throttle ?? { rateLimit: 10, burstLimit: 20 },
      logRetention: props.logRetention,
      authorization: 'none',
    });
    this.handler = new RelayFunction(this, 'Function', {
      entry: lambdaEntry('interactions'),
      description: 'Discord Event Relay: answers /relay commands (signature checked first)',
      // Discord waits 3 s for the answer; a function still running after that answers nobody.
      timeout: Duration.seconds(3),
      environment: {
        [InteractionsEnv.PublicKey]: props.publicKey,
        [InteractionsEnv.ApplicationId]: props.applicationId,
        [InteractionsEnv.AllowedGuildIds]: props.allowedGuildIds.join(','),
        [InteractionsEnv.SettingsTable]: props.settings.table.tableName,
        [InteractionsEnv.HeartbeatTable]: props.heartbeatTable.tableName,
        ...(props.lane ? { [InteractionsEnv.LaneQueueUrl]: props.lane.queue.queueUrl, [InteractionsEnv.DeadLetterQueueUrl]: props.lane.deadLetterQueue.queueUrl } : {}),
        ...(props.deliveryWorkflow ? { [InteractionsEnv.DeliveryStateMachineArn]: props.deliveryWorkflow.stateMachineArn } : {}),
      },
      logRetention: props.logRetention,
    });
    props.settings.grantCommandWrites(this.handler);
    if (props.lane) {
      this.handler.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [props.lane.queue.queueArn, props.lane.deadLetterQueue.queueArn] }));
    }
    // GetMetricData takes no resource (CloudWatch's permissions reference): the one wildcard.
    this.handler.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    this.route = this.addRoute(INTERACTIONS_PATH, HttpMethod.POST, new HttpLambdaIntegration('Handler', this.handler));
    acknowledgeInteractionsFindings(this.route, this.handler);
  }

  /** The Interactions Endpoint URL to paste into the Developer Portal. */
  public get interactionsUrl(): string {
    return `${this.url}${INTERACTIONS_PATH}`;
  }
}
