/**
 * Retries and per-attempt timeouts of the state machines' tasks: one place, so the worst cases
 * stay inside the 5-minute Express limit and both workflows retry a service the same way.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

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

/** Errors a DynamoDB task may succeed after. */
/**
 * A DynamoDB error by both of the spellings Step Functions is seen to use: `DynamoDB.<Exception>`
 * (public state machines catch it from the optimized integration) and `DynamoDb.<Exception>`
 * (the AWS SDK integration's). Which one the optimized integration raises is not documented, so
 * the relay names both (register row "DynamoDB error names").
 */
export function dynamoDbErrors(...exceptions: string[]): string[] {
  return exceptions.flatMap((e) => [`DynamoDB.${e}`, `DynamoDb.${e}`]);
}

/**
 * Every DynamoDB write the relay times out is safe to repeat (the claim passes only its own queued
 * item; the release finds it gone), so a timed-out attempt is retried too. Tasks without a
 * timeout (the delivery workflow's, the card steps') never raise States.Timeout.
 */
export const DYNAMODB_RETRY: sfn.RetryProps = {
  errors: [...dynamoDbErrors('ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'ThrottlingException', 'InternalServerErrorException', 'AmazonDynamoDBException'), sfn.Errors.TIMEOUT],
  interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3, jitterStrategy: sfn.JitterType.FULL,
};
/** Per attempt, on the relay workflow's tasks before the send: bounds the claim takeover's timing (worstCaseSeconds). */
export const DYNAMODB_TIMEOUT = Duration.seconds(2);

/** Sending to a FIFO lane is safe to repeat: the envelope id is the deduplication id. */
export const ENQUEUE_RETRY: sfn.RetryProps = {
  errors: [sfn.Errors.TASKS_FAILED, sfn.Errors.TIMEOUT], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3, jitterStrategy: sfn.JitterType.FULL,
};
export const ENQUEUE_TIMEOUT = Duration.seconds(10);
/** The envelope's one SendMessageBatch: a single attempt, whose failure sends each event alone (with ENQUEUE_RETRY). */
export const ENQUEUE_TOGETHER_TIMEOUT = Duration.seconds(5);

/**
 * The longest a task with this per-attempt timeout and retry can take: every attempt timing out,
 * every backoff at its cap (full jitter only shortens them).
 */
export function worstCaseSeconds(timeout: Duration, retry: sfn.RetryProps): number {
  const retries = retry.maxAttempts ?? 3;
  const interval = (retry.interval ?? Duration.seconds(1)).toSeconds();
  const cap = retry.maxDelay?.toSeconds() ?? Infinity;
  let backoff = 0;
  for (let i = 0; i < retries; i++) backoff += Math.min(cap, interval * (retry.backoffRate ?? 2) ** i);
  return (retries + 1) * timeout.toSeconds() + backoff;
}
