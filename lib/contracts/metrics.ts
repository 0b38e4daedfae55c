/**
 * The relay's own CloudWatch metrics (README "Alarms and dashboard"): what the relay workflow
 * writes and what the monitoring construct alarms on. Built-in service metrics (Step Functions,
 * Lambda, API Gateway, SQS) keep their AWS names and are not listed here.
 */
export const RelayMetric = {
  Namespace: 'DiscordEventRelay',
  /** Count, 1 per heartbeat a forwarder sends (default every 5 minutes). */
  ForwarderHeartbeat: 'ForwarderHeartbeat',
  /** Dimension: the relay's stack name, so that two relays in one account never mask each other. */
  RelayDimension: 'Relay',
} as const;

/** The alarms, by the suffix of their names (`<stack>-<suffix>`): what the monitoring construct creates and relay doctor reads. */
export const AlarmName = {
  RelayExecutionsFailed: 'RelayExecutionsFailed',
  RelayExecutionsTimedOut: 'RelayExecutionsTimedOut',
  DeliveryExecutionsFailed: 'DeliveryExecutionsFailed',
  DeliveryExecutionsTimedOut: 'DeliveryExecutionsTimedOut',
  VerifyErrors: 'VerifyErrors',
  VerifyThrottles: 'VerifyThrottles',
  Ingest5xx: 'Ingest5xx',
  Ingest4xxSpike: 'Ingest4xxSpike',
  Proxy5xx: 'WebhookProxy5xx',
  DeadLetters: 'DeadLetters',
  LaneOldestEvent: 'LaneOldestEvent',
  ForwarderHeartbeatMissing: 'ForwarderHeartbeatMissing',
} as const;
export type AlarmName = (typeof AlarmName)[keyof typeof AlarmName];

/** How much the monitoring construct watches (README "Alarms and dashboard"). */
export const MONITORING_LEVELS = ['essential', 'full'] as const;
export type MonitoringLevel = (typeof MONITORING_LEVELS)[number];

/**
 * The `essential` alarms: only what means events are not reaching Discord — dead letters waiting,
 * delivery failing, the ingest failing, the forwarder silent — and, without lanes, relay
 * executions failing (where delivery happens then). `full` adds the other eight.
 */
export const ESSENTIAL_ALARMS: readonly AlarmName[] = [
  AlarmName.DeadLetters, AlarmName.DeliveryExecutionsFailed, AlarmName.Ingest5xx, AlarmName.ForwarderHeartbeatMissing,
];
