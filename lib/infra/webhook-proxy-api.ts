/**
 * The inner, IAM-authenticated HTTP API that posts to Discord: one `POST /channels/<name>` route
 * per channel, each an HTTP_PROXY integration to that channel's webhook, and for editable channels
 * `PATCH /channels/<name>/messages/{messageId}` to Discord's Edit Webhook Message. The webhook URL
 * is a CloudFormation dynamic reference to Secrets Manager, so it is never in the template.
 */
import { SecretValue } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CHANNEL_KIND_METADATA, CHANNEL_NAME_PATTERN, CHANNEL_NAME_RULE, MESSAGE_ID_PARAMETER, channelMessageRoutePath, channelMessagesPrefix, channelRoutePath, type ChannelKind } from '../contracts/routes';
import { IamHttpApi } from './iam-http-api';

export interface WebhookChannel {
  /** Lowercase letters, digits and hyphens; becomes the route `POST /channels/<name>`. */
  readonly name: string;
  /** Secret whose plain-text value is the channel's webhook URL (without a query string). */
  readonly webhookUrlSecret: secretsmanager.ISecret;
  /** Adds the edit route (live voice cards edit their message; Discord only). @default false */
  readonly editable?: boolean;
  /** A Discord webhook, or a Slack incoming webhook (`https://hooks.slack.com/services/…`). @default 'discord' */
  readonly kind?: ChannelKind;
}

export interface WebhookProxyApiProps {
  readonly channels: readonly WebhookChannel[];
  /** Discord requires `DiscordBot (<url>, <version>)`; the proxy overwrites the caller's User-Agent with it. */
  readonly userAgent: string;
  /**
   * Protects Discord (and our IP's standing with Cloudflare) from floods.
   * @default { rateLimit: 5, burstLimit: 10 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const USER_AGENT_PATTERN = /^DiscordBot \(\S+, \S+\)$/;

/**
 * `{{resolve:secretsmanager:<id>:SecretString:::}}` by full ARN when known, else by name.
 * `ISecret.secretValue` of an imported-by-name secret uses a partial ARN, which Secrets Manager
 * fails to find when the name ends in a hyphen and six characters.
 */
function webhookUrlReference(secret: secretsmanager.ISecret): SecretValue {
  return SecretValue.secretsManager(secret.secretFullArn ?? secret.secretName);
}

export class WebhookProxyApi extends IamHttpApi {
  /** Routes by channel name. */
  public readonly routes: ReadonlyMap<string, apigwv2.HttpRoute>;
  /** Edit routes by channel name (editable channels only). */
  public readonly editRoutes: ReadonlyMap<string, apigwv2.HttpRoute>;
  /** Each channel's kind, by channel name. */
  public readonly kinds: ReadonlyMap<string, ChannelKind>;

  constructor(scope: Construct, id: string, props: WebhookProxyApiProps) {
    super(scope, id, {
      description: 'Discord Event Relay webhook proxy: IAM-authenticated POST /channels/<name> to Discord webhooks',
      throttle: props.throttle ?? { rateLimit: 5, burstLimit: 10 },
      logRetention: props.logRetention,
    });
    this.node.addValidation({ validate: () => validateProps(props) });

    const routes = new Map<string, apigwv2.HttpRoute>();
    const editRoutes = new Map<string, apigwv2.HttpRoute>();
    const headers = () => new apigwv2.ParameterMapping()
      .overwriteHeader('User-Agent', apigwv2.MappingValue.custom(props.userAgent))
      .overwriteHeader('Content-Type', apigwv2.MappingValue.custom('application/json'));
    const kinds = new Map<string, ChannelKind>();
    for (const channel of props.channels) {
      if (routes.has(channel.name)) continue; // reported by the validation
      const kind = channel.kind ?? 'discord';
      const webhook = webhookUrlReference(channel.webhookUrlSecret).unsafeUnwrap();
      // Discord: `wait=true`, so Discord answers with the message (200) instead of a 204 that can
      // hide a drop. In the URI and as a query-string overwrite: whether API Gateway keeps a static
      // query of an integration URI is undocumented, the overwrite is documented, and together they
      // send it either way. Slack takes no query (`wait` is Discord's) and answers 200 `ok`.
      const post = kind === 'slack'
        ? new HttpUrlIntegration(`Channel-${channel.name}`, webhook, { method: apigwv2.HttpMethod.POST, parameterMapping: headers() })
        : new HttpUrlIntegration(`Channel-${channel.name}`, `${webhook}?wait=true`, {
          method: apigwv2.HttpMethod.POST,
          parameterMapping: headers().overwriteQueryString('wait', apigwv2.MappingValue.custom('true')),
        });
      const route = this.addRoute(channelRoutePath(channel.name), apigwv2.HttpMethod.POST, post);
      (route.node.defaultChild as apigwv2.CfnRoute).addMetadata(CHANNEL_KIND_METADATA, kind);
      routes.set(channel.name, route);
      kinds.set(channel.name, kind);
      if (channel.editable) {
        // The route's {messageId} is substituted into the integration URI (HTTP API path variables).
        // No `wait`: Edit Webhook Message always answers with the message and documents no such parameter.
        const edit = new HttpUrlIntegration(`Channel-${channel.name}-edit`, `${webhook}/messages/{${MESSAGE_ID_PARAMETER}}`, { method: apigwv2.HttpMethod.PATCH, parameterMapping: headers() });
        editRoutes.set(channel.name, this.addRoute(channelMessageRoutePath(channel.name), apigwv2.HttpMethod.PATCH, edit));
      }
    }
    this.routes = routes;
    this.editRoutes = editRoutes;
    this.kinds = kinds;
  }

  /** The channels whose webhook is a Slack incoming webhook. */
  public get slackChannels(): string[] {
    return [...this.kinds].filter(([, kind]) => kind === 'slack').map(([name]) => name);
  }

  /** The `execute-api` ARN of every edit under `PATCH /channels/<name>/messages/`. */
  public arnForChannelEdits(channelName: string): string {
    if (!this.editRoutes.has(channelName)) throw new Error(`WebhookProxyApi: channel "${channelName}" is not editable; editable: ${[...this.editRoutes.keys()].join(', ') || 'none'}`);
    return this.arnForRoute('PATCH', `${channelMessagesPrefix(channelName)}*`);
  }

  /** Exact `execute-api` ARN of `POST /channels/<name>` on the `$default` stage. */
  public arnForChannel(channelName: string): string {
    if (!this.routes.has(channelName)) throw new Error(`WebhookProxyApi: no channel "${channelName}"; known: ${[...this.routes.keys()].join(', ')}`);
    return this.arnForRoute('POST', channelRoutePath(channelName));
  }

  /** Lets `grantee` post to one channel (and no other). */
  public grantPostToChannel(grantee: iam.IGrantable, channelName: string): iam.Grant {
    this.arnForChannel(channelName); // names the known channels when this one is not
    return this.grantInvoke(grantee, ['POST', channelRoutePath(channelName)]);
  }
}

function validateProps(props: WebhookProxyApiProps): string[] {
  const errors: string[] = [];
  if (props.channels.length === 0) errors.push('channels is empty; add at least one channel');
  const seen = new Set<string>();
  for (const c of props.channels) {
    if (!CHANNEL_NAME_PATTERN.test(c.name)) errors.push(`channel name "${c.name}" must be ${CHANNEL_NAME_RULE}`);
    if (seen.has(c.name)) errors.push(`channel "${c.name}" is listed twice; give each channel one entry`);
    if (c.kind === 'slack' && c.editable) errors.push(`channel "${c.name}" is a Slack channel: a Slack incoming webhook cannot edit a message, so it cannot be editable (no live cards)`);
    seen.add(c.name);
  }
  if (!USER_AGENT_PATTERN.test(props.userAgent)) {
    errors.push(`userAgent "${props.userAgent}" must read "DiscordBot (<url>, <version>)", as Discord requires`);
  }
  return errors;
}
