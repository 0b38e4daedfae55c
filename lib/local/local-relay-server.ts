/**
 * `relay local`: the relay on one machine, built from the synthesized template (no hand-copied ASL
 * or settings), wired from one emulator per service:
 *
 *   IngestApiEmulator (SigV4 like AWS_IAM) → relay workflow (aws-local-stepfunctions, real Verify handler)
 *     → dedupe table (dynalite) + lane (journaled FIFO queue) → pipe → delivery workflow (real Coalesce/Pace handlers)
 *     → WebhookProxyEmulator (SigV4, header overwrites, `?wait=true`) → a real webhook, or the DiscordSink.
 */
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { closeIdleConnections } from '../client/http';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../config/load';
import { createHandler } from '../verify/handler';
import { DISCORD_WEBHOOK_RATE_LIMIT, DiscordSink, type RateLimit } from './discord-sink';
import { close, listen, PortInUseError } from './http-util';
import { IngestApiEmulator } from './ingest-api-emulator';
import { synthesizeLocalTemplate } from './local-app';
import { LocalDynamoDb } from './dynamodb-emulator';
import { loadLocalAppKey, loadLocalIdentity } from './local-identity';
import { InteractionsRoutes } from './interactions-routes';
import { DEFAULT_LOCAL_PORT, LOCAL_REGION, STATE_DIR, STOP_GRACE_MS, writeLocalSettings, type LocalSettings } from './local-settings';
import { createProxyCaller } from './proxy-caller';
import { redactSecrets } from '../contracts/redact';
import { LocalStateMachine } from './state-machine-runner';
import { LocalLanes, hasLanes } from './local-lanes';
import { StateName } from '../contracts/state-names';
import { SigV4Verifier } from './sigv4-verifier';
import { SinkRoutes } from './sink-routes';
import { SLACK_WEBHOOK_RATE_LIMIT, SlackSink } from './slack-sink';
import type { ChannelKind } from '../contracts/routes';
import { LaneRoutes } from './lane-routes';
import { StatusRoutes } from './status-routes';
import { dedupeTableId, functionEnvironment, heartbeatAlarmWindowMinutes, heartbeatTableId, tableSpecs, ingestRoutes, lambdaProxyRoutes, stateMachineDefinition, webhookProxyRoutes, type CfnTemplate } from './synthesized-template';
import { WebhookDestinations } from './webhook-destinations';
import { WebhookProxyEmulator } from './webhook-proxy-emulator';
import { StateLock } from './state-lock';
import { VerifyEnv } from '../contracts/env';

export { PortInUseError };
export { RelayRunningError } from './state-lock';
const ACCOUNT = '123456789012';

export interface LocalRelayServerOptions {
  /** @default 'config/relay.config.ts' */
  readonly configPath?: string;
  /** Ingest API (and sink) port; 0 for any free port. @default DEFAULT_LOCAL_PORT (8787) */
  readonly port?: number;
  /** Webhook proxy port. @default - any free port */
  readonly proxyPort?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Where local.json, the local key and secrets.json live. @default '.relay' */
  readonly stateDir?: string;
  /** The sink's per-webhook limit, or false for none. @default 5 requests per 2 s */
  readonly sinkRateLimit?: RateLimit | false;
  /** Replaces the tasks' Retry pauses (ms), to shorten tests. @default - the definition's real backoff */
  readonly retryPauseMs?: number;
  /** Replaces the lane's visibility timeout (ms), to shorten tests. @default - the template's (3 minutes) */
  readonly laneVisibilityTimeoutMs?: number;
  /** Run the pre-lanes design (one post per execution, no dedupe): for the bench's comparison. @default false */
  readonly directDelivery?: boolean;
  /** Where one readable line per delivery or rejection goes. @default console.log */
  readonly log?: (line: string) => void;
  /** Looked up for `RELAY_WEBHOOK_<CHANNEL>` real webhook URLs. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** A channel of the local relay: its webhook kind, where its messages go (`sink`, or the variable/file a real URL came from), and whether it holds live cards. */
export interface LocalDestination {
  readonly channel: string;
  readonly kind: ChannelKind;
  readonly to: string;
  readonly cards: boolean;
}

export class LocalRelayServer {
  public readonly destinations: ReadonlyArray<LocalDestination>;
  public readonly stateMachineArn: string;

  private constructor(
    public readonly settings: LocalSettings,
    public readonly proxyUrl: string,
    public readonly template: CfnTemplate,
    public readonly sink: DiscordSink,
    private readonly ingest: IngestApiEmulator,
    /** Undefined with `directDelivery`. */
    public readonly lanes: LocalLanes | undefined,
    /** The template's tables on dynalite: dedupe, heartbeats and, with the Discord app, guild settings. */
    public readonly dynamodb: LocalDynamoDb,
    private readonly servers: readonly Server[],
    private readonly settingsFile: string,
    private readonly lock: StateLock,
    parts: { destinations: ReadonlyArray<LocalDestination>; stateMachineArn: string; slackSink?: SlackSink },
  ) {
    this.destinations = parts.destinations;
    this.stateMachineArn = parts.stateMachineArn;
    this.slackSink = parts.slackSink;
  }

  /** The stand-in for the Slack channels' incoming webhooks (none without a Slack channel). */
  public readonly slackSink?: SlackSink;

  /** The ingest API's base URL. */
  get url(): string {
    return this.settings.url;
  }

  /**
   * Takes the folder (one relay per `.relay`, else {@link RelayRunningError}) and its two ports
   * (a taken one is {@link PortInUseError}, said before the seconds the synth takes), then builds
   * the relay from the synthesized template and starts serving.
   */
  static async start(options: LocalRelayServerOptions = {}): Promise<LocalRelayServer> {
    const stateDir = resolve(options.stateDir ?? STATE_DIR);
    const lock = StateLock.acquire(stateDir);
    const host = options.host ?? '127.0.0.1';
    const routes: { ingest?: Emulator; proxy?: Emulator; log: (line: string) => void } = { log: options.log ?? ((line: string) => console.log(line)) };
    const ingestServer = serve(() => routes.ingest, 'ingest', (line) => routes.log(line));
    const proxyServer = serve(() => routes.proxy, 'webhook proxy', (line) => routes.log(line));
    let built: Built | undefined;
    try {
      const origins = {
        ingest: `http://${host}:${await listen(ingestServer, options.port ?? DEFAULT_LOCAL_PORT, host)}`,
        proxy: `http://${host}:${await listen(proxyServer, options.proxyPort ?? 0, host)}`,
      };
      built = await build(options, stateDir, origins);
      Object.assign(routes, { ingest: built.ingest, proxy: built.proxy, log: built.log });
      writeLocalSettings(built.settings, built.settingsFile);
      return new LocalRelayServer(built.settings, origins.proxy, built.template, built.sink, built.ingest, built.lanes, built.dynamodb, [ingestServer, proxyServer], built.settingsFile, lock, built);
    } catch (error) {
      const closing = [ingestServer, proxyServer].map((server) => (server.listening ? close(server) : Promise.resolve()));
      for (const server of [ingestServer, proxyServer]) server.closeAllConnections();
      await Promise.all([...closing, built?.lanes?.stop(0)]);
      await built?.dynamodb.stop();
      lock.release();
      throw error;
    }
  }

  /** Stops accepting requests, waits up to `graceMs` for running executions, then closes; local.json then says it stopped. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    // The servers stay up until the lanes have stopped: batches in flight still post through the
    // proxy, and the sink shares the ingest port. New events are refused meanwhile.
    this.ingest.stopAccepting();
    const started = Date.now();
    await this.ingest.drain(graceMs);
    // Batches in flight finish; what is still queued waits in .relay/lanes for the next start.
    await this.lanes?.stop(Math.max(0, graceMs - (Date.now() - started)));
    await this.dynamodb.stop();
    const closing = this.servers.map(close);
    for (const s of this.servers) s.closeAllConnections();
    closeIdleConnections();
    await Promise.all(closing);
    const { pid: _running, ...rest } = this.settings;
    writeLocalSettings({ ...rest, stoppedAt: new Date().toISOString() }, this.settingsFile);
    this.lock.release();
  }
}

type Emulator = { handle: IngestApiEmulator['handle'] };

/** What `build` wires: the emulators, the settings to write, and what the server object exposes. */
interface Built {
  readonly settings: LocalSettings;
  readonly settingsFile: string;
  readonly template: CfnTemplate;
  readonly sink: DiscordSink;
  readonly slackSink?: SlackSink;
  readonly ingest: IngestApiEmulator;
  readonly proxy: WebhookProxyEmulator;
  readonly lanes: LocalLanes | undefined;
  readonly dynamodb: LocalDynamoDb;
  readonly log: (line: string) => void;
  readonly stateMachineArn: string;
  readonly destinations: ReadonlyArray<LocalDestination>;
}

/** The Verify step's environment as the stack gives it, with the local relay's own signing key among the accepted ones. */
function withLocalKey(env: Record<string, string>, key: { kid: string; publicKeyHex: string }): Record<string, string> {
  const keys = JSON.parse(env[VerifyEnv.PublicKeys] ?? '{}') as Record<string, string>;
  return { ...env, [VerifyEnv.PublicKeys]: JSON.stringify({ ...keys, [key.kid]: key.publicKeyHex }) };
}

/** The relay from the synthesized template: one emulator per service, wired as the template says. */
async function build(options: LocalRelayServerOptions, stateDir: string, origins: { ingest: string; proxy: string }): Promise<Built> {
  const print = options.log ?? ((line: string) => console.log(line));
  const settingsFile = join(stateDir, 'local.json');
  const identity = loadLocalIdentity(stateDir, settingsFile);
  const config = loadRelayConfigFile(options.configPath ?? DEFAULT_CONFIG_PATH);
  const template = await synthesizeLocalTemplate(config, identity, stateDir, { directDelivery: options.directDelivery });
  const standIns = { region: LOCAL_REGION, accountId: ACCOUNT };
  const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${ACCOUNT}:stateMachine:${config.stackName}-Relay`;

  const proxyRoutes = webhookProxyRoutes(template);
  const slackChannels = proxyRoutes.filter((r) => r.method === 'POST' && r.kind === 'slack').map((r) => r.channel);
  const sink = new DiscordSink(proxyRoutes.filter((r) => !slackChannels.includes(r.channel)).map((r) => r.channel), options.sinkRateLimit ?? DISCORD_WEBHOOK_RATE_LIMIT);
  const slackSink = slackChannels.length > 0 ? new SlackSink(slackChannels, sink, options.sinkRateLimit === false ? false : SLACK_WEBHOOK_RATE_LIMIT) : undefined;
  const destinations = new WebhookDestinations(stateDir, options.env ?? process.env, () => origins.ingest);
  // Every line is redacted: a cause can quote a destination's answer, which can echo its URL.
  const secrets = [...destinations.knownSecrets(), identity.caller.secretAccessKey, identity.role.secretAccessKey];
  const log = (line: string) => print(redactSecrets(line, secrets));
  const post = createProxyCaller(() => origins.proxy, identity.role, LOCAL_REGION);
  const dynamodb = await LocalDynamoDb.start({ tables: tableSpecs(template), path: join(stateDir, 'dynamodb') });
  const lanes = hasLanes(template)
    ? LocalLanes.start({ template, standIns, post, dynamodb, stateDir, retryPauseMs: options.retryPauseMs, visibilityTimeoutMs: options.laneVisibilityTimeoutMs, log })
    : undefined;
  const relay = new LocalStateMachine(stateMachineDefinition(template, standIns), {
    lambdas: { [StateName.Verify]: createHandler(withLocalKey(functionEnvironment(template, 'VerifyFunction', standIns), identity), () => undefined) },
    post, dynamodb: dynamodb.call, sqs: lanes?.sqs.call, retryPauseMs: options.retryPauseMs,
  });
  const status = new StatusRoutes({
    stackName: config.stackName, startedAt: new Date(), dynamodb, heartbeatTable: heartbeatTableId(template), lanes, tableName: dedupeTableId(template),
    heartbeatWindowMinutes: heartbeatAlarmWindowMinutes(template),
  });
  const app = config.discordApp && lanes ? localInteractions(template, standIns, stateDir, { lanes, status, log, url: origins.ingest, applicationId: config.discordApp.applicationId }) : undefined;
  const ingest = new IngestApiEmulator({
    routes: ingestRoutes(template), verifier: new SigV4Verifier([identity.caller], LOCAL_REGION), relay, stateMachineArn, sink: new SinkRoutes(sink, slackSink), lanes: lanes && new LaneRoutes(lanes), status, log,
    interactions: app?.routes,
  });
  const proxy = new WebhookProxyEmulator({ routes: proxyRoutes, verifier: new SigV4Verifier([identity.role], LOCAL_REGION), destinations });
  const settings: LocalSettings = {
    url: origins.ingest, region: LOCAL_REGION, accessKeyId: identity.caller.accessKeyId, secretAccessKey: identity.caller.secretAccessKey,
    kid: identity.kid, privateKeyFile: identity.privateKeyFile, guildId: config.allowedGuildIds[0], ...(app ? { interactions: app.settings } : {}), pid: process.pid,
  };
  return {
    settings, settingsFile, template, sink, slackSink, ingest, proxy, lanes, dynamodb, log, stateMachineArn,
    destinations: proxyRoutes.filter((r) => r.method === 'POST').map((r) => ({
      channel: r.channel, kind: r.kind, to: destinations.for(r).from, cards: proxyRoutes.some((e) => e.method === 'PATCH' && e.channel === r.channel),
    })),
  };
}

/** The interactions endpoint from the template, answering to the local application key instead of the configured one. */
function localInteractions(
  template: CfnTemplate, standIns: { region: string; accountId: string }, stateDir: string,
  parts: { lanes: LocalLanes; status: StatusRoutes; log: (line: string) => void; url: string; applicationId: string },
): { routes: InteractionsRoutes; settings: NonNullable<LocalSettings['interactions']> } | undefined {
  const [route] = lambdaProxyRoutes(template);
  if (!route) return undefined;
  const key = loadLocalAppKey(stateDir);
  const env = functionEnvironment(template, route.functionLogicalId, standIns);
  const routes = new InteractionsRoutes({ path: route.path, env, publicKeyHex: key.publicKeyHex, dynamodb: parts.lanes.dynamodb, status: parts.status, log: parts.log });
  return { routes, settings: { url: `${parts.url}${route.path}`, applicationId: parts.applicationId, publicKey: key.publicKeyHex, privateKeyFile: key.privateKeyFile } };
}

/**
 * An HTTP server for one emulator, bound before the emulator exists (503 until then); a handler's
 * unexpected error is a 500 and a log line, never a crash.
 */
function serve(emulator: () => Emulator | undefined, name: string, log: (line: string) => void): Server {
  return createServer((req, res) => {
    const current = emulator();
    if (!current) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' }).end('{"message":"the local relay is starting"}');
      return;
    }
    current.handle(req, res).catch((error: Error) => {
      log(`! ${name} error: ${error.message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
    });
  });
}
