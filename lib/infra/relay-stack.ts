/**
 * The relay: ingest API → relay workflow (Verify, Route, Format, Claim id, Enqueue) → delivery
 * lanes (SQS FIFO) → pipe → delivery workflow (Coalesce, Post, Pace) → webhook proxy API →
 * Discord. Everything is derived from one validated config.
 */
import { Arn, ArnFormat, CfnOutput, Duration, Stack, Token, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { VerifyEnv } from '../contracts/env';
import { IngestApi } from './ingest-api';
import { DISCORD_USER_AGENT, lambdaEntry } from '../project-files';
import type { ResolvedRelayConfig } from '../config/relay-config';
import { RelayFunction } from './relay-function';
import { RelayStateMachine } from './relay-state-machine';
import { DedupeTable } from './dedupe-table';
import { DeliveryLane } from './delivery-lane';
import { DeliveryStateMachine } from './delivery-state-machine';
import { LanePipe } from './lane-pipe';
import { WebhookProxyApi } from './webhook-proxy-api';
import { RelayMonitoring } from './relay-monitoring';
import { RelayOperatorPolicy } from './operator-policy';
import { StackOutput } from '../contracts/outputs';
import { GuildSettingsTable } from './guild-settings-table';
import { HeartbeatTable } from './heartbeat-table';
import { InteractionsApi } from './interactions-api';
import { DiscordCommands } from './discord-commands';

export interface RelayStackProps extends StackProps {
  readonly config: ResolvedRelayConfig;
  /**
   * Sent to Discord as `User-Agent: DiscordBot (<url>, <version>)`.
   * @default - this package's repository URL and version
   */
  readonly userAgent?: string;
  /**
   * Post from the relay workflow, one message per event, with no dedupe and no pacing: the
   * pre-lanes design, kept so that the bench can compare the two in one run.
   * @default false
   */
  readonly directDelivery?: boolean;
}

export const DEFAULT_USER_AGENT = DISCORD_USER_AGENT;

export class RelayStack extends Stack {
  public readonly verifyFunction: RelayFunction;
  public readonly webhookProxy: WebhookProxyApi;
  public readonly relay: RelayStateMachine;
  public readonly ingest: IngestApi;
  /** Undefined with `directDelivery`. */
  public readonly lanes?: { dedupe: DedupeTable; lane: DeliveryLane; delivery: DeliveryStateMachine; pipe: LanePipe };
  /** Each forwarder's last heartbeat; the heartbeat alarm watches its writes. */
  public readonly heartbeats: HeartbeatTable;
  public readonly monitoring: RelayMonitoring;
  /** What `relay doctor --stack` needs (output `OperatorPolicyArn`). */
  public readonly operatorPolicy: RelayOperatorPolicy;
  /** With `discordApp` only: the `/relay` endpoint and the guild settings it writes. */
  public readonly discordApp?: { settings: GuildSettingsTable; interactions: InteractionsApi; commands?: DiscordCommands };

  constructor(scope: Construct, id: string, props: RelayStackProps) {
    super(scope, id, { description: 'Discord Event Relay: signed Discord gateway events to channel messages', ...props });
    const { config } = props;
    const retention = config.logRetentionDays;

    this.verifyFunction = new RelayFunction(this, 'VerifyFunction', {
      entry: lambdaEntry('verify'),
      description: 'Discord Event Relay: verifies signed envelopes',
      environment: {
        [VerifyEnv.PublicKeys]: JSON.stringify(config.forwarderKeys),
        [VerifyEnv.AllowedGuildIds]: config.allowedGuildIds.join(','),
        // Unset: the Verify step's own default window.
        ...(config.freshnessWindowSeconds === undefined ? {} : { [VerifyEnv.FreshnessSeconds]: String(config.freshnessWindowSeconds) }),
      },
      logRetention: retention,
    });

    // Channels that hold live cards get the edit route.
    const carded = new Set(config.routes.filter((r) => r.mode === 'card').map((r) => r.channel));
    this.webhookProxy = new WebhookProxyApi(this, 'WebhookProxy', {
      channels: Object.entries(config.channels).map(([name, channel]) => ({
        name,
        webhookUrlSecret: secretsmanager.Secret.fromSecretNameV2(this, `Webhook-${name}`, channel.secretName),
        editable: carded.has(name),
        kind: channel.kind,
      })),
      userAgent: props.userAgent ?? DEFAULT_USER_AGENT,
      throttle: config.throttling?.webhookProxy,
      logRetention: retention,
    });

    const settings = config.discordApp && new GuildSettingsTable(this, 'GuildSettings');
    this.lanes = props.directDelivery ? undefined : this.createLanes(config, settings);
    this.heartbeats = new HeartbeatTable(this, 'Heartbeats');
    this.relay = new RelayStateMachine(this, 'Relay', {
      verifyFunction: this.verifyFunction,
      heartbeatTable: this.heartbeats.table,
      webhookProxy: this.webhookProxy,
      routes: config.routes,
      lanes: this.lanes,
      guildSettings: settings?.table,
      logLevel: config.logLevel && sfn.LogLevel[config.logLevel],
      logRetention: retention,
    });
    // An update reaches the delivery workflow first: lane events a new relay workflow writes (one
    // copy per channel) are only ever read by a delivery workflow that marks each channel delivered.
    if (this.lanes) this.relay.stateMachine.node.addDependency(this.lanes.delivery.stateMachine);

    this.ingest = new IngestApi(this, 'Ingest', {
      stateMachine: this.relay.stateMachine,
      throttle: config.throttling?.ingest,
      logRetention: retention,
    });

    if (config.discordApp && settings) {
      const interactions = new InteractionsApi(this, 'Interactions', {
        publicKey: config.discordApp.publicKey,
        applicationId: config.discordApp.applicationId,
        allowedGuildIds: config.allowedGuildIds,
        settings,
        lane: this.lanes?.lane,
        deliveryWorkflow: this.lanes?.delivery.stateMachine,
        heartbeatTable: this.heartbeats.table,
        logRetention: retention,
      });
      const app = config.discordApp;
      // Without a token secret the commands are registered from a workstation (`relay commands register`).
      const commands = app.botTokenSecretName ? new DiscordCommands(this, 'DiscordCommands', {
        applicationId: app.applicationId,
        botTokenSecret: secretsmanager.Secret.fromSecretNameV2(this, 'BotToken', app.botTokenSecretName),
        scope: app.commandScope,
        guildIds: config.allowedGuildIds,
        logRetention: retention,
      }) : undefined;
      this.discordApp = { settings, interactions, commands };
    }

    this.operatorPolicy = new RelayOperatorPolicy(this, 'Operator', { ingest: this.ingest, lanes: this.lanes });
    config.callers.forEach((arn, i) => this.attachPolicy(this.ingest.callerPolicy, 'callers', arn, i));
    config.operators.forEach((arn, i) => this.attachPolicy(this.operatorPolicy.policy, 'operators', arn, i));

    const monitoring = config.monitoring ?? {};
    this.monitoring = new RelayMonitoring(this, 'Monitoring', {
      relayWorkflow: this.relay.stateMachine,
      deliveryWorkflow: this.lanes?.delivery.stateMachine,
      verifyFunction: this.verifyFunction,
      ingestApi: this.ingest,
      webhookProxyApi: this.webhookProxy,
      lane: this.lanes?.lane,
      forwarderHeartbeat: this.heartbeats.metricHeartbeats(),
      heartbeatMissingAfter: monitoring.heartbeatMissingMinutes === undefined ? undefined : Duration.minutes(monitoring.heartbeatMissingMinutes),
      ingestClientErrorThreshold: monitoring.ingestClientErrorThreshold,
      alarmEmail: monitoring.alarmEmail,
      alarmNotices: monitoring.alarmChannel && this.lanes ? { lane: this.lanes.lane, channel: monitoring.alarmChannel } : undefined,
      level: monitoring.level,
      dashboard: monitoring.dashboard,
    });

    const output = (key: StackOutput, value: string, description?: string) => new CfnOutput(this, key, { value, description });
    output(StackOutput.IngestUrl, this.ingest.url, 'POST signed envelopes to <IngestUrl>/events (or /events/sync)');
    output(StackOutput.StateMachineArn, this.relay.stateMachine.stateMachineArn);
    output(StackOutput.WebhookProxyUrl, this.webhookProxy.url, 'The inner API the delivery workflow posts through (SECURITY.md: who else can call it)');
    output(StackOutput.CallerPolicyArn, this.ingest.callerPolicy.managedPolicyArn, 'Attach to the IAM role or user your forwarder signs requests with');
    output(StackOutput.OperatorPolicyArn, this.operatorPolicy.policy.managedPolicyArn, 'Attach to whoever runs `relay doctor --stack` (read-only, plus the ingest routes for its probe)');
    output(StackOutput.HeartbeatTableName, this.heartbeats.table.tableName, "Each forwarder's last heartbeat (relay doctor reads its write metric)");
    output(StackOutput.AlarmTopicArn, this.monitoring.topic.topicArn, 'Every alarm notifies this SNS topic (subscribe more endpoints to it)');
    if (this.monitoring.dashboard) output(StackOutput.DashboardName, this.monitoring.dashboard.dashboard.dashboardName, 'CloudWatch dashboard of the relay');
    if (this.lanes) {
      const { lane, pipe, dedupe } = this.lanes;
      output(StackOutput.DeadLetterQueueUrl, lane.deadLetterQueue.queueUrl, 'Events Discord refused or that kept failing (README "Dead letters")');
      output(StackOutput.LaneQueueArn, lane.queue.queueArn, 'Redrive target for the dead-letter queue');
      output(StackOutput.LaneQueueUrl, lane.queue.queueUrl, 'The delivery lanes (one FIFO queue, a message group per channel)');
      output(StackOutput.LanePipeName, pipe.pipe.ref, 'The EventBridge Pipe that drains the lanes into the delivery workflow');
      output(StackOutput.DedupeTableName, dedupe.table.tableName, 'Envelope ids claimed, queued and delivered');
    }
    if (this.discordApp) {
      output(StackOutput.InteractionsUrl, this.discordApp.interactions.interactionsUrl, 'Paste into the Developer Portal as the Interactions Endpoint URL (README "The Discord app")');
      output(StackOutput.GuildSettingsTableName, this.discordApp.settings.table.tableName, 'Opt-outs and pauses per guild (kept when the stack is deleted)');
    }
  }

  private createLanes(config: ResolvedRelayConfig, settings: GuildSettingsTable | undefined): NonNullable<RelayStack['lanes']> {
    const retention = config.logRetentionDays;
    const logLevel = config.logLevel && sfn.LogLevel[config.logLevel];
    const dedupe = new DedupeTable(this, 'Dedupe', {
      retention: config.dedupeRetentionHours === undefined ? undefined : Duration.hours(config.dedupeRetentionHours),
    });
    const lane = new DeliveryLane(this, 'Lane');
    const fn = (id: string, name: string, description: string) => new RelayFunction(this, id, { entry: lambdaEntry(name), description, logRetention: retention });
    const delivery = new DeliveryStateMachine(this, 'Delivery', {
      coalesceFunction: fn('CoalesceFunction', 'coalesce', 'Discord Event Relay: coalesces a batch of lane events into Discord messages'),
      paceFunction: fn('PaceFunction', 'pace', "Discord Event Relay: how long to wait after Discord's answer"),
      cardFunction: this.webhookProxy.editRoutes.size > 0 ? fn('CardFunction', 'card', 'Discord Event Relay: renders live voice cards') : undefined,
      webhookProxy: this.webhookProxy,
      dedupe,
      lane,
      guildSettings: settings?.table,
      logLevel,
      logRetention: retention,
    });
    const pipe = new LanePipe(this, 'LanePipe', { lane, delivery });
    return { dedupe, lane, delivery, pipe };
  }

  /** Attaches `policy` to a role or user of this account named in the config's `field`. */
  private attachPolicy(policy: iam.ManagedPolicy, field: 'callers' | 'operators', arn: string, index: number): void {
    const { account, resource } = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME);
    if (!Token.isUnresolved(this.account) && account !== this.account) {
      throw new Error(
        `${field}[${index}] (${arn}) is in account ${account}, but the stack deploys to ${this.account}: ` +
          'a policy can only be attached in its own account. Deploy the policy statement in that account instead.',
      );
    }
    const id = `${field === 'callers' ? 'Caller' : 'Operator'}${index}`;
    if (resource === 'role') policy.attachToRole(iam.Role.fromRoleArn(this, id, arn, { mutable: false }));
    else policy.attachToUser(iam.User.fromUserArn(this, id, arn));
  }
}
