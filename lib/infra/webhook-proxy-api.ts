/**
 * The inner, IAM-authenticated HTTP API that posts to Discord: one `POST /channels/<name>` route
 * per channel, each an HTTP_PROXY integration to that channel's webhook. The webhook URL is a
 * CloudFormation dynamic reference to Secrets Manager, so it is never in the template.
 */
import { SecretValue, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_STAGE, executeApiArn } from './call-http-api-endpoint';
import { CHANNEL_NAME_PATTERN, type ThrottleConfig } from '../config/relay-config';
import { createAccessLogSettings } from './access-logs';
import { channelRoutePath } from '../contracts/routes';

export interface WebhookChannel {
  /** Lowercase letters, digits and hyphens; becomes the route `POST /channels/<name>`. */
  readonly name: string;
  /** Secret whose plain-text value is the channel's webhook URL (without a query string). */
  readonly webhookUrlSecret: secretsmanager.ISecret;
}

export interface WebhookProxyApiProps {
  readonly channels: readonly WebhookChannel[];
  /** Discord requires `DiscordBot (<url>, <version>)`; the proxy overwrites the caller's User-Agent with it. */
  readonly userAgent: string;
  /** @default { rateLimit: 5, burstLimit: 10 } */
  readonly throttle?: ThrottleConfig;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * `{{resolve:secretsmanager:<id>:SecretString:::}}` by full ARN when known, else by name.
 * `ISecret.secretValue` of an imported-by-name secret uses a partial ARN, which Secrets Manager
 * fails to find when the name ends in a hyphen and six characters.
 */
function webhookUrlReference(secret: secretsmanager.ISecret): SecretValue {
  return SecretValue.secretsManager(secret.secretFullArn ?? secret.secretName);
}

export class WebhookProxyApi extends Construct {
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  /** Routes by channel name. */
  public readonly routes: ReadonlyMap<string, apigwv2.HttpRoute>;
  private readonly stack: Stack;

  constructor(scope: Construct, id: string, props: WebhookProxyApiProps) {
    super(scope, id);
    if (props.channels.length === 0) throw new Error('WebhookProxyApi: channels is empty; add at least one channel');
    const seen = new Set<string>();
    for (const c of props.channels) {
      if (!CHANNEL_NAME_PATTERN.test(c.name)) {
        throw new Error(`WebhookProxyApi: channel name "${c.name}" must be 1-63 lowercase letters, digits and hyphens`);
      }
      if (seen.has(c.name)) throw new Error(`WebhookProxyApi: channel "${c.name}" is listed twice; give each channel one entry`);
      seen.add(c.name);
    }
    if (!/^DiscordBot \(\S+, \S+\)$/.test(props.userAgent)) {
      throw new Error(`WebhookProxyApi: userAgent "${props.userAgent}" must read "DiscordBot (<url>, <version>)", as Discord requires`);
    }
    this.stack = Stack.of(this);

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Discord Event Relay webhook proxy: IAM-authenticated POST /channels/<name> to Discord webhooks',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: DEFAULT_STAGE,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 5, burstLimit: 10 },
      accessLogSettings: createAccessLogSettings(this.accessLogGroup),
    });

    const routes = new Map<string, apigwv2.HttpRoute>();
    for (const channel of props.channels) {
      // `wait=true`: Discord answers with the message (200) instead of a 204 that can hide a drop.
      const url = `${webhookUrlReference(channel.webhookUrlSecret).unsafeUnwrap()}?wait=true`;
      const integration = new HttpUrlIntegration(`Channel-${channel.name}`, url, {
        method: apigwv2.HttpMethod.POST,
        parameterMapping: new apigwv2.ParameterMapping()
          .overwriteHeader('User-Agent', apigwv2.MappingValue.custom(props.userAgent))
          .overwriteHeader('Content-Type', apigwv2.MappingValue.custom('application/json')),
      });
      const [route] = this.api.addRoutes({ path: WebhookProxyApi.channelPath(channel.name), methods: [apigwv2.HttpMethod.POST], integration });
      routes.set(channel.name, route);
    }
    this.routes = routes;
  }

  /** The route path of a channel: `/channels/<name>`. */
  public static channelPath(channelName: string): string {
    return channelRoutePath(channelName);
  }

  public get apiId(): string {
    return this.api.apiId;
  }

  /** Exact `execute-api` ARN of `POST /channels/<name>` on the `$default` stage. */
  public arnForChannel(channelName: string): string {
    if (!this.routes.has(channelName)) throw new Error(`WebhookProxyApi: no channel "${channelName}"; known: ${[...this.routes.keys()].join(', ')}`);
    return executeApiArn(this.stack, { apiId: this.apiId, method: 'POST', apiPath: WebhookProxyApi.channelPath(channelName) });
  }

  /** Lets `grantee` post to one channel (and no other). */
  public grantPostToChannel(grantee: iam.IGrantable, channelName: string): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.arnForChannel(channelName)] });
  }
}
