/**
 * The relay stack's CloudFormation outputs (README "Outputs"): what `cdk deploy` prints, what the
 * deploy job's summary lists, and what `relay doctor --stack` reads with DescribeStacks. The
 * stack creates them under these keys; nothing else spells them.
 */
export const StackOutput = {
  /** POST signed envelopes to `<IngestUrl>/events` (or `/events/sync`). */
  IngestUrl: 'IngestUrl',
  StateMachineArn: 'StateMachineArn',
  WebhookProxyUrl: 'WebhookProxyUrl',
  /** The managed policy a forwarder's (or any caller's) identity needs. */
  CallerPolicyArn: 'CallerPolicyArn',
  /** The managed policy `relay doctor` needs: read-only calls plus the caller routes for its probe. */
  OperatorPolicyArn: 'OperatorPolicyArn',
  AlarmTopicArn: 'AlarmTopicArn',
  /** One item per forwarder, its last heartbeat; ForwarderHeartbeatMissing watches the table's writes. */
  HeartbeatTableName: 'HeartbeatTableName',
  /** With `monitoring.dashboard` only. */
  DashboardName: 'DashboardName',
  /** Lanes only (absent with direct delivery). */
  DeadLetterQueueUrl: 'DeadLetterQueueUrl',
  LaneQueueArn: 'LaneQueueArn',
  LaneQueueUrl: 'LaneQueueUrl',
  LanePipeName: 'LanePipeName',
  DedupeTableName: 'DedupeTableName',
  /** With `discordApp` only: the Interactions Endpoint URL for the Developer Portal. */
  InteractionsUrl: 'InteractionsUrl',
  GuildSettingsTableName: 'GuildSettingsTableName',
} as const;
export type StackOutput = (typeof StackOutput)[keyof typeof StackOutput];

/** CloudFormation's rule for a stack name: a letter, then up to 127 letters, digits and dashes. */
export const STACK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
