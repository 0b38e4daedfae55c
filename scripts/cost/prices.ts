/**
 * Public AWS list prices the cost model uses: us-east-1, on-demand, without free tiers. Taken on
 * 2026-11-21 from the pages named (stored copies: this machine reaches no AWS site); AWS changes
 * them, so re-check before you rely on a figure. Each entry names its unit.
 */
export const PRICES_TAKEN = '2026-11-21';
export const PRICES_REGION = 'us-east-1';

export const PRICES = {
  httpApiPerMillion: { usd: 1.0, source: 'https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300M requests)' },
  expressRequestPerMillion: { usd: 1.0, source: 'https://aws.amazon.com/step-functions/pricing/ (Express: requests)' },
  expressGbSecond: { usd: 0.00001667, source: 'https://aws.amazon.com/step-functions/pricing/ (Express: duration, first tier; rounded up to 100 ms, memory in 64 MB chunks)' },
  lambdaRequestPerMillion: { usd: 0.2, source: 'https://aws.amazon.com/lambda/pricing/' },
  lambdaArmGbSecond: { usd: 0.0000133334, source: 'https://aws.amazon.com/lambda/pricing/ (Arm, first tier; 1 ms granularity)' },
  dynamoWritePerMillion: { usd: 0.625, source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (write request units, since Nov 2024)' },
  dynamoReadPerMillion: { usd: 0.125, source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (read request units; a strongly consistent read ≤ 4 KB is 1)' },
  sqsFifoPerMillion: { usd: 0.5, source: 'https://aws.amazon.com/sqs/pricing/ (FIFO requests, 64 KB chunks)' },
  pipesPerMillion: { usd: 0.4, source: 'https://aws.amazon.com/eventbridge/pricing/ (Pipes requests, 64 KB chunks)' },
  eventBridgeCustomEventsPerMillion: { usd: 1.0, source: 'https://aws.amazon.com/eventbridge/pricing/ (custom events published)' },
  apiDestinationPerMillion: { usd: 0.2, source: 'https://aws.amazon.com/eventbridge/pricing/ (API destinations invocations)' },
  logsIngestPerGb: { usd: 0.5, source: 'https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard ingestion)' },
  alarmMonth: { usd: 0.1, source: 'https://aws.amazon.com/cloudwatch/pricing/ (standard-resolution alarm)' },
  customMetricMonth: { usd: 0.3, source: 'https://aws.amazon.com/cloudwatch/pricing/ (first 10,000 metrics)' },
  dashboardMonth: { usd: 3.0, source: 'https://aws.amazon.com/cloudwatch/pricing/ (the first 3 dashboards of an account are free)' },
  secretMonth: { usd: 0.4, source: 'https://aws.amazon.com/secrets-manager/pricing/' },
} as const;

/**
 * The always-free allowances, per month, that the relay's usage draws on (the same for accounts
 * on AWS's credit-based plans since 15 July 2025, which keep the always-free offers). Not in
 * here: the 12-month HTTP API allowance (1M calls, accounts from before 15 July 2025 only) and
 * DynamoDB's free capacity (provisioned mode only; the relay's tables are on demand).
 */
export const FREE_TIER = {
  httpApiRequests: { amount: 0, source: 'https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs: 1M calls a month for 12 months, new customers only: not always free)' },
  lambdaRequests: { amount: 1_000_000, source: 'https://aws.amazon.com/lambda/pricing/ (free tier: 1M requests a month)' },
  lambdaGbSeconds: { amount: 400_000, source: 'https://aws.amazon.com/lambda/pricing/ (free tier: 400,000 GB-seconds a month)' },
  sqsRequests: { amount: 1_000_000, source: 'https://aws.amazon.com/sqs/pricing/ (1M requests a month, Standard and FIFO)' },
  logsGb: { amount: 5, source: 'https://aws.amazon.com/cloudwatch/pricing/ (free tier: 5 GB of log data)' },
  dataOutGb: { amount: 100, source: 'https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer out: 100 GB a month free)' },
  alarms: { amount: 10, source: 'https://aws.amazon.com/cloudwatch/pricing/ (free tier: 10 alarm metrics, standard resolution)' },
  customMetrics: { amount: 10, source: 'https://aws.amazon.com/cloudwatch/pricing/ (free tier: 10 custom or detailed metrics)' },
  dashboards: { amount: 3, source: 'https://aws.amazon.com/cloudwatch/pricing/ (free tier: 3 dashboards of up to 50 metrics)' },
} as const;

/** No allowance: list prices. */
export const NO_FREE_TIER: { readonly [K in keyof typeof FREE_TIER]: { readonly amount: number } } = Object.fromEntries(
  Object.keys(FREE_TIER).map((k) => [k, { amount: 0 }]),
) as never;
