/**
 * The public, IAM-authenticated HTTP API that callers POST signed envelopes to:
 * `POST /events` starts an execution, `POST /events/sync` runs one and answers with its outcome.
 */
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpStepFunctionsIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { IngestRoute } from '../contracts/routes';
import { IamHttpApi } from './iam-http-api';

export interface IngestApiProps {
  /** A `StateMachine`: aws-cdk-lib's integration grants its role on it. */
  readonly stateMachine: sfn.StateMachine;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const INGEST_ROUTES = [IngestRoute.Events, IngestRoute.EventsSync].map((path) => ['POST', path] as const);

export class IngestApi extends IamHttpApi {
  /** Exact `execute-api` ARNs of `POST /events` and `POST /events/sync`. */
  public readonly routeArns: readonly string[];
  /** Managed policy allowing exactly the two routes; attach it to a forwarder's role or user. */
  public readonly callerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id, {
      description: 'Discord Event Relay ingest: IAM-authenticated POST /events and /events/sync',
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      logRetention: props.logRetention,
    });

    // The integration maps only StateMachineArn unless told otherwise: without `Input` the body
    // never reaches the state machine. Each one gets its own invoke role, allowed to start this
    // state machine and nothing else, trusted by API Gateway without a condition: API Gateway does
    // not send aws:SourceAccount (register row "ingest trust"; SECURITY.md says what confines it).
    const integration = (name: string, subtype: apigwv2.HttpIntegrationSubtype) =>
      new HttpStepFunctionsIntegration(name, {
        stateMachine: props.stateMachine,
        subtype,
        parameterMapping: new apigwv2.ParameterMapping().custom('StateMachineArn', props.stateMachine.stateMachineArn).custom('Input', '$request.body'),
      });
    this.addRoute(IngestRoute.Events, apigwv2.HttpMethod.POST, integration('StartExecution', apigwv2.HttpIntegrationSubtype.STEPFUNCTIONS_START_EXECUTION));
    this.addRoute(IngestRoute.EventsSync, apigwv2.HttpMethod.POST, integration('StartSyncExecution', apigwv2.HttpIntegrationSubtype.STEPFUNCTIONS_START_SYNC_EXECUTION));

    this.routeArns = INGEST_ROUTES.map(([method, path]) => this.arnForRoute(method, path));
    this.callerPolicy = new iam.ManagedPolicy(this, 'CallerPolicy', {
      description: 'Allows sending signed events to the Discord Event Relay ingest API',
      statements: [new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [...this.routeArns] })],
    });
  }

  /** Lets `grantee` send events (both routes, nothing else). */
  public grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.grantInvoke(grantee, ...INGEST_ROUTES);
  }
}
