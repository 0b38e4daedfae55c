/**
 * The public, IAM-authenticated HTTP API that callers POST signed envelopes to:
 * `POST /events` starts an execution, `POST /events/sync` runs one and answers with its outcome.
 */
import { Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpStepFunctionsIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { createAccessLogSettings } from './access-logs';
import { DEFAULT_STAGE, executeApiArn } from './call-http-api-endpoint';
import { IngestRoute } from '../contracts/routes';
import type { ThrottleConfig } from '../config/relay-config';

export interface IngestApiProps {
  readonly stateMachine: sfn.StateMachine;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly throttle?: ThrottleConfig;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class IngestApi extends Construct {
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  /** Exact `execute-api` ARNs of `POST /events` and `POST /events/sync`. */
  public readonly routeArns: readonly string[];
  /** Managed policy allowing exactly the two routes; attach it to a forwarder's role or user. */
  public readonly callerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Discord Event Relay ingest: IAM-authenticated POST /events and /events/sync',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: DEFAULT_STAGE,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: createAccessLogSettings(this.accessLogGroup),
    });

    // The integration maps only StateMachineArn unless told otherwise: without `Input` the body
    // never reaches the state machine.
    const mapping = () =>
      new apigwv2.ParameterMapping().custom('StateMachineArn', props.stateMachine.stateMachineArn).custom('Input', '$request.body');
    this.api.addRoutes({
      path: IngestRoute.Events,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpStepFunctionsIntegration('StartExecution', {
        stateMachine: props.stateMachine,
        subtype: apigwv2.HttpIntegrationSubtype.STEPFUNCTIONS_START_EXECUTION,
        parameterMapping: mapping(),
      }),
    });
    this.api.addRoutes({
      path: IngestRoute.EventsSync,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpStepFunctionsIntegration('StartSyncExecution', {
        stateMachine: props.stateMachine,
        subtype: apigwv2.HttpIntegrationSubtype.STEPFUNCTIONS_START_SYNC_EXECUTION,
        parameterMapping: mapping(),
      }),
    });

    const stack = Stack.of(this);
    // Exact stage and route (HttpRoute.grantInvoke would allow every stage: `…/*/POST/events`).
    this.routeArns = [IngestRoute.Events, IngestRoute.EventsSync].map((apiPath) =>
      executeApiArn(stack, { apiId: this.api.apiId, method: 'POST', apiPath }),
    );
    this.callerPolicy = new iam.ManagedPolicy(this, 'CallerPolicy', {
      description: 'Allows sending signed events to the Discord Event Relay ingest API',
      statements: [new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [...this.routeArns] })],
    });
  }

  /** Base URL of the API (the `$default` stage), e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`. */
  public get url(): string {
    return this.api.apiEndpoint;
  }

  /** Lets `grantee` send events (both routes, nothing else). */
  public grantSend(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [...this.routeArns] });
  }
}
