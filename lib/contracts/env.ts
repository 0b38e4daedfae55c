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
