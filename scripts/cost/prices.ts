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
  putMetricDataPerThousand: { usd: 0.01, source: 'https://aws.amazon.com/cloudwatch/pricing/ (API requests)' },
  dashboardMonth: { usd: 3.0, source: 'https://aws.amazon.com/cloudwatch/pricing/ (the first 3 dashboards of an account are free)' },
  secretMonth: { usd: 0.4, source: 'https://aws.amazon.com/secrets-manager/pricing/' },
} as const;
