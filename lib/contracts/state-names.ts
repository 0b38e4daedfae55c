/**
 * State names of the relay and delivery state machines: what the console shows, what the
 * constructs create, and what local runs and tests address states by. Here, not in the
 * constructs, so local mode and the tests need not load aws-cdk-lib to name a state.
 */
export const StateName = {
  Receive: 'Receive',
  Verify: 'Verify',
  Route: 'Route',
  Ignored: 'Ignored',
  Delivered: 'Delivered',
  RecordHeartbeat: 'Record heartbeat',
  HeartbeatRecorded: 'Heartbeat recorded',
  DescribeDeliveryFailure: 'Describe delivery failure',
  format: (event: string) => `Format ${event}`,
  enough: (event: string) => `Enough people for ${event}?`,
  belowMinimum: (event: string) => `Too few for ${event}`,
  post: (channel: string) => `Post to ${channel}`,
  // Lanes: claim the id, queue the event.
  Claim: 'Claim id',
  Duplicate: 'Duplicate',
  Enqueue: 'Enqueue',
  ReleaseClaim: 'Release claim',
  DescribeEnqueueFailure: 'Describe enqueue failure',
  MarkQueued: 'Mark queued',
  Queued: 'Queued',
} as const;

/** States of the delivery state machine (one execution per batch taken from the lanes). */
export const DeliveryStateName = {
  LookUpClaims: 'Look up claims',
  ReadClaim: 'Read claim',
  Coalesce: 'Coalesce',
  PostEach: 'Post each message',
  PickWebhook: 'Pick webhook',
  post: (channel: string) => `Post to ${channel}`,
  Pace: 'Pace',
  PaceAfter429: 'Pace after 429',
  CountAttempt: 'Count attempt',
  RetryOrGiveUp: 'Retry or give up',
  WaitRetryAfter: 'Wait retry_after',
  MarkDelivered: 'Mark delivered',
  MarkOne: 'Mark one delivered',
  BucketEmpty: 'Bucket empty?',
  WaitForBucket: 'Wait for bucket',
  Posted: 'Posted',
  NoRoute: 'No route',
  DescribeRefusal: 'Describe refusal',
  DeadLetter: 'Dead-letter',
  DeadLetterOne: 'Dead-letter one',
  DeadLettered: 'Dead-lettered',
  RateLimited: 'Still rate limited',
  Done: 'Done',
} as const;
