/**
 * The relay on one machine, built from the synthesized template (no hand-copied ASL or settings):
 *
 *   ingest API (SigV4 like AWS_IAM)  →  state machine (aws-local-stepfunctions, real Verify handler)
 *     →  webhook proxy API (SigV4, the template's header overwrites and `?wait=true`)
 *     →  a real webhook URL given locally, or the Discord-compatible sink.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { findUp } from '../project-files';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { generateKeyFile, readPrivateKeyFile } from '../client/keys';
import { signRequest } from '../client/sigv4';
import { ENVELOPE_ID_PATTERN, publicKeyToHex } from '../contracts/envelope';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../config/load';
import { RelayStack } from '../infra/relay-stack';
import { createHandler } from '../verify/handler';
import { DISCORD_WEBHOOK_RATE_LIMIT, DiscordSink, type RateLimit } from './discord-sink';
import {
  LOCAL_KID, LOCAL_REGION, STATE_DIR, generateLocalCredentials, readLocalSettings, writeLocalSettings, type LocalSettings,
} from './local-settings';
import { closeIdleConnections, send as sendHttp, type HttpAnswer } from '../client/http';
import { NodeSha256 } from './node-sha256';
import { LocalRelay, type ExecutionOutcome, type PostRequest, type PostResponse } from './relay-execution';
import { SigV4Verifier, type LocalCredential } from './sigv4-verifier';
import { renderSinkPage } from './sink-page';
import {
  functionEnvironment, ingestRoutes, stateMachineDefinition, webhookProxyRoutes, type CfnTemplate, type ProxyRoute,
} from './synthesized-template';

/** API Gateway HTTP API limits. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_HEADER_BYTES = 10 * 1024;
/** Step Functions' cap on an execution's input. */
export const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;
const ACCOUNT = '123456789012';

export interface LocalRelayServerOptions {
  /** @default 'config/relay.config.ts' */
  readonly configPath?: string;
  /** Ingest API (and sink) port; 0 for any free port. @default 8787 */
  readonly port?: number;
  /** Webhook proxy port. @default - any free port */
  readonly proxyPort?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Where local.json, the local key and secrets.json live. @default '.relay' */
  readonly stateDir?: string;
  /** The sink's per-webhook limit, or false for none. @default 5 requests per 2 s */
  readonly sinkRateLimit?: RateLimit | false;
  /** Replaces the Post tasks' Retry pauses (ms), to shorten tests. @default - the definition's real backoff */
  readonly retryPauseMs?: number;
  /** Where one readable line per delivery or rejection goes. @default console.log */
  readonly log?: (line: string) => void;
  /** Looked up for `RELAY_WEBHOOK_<CHANNEL>` real webhook URLs. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'apigw-requestid': randomUUID(), ...headers });
  res.end(text);
}

/** Reads a request body, or undefined when it is over `limit` bytes (the rest is drained). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolveBody(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerBytes(req: IncomingMessage): number {
  return (req.method?.length ?? 0) + (req.url?.length ?? 0) + req.rawHeaders.reduce((n, h) => n + Buffer.byteLength(h), 0);
}

// Hop-by-hop headers a proxy does not forward.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);

export class LocalRelayServer {
  public readonly sink: DiscordSink;
  public readonly settings: LocalSettings;
  public readonly proxyUrl: string;
  public readonly template: CfnTemplate;
  public readonly stateMachineArn: string;
  /** Channels and where each one's messages go (`sink`, or the variable/file a real URL came from). */
  public readonly destinations: ReadonlyArray<{ channel: string; to: string }>;
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(
    private readonly ingest: Server,
    private readonly proxy: Server,
    parts: {
      sink: DiscordSink; settings: LocalSettings; proxyUrl: string; template: CfnTemplate; stateMachineArn: string;
      destinations: Array<{ channel: string; to: string }>;
    },
  ) {
    this.sink = parts.sink;
    this.settings = parts.settings;
    this.proxyUrl = parts.proxyUrl;
    this.template = parts.template;
    this.stateMachineArn = parts.stateMachineArn;
    this.destinations = parts.destinations;
  }

  /** The ingest API's base URL. */
  get url(): string {
    return this.settings.url;
  }

  static async start(options: LocalRelayServerOptions = {}): Promise<LocalRelayServer> {
    const log = options.log ?? ((line: string) => console.log(line));
    const env = options.env ?? process.env;
    const host = options.host ?? '127.0.0.1';
    const stateDir = resolve(options.stateDir ?? STATE_DIR);
    const settingsFile = join(stateDir, 'local.json');

    // Credentials and key: generated on first start, the same on every later start.
    const previous = readLocalSettings(settingsFile) ?? {};
    const kid = previous.kid ?? LOCAL_KID;
    const privateKeyFile = previous.privateKeyFile ?? join(stateDir, 'keys', `${kid}.pem`);
    const publicKeyHex = existsSync(privateKeyFile) ? publicKeyToHex(readPrivateKeyFile(privateKeyFile)) : generateKeyFile(kid, privateKeyFile).publicKeyHex;
    const caller: LocalCredential = previous.accessKeyId && previous.secretAccessKey
      ? { accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey }
      : generateLocalCredentials('AKIA');
    // The state machine's own role, for the webhook proxy; new every start.
    const role: LocalCredential = { ...generateLocalCredentials('ASIA'), sessionToken: randomUUID() };

    // The app as `cdk synth` builds it, plus the local key; Lambda bundling skipped (the handler runs from source).
    const config = loadRelayConfigFile(options.configPath ?? DEFAULT_CONFIG_PATH);
    if (config.forwarderKeys[kid] !== undefined && config.forwarderKeys[kid] !== publicKeyHex) {
      throw new Error(`the config already has a key "${kid}"; rename it, or delete ${settingsFile} to use another local key id`);
    }
    const cdkContext = (JSON.parse(readFileSync(findUp('cdk.json', __dirname), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
    const app = new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] }, outdir: join(stateDir, 'cdk.out') });
    const stack = new RelayStack(app, config.stackName, { config: { ...config, forwarderKeys: { ...config.forwarderKeys, [kid]: publicKeyHex } } });
    const template = app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
    const standIns = { region: LOCAL_REGION, accountId: ACCOUNT };
    const definition = stateMachineDefinition(template, standIns);
    const verify = createHandler(functionEnvironment(template, 'VerifyFunction', standIns), () => undefined);
    const proxyRoutes = new Map(webhookProxyRoutes(template).map((r) => [`${r.method} ${r.path}`, r]));
    const ingest = new Map(ingestRoutes(template).map((r) => [`${r.method} ${r.path}`, r]));
    const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${ACCOUNT}:stateMachine:${config.stackName}-Relay`;

    // Where each channel's messages go: a real URL given locally, or the sink.
    const secretsFile = join(stateDir, 'secrets.json');
    const secrets = existsSync(secretsFile) ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>) : {};
    const realUrl = (route: ProxyRoute): { url: string; from: string } | undefined => {
      const variable = `RELAY_WEBHOOK_${route.channel.toUpperCase().replace(/-/g, '_')}`;
      if (env[variable]) return { url: env[variable]!, from: variable };
      if (secrets[route.secretName]) return { url: secrets[route.secretName], from: `${secretsFile} ("${route.secretName}")` };
      return undefined;
    };
    const sink = new DiscordSink([...proxyRoutes.values()].map((r) => r.channel), options.sinkRateLimit ?? DISCORD_WEBHOOK_RATE_LIMIT);

    const ingestServer = createServer();
    const proxyServer = createServer();
    await new Promise<void>((ok) => ingestServer.listen(options.port ?? 8787, host, ok));
    await new Promise<void>((ok) => proxyServer.listen(options.proxyPort ?? 0, host, ok));
    const url = `http://${host}:${(ingestServer.address() as AddressInfo).port}`;
    const proxyUrl = `http://${host}:${(proxyServer.address() as AddressInfo).port}`;

    const settings: LocalSettings = {
      url, region: LOCAL_REGION, accessKeyId: caller.accessKeyId, secretAccessKey: caller.secretAccessKey, kid, privateKeyFile, guildId: config.allowedGuildIds[0],
    };
    writeLocalSettings(settings, settingsFile);

    const server = new LocalRelayServer(ingestServer, proxyServer, {
      sink, settings, proxyUrl, template, stateMachineArn,
      destinations: [...proxyRoutes.values()].map((r) => ({ channel: r.channel, to: realUrl(r)?.from ?? 'sink' })),
    });

    // The Post tasks' HTTP call: SigV4-signed with the state machine's role, like apigateway:invoke with IAM_ROLE.
    const post = async (request: PostRequest): Promise<PostResponse> => {
      const target = new URL(request.path, proxyUrl);
      const body = JSON.stringify(request.body);
      const headers = await signRequest({ method: request.method, url: target, headers: { 'content-type': 'application/json' }, body, region: LOCAL_REGION, credentials: role, sha256: NodeSha256 });
      const answer = await sendHttp(target, { method: request.method, headers, body, timeoutMs: 30_000 });
      let parsed: unknown = answer.text;
      try {
        parsed = JSON.parse(answer.text);
      } catch {
        // keep text
      }
      return { status: answer.status, body: parsed };
    };
    const relay = new LocalRelay(definition, { verify, post, retryPauseMs: options.retryPauseMs });

    const callerVerifier = new SigV4Verifier([caller], LOCAL_REGION);
    const roleVerifier = new SigV4Verifier([role], LOCAL_REGION);

    const execute = async (input: unknown, id: string): Promise<{ outcome: ExecutionOutcome; started: number; stopped: number }> => {
      const started = Date.now();
      const outcome = await relay.run(input);
      const stopped = Date.now();
      log(describeOutcome(id, outcome, stopped - started));
      return { outcome, started, stopped };
    };

    ingestServer.on('request', (req, res) => {
      void server.handleIngest(req, res, { ingest, callerVerifier, execute, sink, log, stateMachineArn }).catch((error: Error) => {
        log(`! ingest error: ${error.message}`);
        if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
      });
    });
    proxyServer.on('request', (req, res) => {
      void server.handleProxy(req, res, { proxyRoutes, roleVerifier, realUrl, url }).catch((error: Error) => {
        log(`! webhook proxy error: ${error.message}`);
        if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
      });
    });
    return server;
  }

  private async handleIngest(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: {
      ingest: Map<string, { subtype: string }>;
      callerVerifier: SigV4Verifier;
      execute: (input: unknown, id: string) => Promise<{ outcome: ExecutionOutcome; started: number; stopped: number }>;
      sink: DiscordSink;
      log: (line: string) => void;
      stateMachineArn: string;
    },
  ): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/_sink' || path.startsWith('/_sink/')) return this.handleSink(req, res, path, ctx.sink);
    if (req.method === 'GET' && path === '/') return send(res, 302, '', { location: '/_sink' });
    const route = ctx.ingest.get(`${req.method} ${path}`);
    if (!route) return send(res, 404, { message: 'Not Found' });
    if (headerBytes(req) > MAX_HEADER_BYTES) return send(res, 431, { message: 'Request Header Fields Too Large' });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return send(res, 413, { message: 'Request Entity Too Large' });
    const auth = await ctx.callerVerifier.verify({ method: req.method ?? '', rawUrl: req.url ?? '/', headers: req.headers, body });
    if (!auth.ok) {
      ctx.log(`✗ 403        ${req.method} ${path}: ${auth.message}`);
      return send(res, 403, { message: auth.message });
    }
    // What StartExecution itself refuses.
    if (body.length > MAX_EXECUTION_INPUT_BYTES) {
      return send(res, 400, { __type: 'com.amazonaws.swf.service.v2.model#InvalidExecutionInput', message: `Input exceeds the ${MAX_EXECUTION_INPUT_BYTES}-byte limit` });
    }
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return send(res, 400, { __type: 'com.amazonaws.swf.service.v2.model#InvalidExecutionInput', message: `Invalid State Machine Execution Input: '${(error as Error).message}'` });
    }
    const name = randomUUID();
    const executionArn = `${ctx.stateMachineArn.replace(':stateMachine:', ':express:')}:${name}:${randomUUID()}`;
    const claimed = (input as { id?: unknown } | null)?.id;
    const id = typeof claimed === 'string' && ENVELOPE_ID_PATTERN.test(claimed) ? claimed : '(no id)';
    if (route.subtype === 'StepFunctions-StartExecution') {
      const run = ctx.execute(input, id).finally(() => this.inflight.delete(run));
      this.inflight.add(run);
      return send(res, 200, { executionArn, startDate: Date.now() / 1000 });
    }
    const { outcome, started, stopped } = await ctx.execute(input, id);
    return send(res, 200, {
      executionArn, stateMachineArn: ctx.stateMachineArn, name, startDate: started / 1000, stopDate: stopped / 1000,
      status: outcome.status,
      ...(outcome.status === 'SUCCEEDED' ? { output: JSON.stringify(outcome.output), outputDetails: { included: true } } : { error: outcome.error, cause: outcome.cause }),
      input: body.toString('utf8'), inputDetails: { included: true },
      billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: Math.max(100, Math.ceil((stopped - started) / 100) * 100) },
    });
  }

  private async handleSink(req: IncomingMessage, res: ServerResponse, path: string, sink: DiscordSink): Promise<void> {
    if (req.method === 'GET' && path === '/_sink') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(renderSinkPage('Discord Event Relay — local sink'));
      return;
    }
    if (req.method === 'GET' && path === '/_sink/messages') return send(res, 200, sink.messages);
    if (req.method === 'GET' && path === '/_sink/stats') return send(res, 200, sink.stats);
    const hook = /^\/_sink\/api\/webhooks\/([^/]+)\/[^/]+$/.exec(path);
    if (req.method === 'POST' && hook) {
      const body = (await readBody(req, MAX_BODY_BYTES)) ?? Buffer.alloc(0);
      const wait = new URL(req.url ?? '/', 'http://local').searchParams.get('wait') === 'true';
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
      const answer = sink.execute(hook[1], wait, body.toString('utf8'), headers);
      return send(res, answer.status, answer.body, answer.headers);
    }
    const control = /^\/_sink\/webhooks\/([^/]+)$/.exec(path);
    if (control && (req.method === 'DELETE' || req.method === 'PUT')) {
      if (req.method === 'DELETE') sink.deleteWebhook(control[1]);
      else sink.restoreWebhook(control[1]);
      return send(res, 204);
    }
    return send(res, 404, { message: 'Not Found' });
  }

  private async handleProxy(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: { proxyRoutes: Map<string, ProxyRoute>; roleVerifier: SigV4Verifier; realUrl: (r: ProxyRoute) => { url: string } | undefined; url: string },
  ): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const body = (await readBody(req, MAX_BODY_BYTES)) ?? Buffer.alloc(0);
    const auth = await ctx.roleVerifier.verify({ method: req.method ?? '', rawUrl: req.url ?? '/', headers: req.headers, body });
    if (!auth.ok) return send(res, 403, { message: auth.message });
    const route = ctx.proxyRoutes.get(`${req.method} ${path}`);
    if (!route) return send(res, 404, { message: 'Not Found' });
    // HTTP_PROXY: the caller's headers go through, then the template's overwrites apply.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    for (const [name, value] of Object.entries(route.headerOverwrites)) {
      delete headers[name.toLowerCase()];
      headers[name] = value;
    }
    const base = ctx.realUrl(route)?.url ?? `${ctx.url}/_sink/api/webhooks/${route.channel}/local`;
    let upstream: HttpAnswer;
    try {
      // HTTP API integrations time out after 30 s.
      upstream = await sendHttp(new URL(`${base}${route.urlSuffix}`), { method: 'POST', headers, body, timeoutMs: 30_000 });
    } catch {
      return send(res, 504, { message: 'Service Unavailable' });
    }
    const passed: Record<string, string> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (name === 'retry-after' || name.startsWith('x-ratelimit-') || name === 'content-type') passed[name] = value;
    }
    send(res, upstream.status, upstream.text, passed);
  }

  /** Stops accepting requests, waits up to `graceMs` for running executions, then closes. */
  async stop(graceMs = 5000): Promise<void> {
    const closing = [this.ingest, this.proxy].map((s) => new Promise<void>((ok) => s.close(() => ok())));
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((ok) => setTimeout(ok, graceMs).unref())]);
    for (const s of [this.ingest, this.proxy]) s.closeAllConnections();
    closeIdleConnections();
    await Promise.all(closing);
  }
}

/** One readable line per outcome; ids and codes, never payload text. */
export function describeOutcome(id: string, outcome: ExecutionOutcome, ms: number): string {
  if (outcome.status === 'SUCCEEDED') {
    const o = outcome.output as { outcome?: string; kind?: string; channel?: string; code?: string };
    return o.outcome === 'delivered'
      ? `✓ delivered  ${o.kind} → #${o.channel}  ${id}  (${ms} ms)`
      : `· ignored    ${o.kind ?? ''}  ${id}  ${o.code ?? ''}`.replace(/\s+$/, '');
  }
  let detail = outcome.cause;
  try {
    detail = (JSON.parse(outcome.cause) as { errorMessage?: string }).errorMessage ?? outcome.cause;
  } catch {
    // not Lambda's JSON cause
  }
  const verb = outcome.error === 'Relay.DeliveryFailed' ? 'failed  ' : 'rejected';
  return `✗ ${verb}   ${outcome.error}  ${id}  ${detail.slice(0, 200)}`;
}
