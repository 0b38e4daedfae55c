/**
 * The Express state machine: Verify → Route (Choice) → Format (Pass) → Post (patched
 * CallApiGatewayHttpApiEndpoint) → Delivered, with every rejection ending in a Fail state named
 * and coded after the `Relay.*` error it carries (docs/architecture.md §2.4).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FixedCallApiGatewayHttpApiEndpoint } from './call-http-api-endpoint';
import { RelayErrorCode, VERIFY_REJECTION_CODES } from '../contracts/errors';
import { parseTemplate, type TemplatePart } from '../contracts/template';
import { channelRoutePath, type EventRoute } from '../contracts/routes';
import { StateName } from '../contracts/state-names';
import type { WebhookProxyApi } from './webhook-proxy-api';

/** Step Functions error names of HTTP answers that are worth retrying. */
export const RETRYABLE_SERVER_ERRORS = ['ApiGateway.500', 'ApiGateway.502', 'ApiGateway.503', 'ApiGateway.504'];

/**
 * Post retries: rate limits and server errors back off exponentially with full jitter, capped.
 * Worst case adds up to 1+2+4+8+16+20 s (429) plus 2+4+8 s (5xx): far inside the 5-minute
 * Express limit. Other answers (400/401/403/404) are final: retrying them only earns a
 * Cloudflare ban.
 */
export const POST_RETRIES: readonly sfn.RetryProps[] = [
  { errors: ['ApiGateway.429'], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 6, maxDelay: Duration.seconds(20), jitterStrategy: sfn.JitterType.FULL },
  { errors: RETRYABLE_SERVER_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 3, maxDelay: Duration.seconds(20), jitterStrategy: sfn.JitterType.FULL },
];

/** Transient Lambda service faults; CDK's default retry for them allows ~2 minutes of backoff, too much here. */
export const VERIFY_RETRY: sfn.RetryProps = {
  errors: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
  interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3, jitterStrategy: sfn.JitterType.FULL,
};

/**
 * Per-attempt limits. With them, the worst case — every attempt timing out, every backoff at its
 * cap — is 4×15+7 s (Verify) plus 10×10+51+14 s (Post) = 232 s, inside the 300 s Express limit.
 */
export const VERIFY_TIMEOUT = Duration.seconds(15);
export const POST_TIMEOUT = Duration.seconds(10);

/** Where the Verify step puts each template field. */
const TEXT_PATH = '$.text';

/**
 * The `content` of a Format state: a `States.Format` call whose arguments are the escaped fields
 * the Verify step produced, so user text is data and never part of the format string.
 */
export function contentParameter(parts: readonly TemplatePart[]): { 'content.$': string } | { content: string } {
  const args = parts.flatMap((p) => ('field' in p ? [`${TEXT_PATH}.${p.field}`] : []));
  if (args.length === 0) return { content: parts.map((p) => ('text' in p ? p.text : '')).join('') };
  // In intrinsic string literals `'`, `{`, `}` and `\` are reserved and escaped with `\`.
  const format = parts.map((p) => ('field' in p ? '{}' : p.text.replace(/['{}\\]/g, '\\$&'))).join('');
  return { 'content.$': `States.Format('${format}', ${args.join(', ')})` };
}

export interface RelayStateMachineProps {
  readonly verifyFunction: lambda.IFunction;
  readonly webhookProxy: WebhookProxyApi;
  /** One per event kind at most; each names a channel of `webhookProxy`. */
  readonly routes: readonly EventRoute[];
  /** @default sfn.LogLevel.ERROR */
  readonly logLevel?: sfn.LogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class RelayStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  /** Post tasks by channel name. */
  public readonly postTasks: ReadonlyMap<string, FixedCallApiGatewayHttpApiEndpoint>;

  constructor(scope: Construct, id: string, props: RelayStateMachineProps) {
    super(scope, id);
    const routes = usableRoutes(props.routes, props.webhookProxy);
    this.node.addValidation({ validate: () => routes.problems });

    const verify = new tasks.LambdaInvoke(this, StateName.Verify, {
      lambdaFunction: props.verifyFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(VERIFY_TIMEOUT),
      comment: 'Checks key id, Ed25519 signature, freshness, size, schema and guild; outputs the normalized event',
    });
    verify.addRetry(VERIFY_RETRY);
    for (const code of VERIFY_REJECTION_CODES) {
      verify.addCatch(new sfn.Fail(this, code, { error: code, causePath: '$.error.Cause' }), { errors: [code], resultPath: '$.error' });
    }
    verify.addCatch(
      new sfn.Fail(this, RelayErrorCode.Internal, { error: RelayErrorCode.Internal, causePath: '$.error.Cause' }),
      { errors: [sfn.Errors.ALL], resultPath: '$.error' },
    );

    const delivered = new sfn.Pass(this, StateName.Delivered, {
      parameters: { 'id.$': '$.id', 'kind.$': '$.kind', 'channel.$': '$.channel', 'status.$': '$.delivery.status', outcome: 'delivered' },
    });
    const deliveryFailed = new sfn.Pass(this, StateName.DescribeDeliveryFailure, {
      parameters: { 'cause.$': "States.Format('{} webhook answered {}: {}', $.channel, $.error.Error, $.error.Cause)" },
    }).next(new sfn.Fail(this, RelayErrorCode.DeliveryFailed, { error: RelayErrorCode.DeliveryFailed, causePath: '$.cause' }));

    const postTasks = new Map<string, FixedCallApiGatewayHttpApiEndpoint>();
    const postFor = (channel: string): FixedCallApiGatewayHttpApiEndpoint => {
      let post = postTasks.get(channel);
      if (!post) {
        post = new FixedCallApiGatewayHttpApiEndpoint(this, StateName.post(channel), {
          apiId: props.webhookProxy.apiId,
          apiStack: Stack.of(props.webhookProxy),
          method: tasks.HttpMethod.POST,
          apiPath: channelRoutePath(channel),
          authType: tasks.AuthType.IAM_ROLE,
          requestBody: sfn.TaskInput.fromJsonPathAt('$.body'),
          resultSelector: { 'status.$': '$.StatusCode' },
          resultPath: '$.delivery',
          // Not retried on timeout: Discord may have posted already.
          taskTimeout: sfn.Timeout.duration(POST_TIMEOUT),
        });
        for (const retry of POST_RETRIES) post.addRetry(retry);
        post.addCatch(deliveryFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
        post.next(delivered);
        postTasks.set(channel, post);
      }
      return post;
    };

    const route = new sfn.Choice(this, StateName.Route, { comment: 'Event kinds without a route are ignored' });
    for (const r of routes.usable) {
      const format = new sfn.Pass(this, StateName.format(r.event), {
        parameters: {
          'id.$': '$.id',
          'kind.$': '$.kind',
          channel: r.channel,
          // `parse: []`: user text can never ping anyone, whatever it contains.
          body: { ...contentParameter(parseTemplate(r.template)), allowed_mentions: { parse: [] } },
        },
      });
      route.when(sfn.Condition.stringEquals('$.kind', r.event), format.next(postFor(r.channel)));
    }
    route.otherwise(
      new sfn.Pass(this, StateName.Ignored, {
        parameters: { 'id.$': '$.id', 'kind.$': '$.kind', outcome: 'ignored', code: RelayErrorCode.Ignored },
      }),
    );
    this.postTasks = postTasks;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing per log group.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-relay`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Discord Event Relay: verify a signed event, route it, format it and post it',
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(verify.next(route)),
      timeout: Duration.minutes(5),
      logs: { destination: this.logGroup, level: props.logLevel ?? sfn.LogLevel.ERROR, includeExecutionData: false },
    });
  }
}

/** The routes a state machine can be built from, and what is wrong with the others. */
function usableRoutes(routes: readonly EventRoute[], proxy: WebhookProxyApi): { usable: EventRoute[]; problems: string[] } {
  const usable: EventRoute[] = [];
  const problems: string[] = routes.length === 0 ? ['routes is empty; add at least one route'] : [];
  const kinds = new Set<string>();
  for (const r of routes) {
    if (kinds.has(r.event)) problems.push(`two routes for ${r.event}; keep one route per event kind`);
    else if (!proxy.routes.has(r.channel)) problems.push(`the ${r.event} route names channel "${r.channel}", which the webhook proxy does not have (known: ${[...proxy.routes.keys()].join(', ')})`);
    else usable.push(r);
    kinds.add(r.event);
  }
  return { usable, problems };
}
