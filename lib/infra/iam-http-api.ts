/**
 * What the relay's HTTP APIs share: IAM (SigV4) authorization on every route, one `$default`
 * stage with throttling and JSON access logs to a log group of its own, and exact `execute-api`
 * ARNs for grants. IngestApi and WebhookProxyApi each hold one; InteractionsApi one without IAM
 * (Discord signs its requests itself).
 */
import { Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_STAGE, executeApiArn } from './call-http-api-endpoint';

export interface IamHttpApiProps {
  readonly description: string;
  /** Steady rate and burst of the `$default` stage; every API here sets its own. */
  readonly throttle: apigwv2.ThrottleSettings;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * `none` leaves the routes open: only for the Discord interactions endpoint, which Discord
   * calls without AWS credentials and whose handler checks Discord's signature instead.
   * @default 'iam'
   */
  readonly authorization?: 'iam' | 'none';
}

/**
 * One JSON line per request with the caller identity and outcome, and no request bodies or
 * headers (they can carry user text).
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    latencyMs: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integration.error',
    callerArn: '$context.identity.userArn',
    sourceIp: '$context.identity.sourceIp',
    authError: '$context.authorizer.error',
  }),
);

export class IamHttpApi extends Construct {
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IamHttpApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: props.description,
      createDefaultStage: false,
      defaultAuthorizer: props.authorization === 'none' ? undefined : new HttpIamAuthorizer(),
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: DEFAULT_STAGE,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup), format: ACCESS_LOG_FORMAT },
    });
  }

  public get apiId(): string {
    return this.api.apiId;
  }

  /** Base URL of the `$default` stage, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`. */
  public get url(): string {
    return this.api.apiEndpoint;
  }

  public addRoute(path: string, method: apigwv2.HttpMethod, integration: apigwv2.HttpRouteIntegration): apigwv2.HttpRoute {
    const [route] = this.api.addRoutes({ path, methods: [method], integration });
    return route;
  }

  /**
   * Exact `execute-api` ARN of one route on the `$default` stage. (`HttpRoute.grantInvoke` would
   * allow every stage: `…/*\/POST/events`.)
   */
  public arnForRoute(method: string, path: string): string {
    return executeApiArn(Stack.of(this), { apiId: this.apiId, method, apiPath: path });
  }

  /** Lets `grantee` call exactly these routes (`[method, path]` pairs) on the `$default` stage. */
  public grantInvoke(grantee: iam.IGrantable, ...routes: ReadonlyArray<readonly [string, string]>): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: routes.map(([m, p]) => this.arnForRoute(m, p)) });
  }

  /** 4xx answers, including 403 (unsigned, wrong signature, no permission) and 429 (throttled). */
  public metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricClientError(props);
  }

  /** 5xx answers: the integration (Step Functions, or Discord through the proxy) failed. */
  public metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricServerError(props);
  }

  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricLatency(props);
  }
}
