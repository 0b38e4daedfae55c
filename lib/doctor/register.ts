/**
 * Rows of the register of outside behaviour (docs/architecture.md §4a) that doctor results point
 * at. Each value is the row's name as the register's first column spells it; a test checks that
 * every one is there.
 */
export const REGISTER = {
  IngestTrust: 'ingest trust',
  IngestAuth: 'IAM auth answers',
  SyncStart: 'sync start',
  InvokeArn: 'execute-api ARN',
  ProxyHeaders: 'proxy headers',
  DiscordAuthorization: 'Discord Authorization',
  DiscordCodes: 'Discord 10008/10015',
  DiscordRateLimits: 'Discord rate limits',
  SlackAnswers: 'Slack webhook answers',
  PipeStart: 'pipe start',
  PipeState: 'pipe state',
  SqsMetrics: 'SQS metrics',
  StackOutputs: 'stack outputs',
  OperatorReads: 'operator reads',
  InteractionSignature: 'interaction signature',
  InteractionAnswers: 'interaction answers',
  Payload2: 'payload 2.0',
} as const;
