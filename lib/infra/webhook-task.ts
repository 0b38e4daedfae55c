/**
 * One request of the delivery workflow to a Discord webhook through the webhook proxy: the patched
 * CallApiGatewayHttpApiEndpoint with the workflow's retries and catches (5xx retried, 429 paced,
 * permanent refusals dead-lettered), then Pace. Posts of messages and of cards, and card edits, are
 * all built here.
 */
import { Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { FixedCallApiGatewayHttpApiEndpoint } from './call-http-api-endpoint';
import { POST_TIMEOUT } from './task-retries';
import type { WebhookProxyApi } from './webhook-proxy-api';

/** Where a webhook request's answer goes. */
export interface WebhookTargets {
  readonly pace: sfn.IChainable;
  readonly rateLimited: sfn.IChainable;
  readonly refused: sfn.IChainable;
  readonly refusals: readonly string[];
  readonly serverErrorRetry: sfn.RetryProps;
  /** Errors caught before the others, each with its handler (a card edit's 404). */
  readonly extraCatches?: ReadonlyArray<{ readonly errors: readonly string[]; readonly handler: sfn.IChainable }>;
}

export interface WebhookTaskProps {
  readonly proxy: WebhookProxyApi;
  readonly method: tasks.HttpMethod;
  readonly apiPath: string;
  readonly resultSelector: Record<string, string>;
  readonly targets: WebhookTargets;
}

export function webhookTask(scope: Construct, id: string, props: WebhookTaskProps): FixedCallApiGatewayHttpApiEndpoint {
  const task = new FixedCallApiGatewayHttpApiEndpoint(scope, id, {
    apiId: props.proxy.apiId,
    apiStack: Stack.of(props.proxy),
    method: props.method,
    apiPath: props.apiPath,
    authType: tasks.AuthType.IAM_ROLE,
    requestBody: sfn.TaskInput.fromJsonPathAt('$.message.body'),
    resultSelector: props.resultSelector,
    resultPath: '$.answer',
    // Not retried on timeout: Discord may have posted already.
    taskTimeout: sfn.Timeout.duration(POST_TIMEOUT),
  });
  const { targets } = props;
  task.addRetry(targets.serverErrorRetry);
  const handled = new Set<string>();
  for (const c of targets.extraCatches ?? []) {
    task.addCatch(c.handler, { errors: [...c.errors], resultPath: '$.answer' });
    c.errors.forEach((e) => handled.add(e));
  }
  task.addCatch(targets.rateLimited, { errors: ['ApiGateway.429'], resultPath: '$.answer' });
  task.addCatch(targets.refused, { errors: targets.refusals.filter((e) => !handled.has(e)), resultPath: '$.answer' });
  task.next(targets.pace);
  return task;
}
