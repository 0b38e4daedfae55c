/**
 * The relay's one config (docs/architecture.md "Config"): its type and validator. Validated at
 * synth (bin/app.ts) and at local start; every problem is reported at once, each naming the field
 * and the fix. Secrets appear by name only.
 *
 * Defaults live where they are used: throttling, log retention and log level in the constructs,
 * the freshness window in the Verify step. This module fills only its own (stack name, callers,
 * operators, channel kind) and checks the rest.
 */
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { EventRoute } from '../contracts/routes';
import type { CommandScope } from '../contracts/interactions';
import type { MonitoringLevel } from '../contracts/metrics';

export { CHANNEL_KINDS, type ChannelKind } from '../contracts/routes';
import type { ChannelKind } from '../contracts/routes';
export const LOG_LEVELS = ['OFF', 'ALL', 'ERROR', 'FATAL'] as const;
export type RelayLogLevel = (typeof LOG_LEVELS)[number];

export interface ChannelConfig {
  /** Name of the Secrets Manager secret whose plain-text value is the webhook URL (no query string). */
  readonly secretName: string;
  /** @default 'discord' */
  readonly kind?: ChannelKind;
}

/**
 * A route as written in the config: `channel` may name several channels (fan-out), and a kind may
 * have several routes, one per channel. Validation turns each into one {@link EventRoute} per
 * channel, in order.
 */
export type RouteConfig = Omit<EventRoute, 'channel'> & { readonly channel: string | readonly string[] };

export interface RelayConfig {
  /** @default 'DiscordEventRelay' */
  readonly stackName?: string;
  /** Channel name → where its webhook URL is kept. */
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  /**
   * Which event kinds go where. A kind may go to several channels (`channel: ['general', 'team']`,
   * or a route per channel), each posting it once; kinds without a route are ignored (`Relay.Ignored`).
   */
  readonly routes: readonly RouteConfig[];
  /** Key id → Ed25519 public key (64 hex). Several at once allow rotation. */
  readonly forwarderKeys: Readonly<Record<string, string>>;
  /** Only events from these guilds are posted. */
  readonly allowedGuildIds: readonly string[];
  /**
   * IAM role or user ARNs (in the deploying account) that get the caller policy attached.
   * @default - none; attach the `CallerPolicyArn` output yourself
   */
  readonly callers?: readonly string[];
  /**
   * IAM role or user ARNs (in the deploying account) that get the operator policy attached: what
   * `relay doctor --stack` needs (read-only, plus the ingest routes for its probe). Add the GitHub
   * deploy role here to run the doctor after each deploy.
   * @default - none; attach the `OperatorPolicyArn` output yourself
   */
  readonly operators?: readonly string[];
  readonly throttling?: {
    /** @default - IngestApi's */
    readonly ingest?: ThrottleSettings;
    /** @default - WebhookProxyApi's */
    readonly webhookProxy?: ThrottleSettings;
  };
  /** State machine log level. @default - RelayStateMachine's (ERROR) */
  readonly logLevel?: RelayLogLevel;
  /** Retention of every log group, in days. @default - each construct's (one month) */
  readonly logRetentionDays?: RetentionDays;
  /** Accepted clock distance of an envelope's `ts`, in seconds. @default - the Verify step's (300) */
  readonly freshnessWindowSeconds?: number;
  /** How long the dedupe table remembers an envelope id, in hours (25-8760). @default - DedupeTable's (48) */
  readonly dedupeRetentionHours?: number;
  /** Deploys from GitHub Actions: adds the `<stackName>DeployRole` stack. @default - no deploy-role stack */
  readonly github?: GitHubDeployConfig;
  /** Alarms, their topic and the dashboard. @default - RelayMonitoring's defaults, no subscription */
  readonly monitoring?: MonitoringConfig;
  /**
   * The Discord application behind `/relay` (opt-out, pause, status): adds the public
   * interactions endpoint and the guild settings table (README "The Discord app").
   * @default - no interactions endpoint, no commands
   */
  readonly discordApp?: DiscordAppConfig;
}

/** As the Developer Portal's General Information page shows them. */
export interface DiscordAppConfig {
  /** The application id (a snowflake). */
  readonly applicationId: string;
  /** The application's public key (64 hex; public, not a secret): what interaction signatures are checked with. */
  readonly publicKey: string;
  /**
   * Name of the Secrets Manager secret holding the bot token, used only at deploy to register the
   * commands (plain text: the token alone).
   * @default - commands are not registered by the deploy; run `relay commands register`
   */
  readonly botTokenSecretName?: string;
  /**
   * `guild`: the commands are registered in each of `allowedGuildIds` (they appear at once);
   * `global`: once, for every server the app is in.
   * @default - DiscordCommands' (DEFAULT_COMMAND_SCOPE, 'guild')
   */
  readonly commandScope?: CommandScope;
}

/** As GitHubDeployRole takes them (the config does not import constructs). */
export const SUBJECT_FORMATS = ['immutable', 'name'] as const;

export interface GitHubDeployConfig {
  /** `owner/name` of the repository whose deploy.yml deploys the relay. */
  readonly repository: string;
  /** How GitHub writes the token's `sub` for this repository (README "Deploy from GitHub Actions"). */
  readonly subjectFormat: (typeof SUBJECT_FORMATS)[number];
  /** Numeric owner id, for `immutable`. */
  readonly ownerId?: string;
  /** Numeric repository id, for `immutable`. */
  readonly repositoryId?: string;
  /** GitHub environments allowed to deploy. @default - GitHubDeployRole's (['production']) */
  readonly environments?: readonly string[];
  /** The account's existing GitHub OIDC provider. @default - create one */
  readonly oidcProviderArn?: string;
}

export interface MonitoringConfig {
  /** Subscribed to the alarm topic (confirm the e-mail AWS sends). @default - no subscription */
  readonly alarmEmail?: string;
  /** A channel of `channels` that alarm changes are also posted to, through the relay's own lane. @default - none */
  readonly alarmChannel?: string;
  /** Minutes without a forwarder heartbeat before its alarm (≥ 2 heartbeat intervals). @default - RelayMonitoring's (15) */
  readonly heartbeatMissingMinutes?: number;
  /** Ingest 4xx answers in 5 minutes that count as a spike. @default - RelayMonitoring's (50) */
  readonly ingestClientErrorThreshold?: number;
  /** `essential` (4 alarms: events not reaching Discord) or `full` (12). @default - RelayMonitoring's ('essential') */
  readonly level?: MonitoringLevel;
  /** The CloudWatch dashboard ($3/month beyond an account's first three). @default - RelayMonitoring's (none) */
  readonly dashboard?: boolean;
}

/** A checked config, with the config's own defaults filled in. */
export interface ResolvedRelayConfig extends Omit<RelayConfig, 'routes'> {
  readonly stackName: string;
  /** One route per (event kind, channel), in the config's order. */
  readonly routes: readonly EventRoute[];
  readonly channels: Readonly<Record<string, Required<ChannelConfig>>>;
  readonly callers: readonly string[];
  readonly operators: readonly string[];
}

export const DEFAULT_STACK_NAME = 'DiscordEventRelay';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `routes[1].channel`. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

export class RelayConfigError extends Error {
  constructor(public readonly problems: readonly ConfigProblem[], source = 'relay config') {
    super(
      `Invalid ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.problem}. Fix: ${p.fix}`).join('\n'),
    );
    this.name = 'RelayConfigError';
  }
}
