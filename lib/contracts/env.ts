/**
 * Environment variable names shared by the stack (which sets them) and the Lambda handlers (which
 * read them). Values are never secrets: public keys and guild ids only.
 */
export const VerifyEnv = {
  /** JSON object `{ "<kid>": "<64 hex chars>" }`: the Ed25519 public keys accepted. */
  PublicKeys: 'RELAY_PUBLIC_KEYS',
  /** Comma-separated snowflake ids of the guilds whose events are accepted. */
  AllowedGuildIds: 'RELAY_ALLOWED_GUILD_IDS',
  /** Accepted distance between an envelope's `ts` and the clock, in seconds. */
  FreshnessSeconds: 'RELAY_FRESHNESS_SECONDS',
} as const;

/** The Interactions function's settings (all public: ids, a public key, resource names). */
export const InteractionsEnv = {
  /** The application's Ed25519 public key (64 hex), from the Developer Portal. */
  PublicKey: 'RELAY_DISCORD_PUBLIC_KEY',
  ApplicationId: 'RELAY_DISCORD_APPLICATION_ID',
  /** Comma-separated: commands from other guilds are refused. */
  AllowedGuildIds: 'RELAY_ALLOWED_GUILD_IDS',
  /** The guild settings table (opt-outs, pauses). */
  SettingsTable: 'RELAY_GUILD_SETTINGS_TABLE',
  /** `/relay status` reads these: the lane and dead-letter queue URLs, the delivery workflow, and the heartbeat table (its write metric's dimension). */
  LaneQueueUrl: 'RELAY_LANE_QUEUE_URL',
  DeadLetterQueueUrl: 'RELAY_DEAD_LETTER_QUEUE_URL',
  DeliveryStateMachineArn: 'RELAY_DELIVERY_STATE_MACHINE_ARN',
  HeartbeatTable: 'RELAY_HEARTBEAT_TABLE',
} as const;
