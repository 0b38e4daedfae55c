/**
 * Forwarder heartbeats (README "Alarms and dashboard"). The relay workflow writes each one as the
 * forwarder's item in the heartbeat table (one item per forwarder, overwritten every 5 minutes),
 * and ForwarderHeartbeatMissing watches the table's own write metric, which AWS publishes free:
 * no custom metric. Only heartbeats write to that table, so nothing else (a doctor probe, a
 * `relay send`) can stand in for a live forwarder.
 */
export const HeartbeatAttribute = {
  /** Partition key: the envelope's `forwarder`. */
  Forwarder: 'forwarder',
  /** When the relay workflow wrote it (ISO 8601: its execution's start). */
  At: 'at',
  /** The key id the heartbeat was signed with. */
  Kid: 'kid',
  /** Epoch seconds after which DynamoDB's TTL deletes the item: a forwarder gone (or renamed) for {@link HEARTBEAT_RETENTION_DAYS} days. */
  ExpiresAt: 'expiresAt',
} as const;

/** How long a forwarder's last heartbeat is kept after it stopped sending them. */
export const HEARTBEAT_RETENTION_DAYS = 30;

/** The AWS metric of the heartbeat table that says heartbeats arrive (Sum per period; none is missing data). */
export const ForwarderHeartbeatMetric = {
  Namespace: 'AWS/DynamoDB',
  MetricName: 'ConsumedWriteCapacityUnits',
  /** Its dimension's name; the value is the heartbeat table's name (output HeartbeatTableName). */
  TableDimension: 'TableName',
} as const;

/**
 * The custom metric relays deployed before the heartbeat table wrote (PutMetricData per heartbeat,
 * $0.30 a month). Read only by `relay doctor` for such a stack.
 */
export const LegacyRelayMetric = {
  Namespace: 'DiscordEventRelay',
  ForwarderHeartbeat: 'ForwarderHeartbeat',
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
