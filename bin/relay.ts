#!/usr/bin/env node
/**
 * `relay`: make a signing key, send events to a relay. Run `relay --help`.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EventType, type VoiceChannelRef, type VoiceStateUpdateEvent } from '../lib/contracts/events';
import { KeyFileError, generateKeyFile, readPrivateKeyFile, readSecretFile } from '../lib/client/keys';
import { RelayClient, RelayClientError, type SyncResult } from '../lib/client/relay-client';
import { RelayErrorCode } from '../lib/contracts/errors';
import { LOCAL_SETTINGS_FILE, STATE_DIR, readLocalSettings, type LocalSettings } from '../lib/local/local-settings';
import type { LogLevel } from '../lib/forwarder/logger';
import type { RateLimit } from '../lib/local/discord-sink';
import type { LocalRelayServer } from '../lib/local/local-relay-server';
import { RelayConfigError } from '../lib/config/relay-config';

export const ExitCode = {
  Ok: 0,
  Unexpected: 1,
  Usage: 2,
  Config: 3,
  Forbidden: 4,
  Rejected: 5,
  DeliveryFailed: 6,
  Unavailable: 7,
} as const;


const HELP = `relay — send signed events to a Discord Event Relay

Usage:
  relay local [--port 8787] [--config <file>] [--sink-rate-limit <n>/<ms>|off] [--fast-retries]
  relay forward [options]                          the Discord gateway bot (see below)
  relay keygen --kid <name> [--out <file>]
  relay send [<file>|-] [options]                 the event JSON from a file, or stdin
  relay send voice-join  --user <id> --channel <id> [options]
  relay send voice-leave --user <id> --channel <id> [options]
  relay send voice-move  --user <id> --from <id> --to <id> [options]

local (npm start) runs the relay on this machine from the synthesized template: the SigV4 ingest
API, the state machine with the real Verify code, the webhook proxy, and a Discord-compatible sink
(page at /_sink). It writes ${LOCAL_SETTINGS_FILE}, which send then uses by default. A channel posts
to a real webhook when RELAY_WEBHOOK_<CHANNEL> or .relay/secrets.json ({"<secret name>": "<url>"})
gives one; otherwise to the sink.

keygen writes a new Ed25519 private key (PKCS#8 PEM, mode 0600; default .relay/keys/<name>.pem)
and prints its public key and the line to paste into the relay config's forwarderKeys.

Send options (defaults: environment, then ${LOCAL_SETTINGS_FILE} from a local relay):
  --url <url>          ingest URL, the IngestUrl stack output          [RELAY_URL]
  --kid <name>         key id the relay knows your public key by       [RELAY_KID]
  --key-file <file>    your private key (must not be readable by others) [RELAY_KEY_FILE]
  --region <region>    default: from the URL, else AWS_REGION
  --id <id>            event id (idempotency key); default: a random UUID
  --sync               wait for the outcome and print it
  --timeout <ms>       per-attempt timeout (default 10000)
  --json               print the result as JSON
Event builder options:
  --guild <id>         default: the local relay's guildId
  --guild-name, --user-name, --display-name, --channel-name, --from-name, --to-name <text>
  --bot                the user is a bot
AWS credentials come from the standard chain (environment, profile/SSO, instance or container
role), or from ${LOCAL_SETTINGS_FILE} for a local relay.

Forward options (plus --url, --kid, --key-file, --region as for send):
  --token-file <file>  the bot token (not readable by others)           [DISCORD_TOKEN]
  --guild <id>         forward this guild only (repeatable)             [RELAY_GUILDS, comma-separated]
                       default: the local relay's guildId, else every guild the bot is in
  --include-bots       forward bots' voice changes too
  --forward-updates    forward mute/deafen/stream/video changes too
  --debounce-ms <n>    hold changes this long to drop flapping (default 3000)
  --spool <file>       the durable queue (default .relay/forwarder/spool.db)
  --health-port <n>    GET /healthz on 127.0.0.1:<n> (default 8788; off to disable)
  --heartbeat-minutes <n>  heartbeat event interval (default 5; 0 to disable)
  --name <name>        names this forwarder in heartbeats (default: the host name)
  --log-level <level>  debug, info, warn or error (default info)

Exit codes:
  0  accepted (async), delivered or ignored (--sync)
  1  unexpected error
  2  usage error
  3  configuration error: URL, key id, key file or region missing or unusable
  4  forbidden (HTTP 403): this AWS identity may not call the relay
  5  rejected: the relay refused the event (Relay.* code with --sync, or HTTP 4xx)
  6  delivery failed: Discord refused the message (Relay.DeliveryFailed) or the run timed out
  7  unavailable: no answer, 429 or 5xx after every retry
`;

class UsageError extends Error {}
class ConfigError extends Error {}

function readLocal(): Partial<LocalSettings> {
  try {
    return readLocalSettings() ?? {};
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

const SEND_OPTIONS = {
  url: { type: 'string' }, kid: { type: 'string' }, 'key-file': { type: 'string' }, region: { type: 'string' },
  id: { type: 'string' }, sync: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' },
  guild: { type: 'string' }, 'guild-name': { type: 'string' }, user: { type: 'string' }, 'user-name': { type: 'string' },
  'display-name': { type: 'string' }, bot: { type: 'boolean' }, channel: { type: 'string' }, 'channel-name': { type: 'string' },
  from: { type: 'string' }, 'from-name': { type: 'string' }, to: { type: 'string' }, 'to-name': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type SendValues = ReturnType<typeof parseArgs<{ options: typeof SEND_OPTIONS; allowPositionals: true }>>['values'];

function required(values: SendValues, name: keyof SendValues, builder: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${builder} needs --${name}`);
  return v;
}

function buildVoiceEvent(builder: string, values: SendValues, local: Partial<LocalSettings>): VoiceStateUpdateEvent {
  const guildId = values.guild ?? local.guildId;
  if (!guildId) throw new UsageError(`${builder} needs --guild (no local relay guildId to default to)`);
  const userId = required(values, 'user', builder);
  const channel = (id: string, name: string | undefined): VoiceChannelRef => ({ channel_id: id, channel_name: name ?? `channel-${id.slice(-4)}` });
  let before: VoiceChannelRef | null = null;
  let after: VoiceChannelRef | null = null;
  if (builder === 'voice-join') after = channel(required(values, 'channel', builder), values['channel-name']);
  else if (builder === 'voice-leave') before = channel(required(values, 'channel', builder), values['channel-name']);
  else {
    before = channel(required(values, 'from', builder), values['from-name']);
    after = channel(required(values, 'to', builder), values['to-name']);
  }
  const name = values['user-name'] ?? `user-${userId.slice(-4)}`;
  return {
    type: EventType.VoiceStateUpdate,
    guild: { id: guildId, name: values['guild-name'] ?? `guild-${guildId.slice(-4)}` },
    user: { id: userId, name, display_name: values['display-name'] ?? name, bot: values.bot ?? false },
    before,
    after,
    at: new Date().toISOString(),
  };
}

/** The client for --url/--kid/--key-file/--region, defaulting to the environment, then the local relay's settings. */
function relayClientFrom(
  values: { url?: string; kid?: string; 'key-file'?: string; region?: string },
  local: Partial<LocalSettings>,
  timeoutMs?: number,
): RelayClient {
  const url = values.url ?? process.env.RELAY_URL ?? local.url;
  const kid = values.kid ?? process.env.RELAY_KID ?? local.kid;
  const keyFile = values['key-file'] ?? process.env.RELAY_KEY_FILE ?? local.privateKeyFile;
  if (!url) throw new ConfigError('no relay URL: pass --url (the IngestUrl stack output) or set RELAY_URL');
  if (!kid) throw new ConfigError('no key id: pass --kid or set RELAY_KID');
  if (!keyFile) throw new ConfigError('no private key: pass --key-file or set RELAY_KEY_FILE (make one with `relay keygen`)');
  const privateKey = readPrivateKeyFile(keyFile);
  // The local relay's generated credentials apply only to the local relay.
  const useLocalCredentials = local.url !== undefined && url === local.url && local.accessKeyId && local.secretAccessKey;
  return new RelayClient({
    url,
    kid,
    privateKey,
    region: values.region ?? (url === local.url ? local.region : undefined),
    credentials: useLocalCredentials ? { accessKeyId: local.accessKeyId!, secretAccessKey: local.secretAccessKey! } : undefined,
    timeoutMs,
  });
}

function readEventSource(source: string): string {
  try {
    return readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the event from ${source === '-' ? 'stdin' : source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** What to do about the rejections a sender can fix. */
function hintFor(result: SyncResult, kid: string): string | undefined {
  switch (result.code) {
    case RelayErrorCode.UnknownKey:
      return `the relay does not know key id "${kid}": add its public key (printed by \`relay keygen\`) to forwarderKeys in the relay config and deploy`;
    case RelayErrorCode.InvalidSignature:
      return `the key file does not match the public key the relay has for "${kid}"`;
    case RelayErrorCode.Stale:
      return "this machine's clock is too far from the relay's: sync it (NTP)";
    case RelayErrorCode.GuildNotAllowed:
      return 'add the guild id to allowedGuildIds in the relay config and deploy';
    default:
      return undefined;
  }
}

function exitCodeFor(result: SyncResult): number {
  if (result.status === 'SUCCEEDED') return ExitCode.Ok;
  if (result.code === RelayErrorCode.DeliveryFailed || result.status === 'TIMED_OUT') return ExitCode.DeliveryFailed;
  if (result.code === RelayErrorCode.Internal) return ExitCode.Unexpected;
  return ExitCode.Rejected;
}

async function send(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: SEND_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    out(HELP);
    return ExitCode.Ok;
  }
  if (positionals.length > 1) throw new UsageError(`send takes one event source, got: ${positionals.join(' ')}`);
  const local = readLocal();
  const [what = '-'] = positionals;
  const event = ['voice-join', 'voice-leave', 'voice-move'].includes(what) ? buildVoiceEvent(what, values, local) : readEventSource(what);
  if (typeof event === 'string') {
    try {
      JSON.parse(event);
    } catch {
      throw new UsageError(`the event in ${what === '-' ? 'stdin' : what} is not JSON`);
    }
  }

  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) throw new UsageError('--timeout must be a whole number of milliseconds');
  const client = relayClientFrom(values, local, timeout);
  const { kid } = client;

  if (values.sync) {
    const result = await client.sendSync(event, { id: values.id });
    if (values.json) out(JSON.stringify(result, null, 2));
    else {
      const detail = result.status === 'SUCCEEDED' ? (result.code ?? 'delivered') : `${result.code ?? result.status}${result.cause ? `: ${result.cause}` : ''}`;
      out(`${result.status} ${result.id} ${detail}`);
      const hint = hintFor(result, kid);
      if (hint) out(`hint: ${hint}`);
    }
    return exitCodeFor(result);
  }
  const result = await client.send(event, { id: values.id });
  out(values.json ? JSON.stringify(result, null, 2) : `accepted ${result.id} → ${result.executionArn}`);
  return ExitCode.Ok;
}

function keygen(argv: string[], out: (line: string) => void): number {
  const { values, positionals } = parseArgs({ args: argv, options: { kid: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  if (values.help) {
    out(HELP);
    return ExitCode.Ok;
  }
  if (positionals.length) throw new UsageError(`keygen takes no arguments besides --kid and --out, got: ${positionals.join(' ')}`);
  if (!values.kid) throw new UsageError('keygen needs --kid <name>, e.g. --kid forwarder-2026-11');
  const key = generateKeyFile(values.kid, values.out ?? join('.relay', 'keys', `${values.kid}.pem`));
  out(`private key: ${key.privateKeyFile} (mode 0600; keep it secret, never commit it)`);
  out(`public key:  ${key.publicKeyHex}`);
  out('add to forwarderKeys in your relay config, then deploy:');
  out(`  ${key.configLine}`);
  return ExitCode.Ok;
}

function parseRateLimit(value: string | undefined): RateLimit | false | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError('--sink-rate-limit takes <requests>/<milliseconds> (e.g. 5/2000) or off');
  return { limit: Number(m[1]), windowMs: Number(m[2]) };
}

async function local(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, config: { type: 'string' }, 'sink-rate-limit': { type: 'string' }, 'fast-retries': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true, allowPositionals: true,
  });
  if (values.help) {
    out(HELP);
    return ExitCode.Ok;
  }
  if (positionals.length) throw new UsageError(`local takes no arguments, got: ${positionals.join(' ')}`);
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
  // Loaded on demand: the CDK app is heavy, and only `local` needs it.
  const { LocalRelayServer: Server } = await import('../lib/local/local-relay-server');
  let server: LocalRelayServer;
  try {
    server = await Server.start({
      port, configPath: values.config, sinkRateLimit: parseRateLimit(values['sink-rate-limit']), retryPauseMs: values['fast-retries'] ? 50 : undefined, log: out,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new ConfigError(`port ${port} is in use; pass --port <another>`);
    if (error instanceof RelayConfigError) throw new ConfigError(error.message);
    throw error;
  }
  const s = server.settings;
  out('Discord Event Relay — running locally from the synthesized template');
  out(`  ingest API     ${s.url}/events and /events/sync  (SigV4: region ${s.region}, credentials in ${LOCAL_SETTINGS_FILE})`);
  out(`  webhook proxy  ${server.proxyUrl}/channels/<name>`);
  out(`  sink           ${s.url}/_sink  (JSON: ${s.url}/_sink/messages)`);
  for (const d of server.destinations) out(`  #${d.channel.padEnd(13)} → ${d.to === 'sink' ? 'the sink' : `your webhook (URL from ${d.to})`}`);
  out(`  signing key    "${s.kid}" (${s.privateKeyFile})`);
  out('');
  out('Send a test event from another terminal:');
  out(`  npx relay send voice-join --user 444444444444444444 --display-name Alice --channel 222222222222222222 --channel-name General --sync`);
  out('');
  out('Ctrl-C stops.');
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      out('stopping…');
      void server.stop().then(resolveStop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return ExitCode.Ok;
}

async function forward(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' }, kid: { type: 'string' }, 'key-file': { type: 'string' }, region: { type: 'string' },
      'token-file': { type: 'string' }, guild: { type: 'string', multiple: true }, 'include-bots': { type: 'boolean' },
      'forward-updates': { type: 'boolean' }, 'debounce-ms': { type: 'string' }, spool: { type: 'string' },
      'health-port': { type: 'string' }, 'heartbeat-minutes': { type: 'string' }, name: { type: 'string' },
      'log-level': { type: 'string' }, 'discord-api': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true, allowPositionals: true,
  });
  if (values.help) {
    out(HELP);
    return ExitCode.Ok;
  }
  if (positionals.length) throw new UsageError(`forward takes no arguments, got: ${positionals.join(' ')}`);
  const whole = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number`);
    return n;
  };
  const level = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be debug, info, warn or error');
  const token = values['token-file'] ? readSecretFile(values['token-file'], 'token file').toString('utf8').trim() : process.env.DISCORD_TOKEN;
  if (!token) throw new ConfigError('no bot token: set DISCORD_TOKEN or pass --token-file (see the README: Create the Discord bot)');
  // Loaded on demand: discord.js and node:sqlite are only for `forward`.
  const [{ Forwarder }, { jsonLogger }, { Spool }] = await Promise.all([
    import('../lib/forwarder/forwarder'), import('../lib/forwarder/logger'), import('../lib/forwarder/spool'),
  ]);
  const local = readLocal();
  const client = relayClientFrom(values, local);
  const guilds = values.guild ?? (process.env.RELAY_GUILDS ? process.env.RELAY_GUILDS.split(',').filter(Boolean) : local.guildId ? [local.guildId] : undefined);
  const healthPort = values['health-port'] === 'off' ? undefined : whole('health-port', values['health-port'], 8788);
  const spool = new Spool(values.spool ?? join(STATE_DIR, 'forwarder', 'spool.db'));
  const log = jsonLogger(level as LogLevel, out);
  const forwarder = new Forwarder({
    token, sender: client, spool, allowedGuildIds: guilds, skipBots: !values['include-bots'], forwardUpdates: values['forward-updates'],
    debounceMs: whole('debounce-ms', values['debounce-ms'], 3000), heartbeatMs: whole('heartbeat-minutes', values['heartbeat-minutes'], 5) * 60_000,
    healthPort, name: values.name ?? hostname(), discordApi: values['discord-api'], log,
  });
  const stopped = new Promise<void>((resolveStop) => {
    const stop = () => void forwarder.stop().finally(() => {
      spool.close();
      resolveStop();
    });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  try {
    await forwarder.start();
  } catch (error) {
    const e = error as Error & { code?: string };
    if (e.code === 'TokenInvalid' || /401|Unauthorized|TOKEN_INVALID/i.test(e.message)) throw new ConfigError('Discord refused the bot token (401); check DISCORD_TOKEN or --token-file');
    throw error;
  }
  log.info('health', { url: healthPort === undefined ? null : `http://127.0.0.1:${forwarder.healthPort}/healthz` });
  await stopped;
  return ExitCode.Ok;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out(HELP);
      return command === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    if (command === 'keygen') return keygen(rest, out);
    if (command === 'local') return await local(rest, out);
    if (command === 'forward') return await forward(rest, out);
    if (command === 'send') return await send(rest, out);
    throw new UsageError(`unknown command "${command}"; use local, forward, keygen or send`);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`relay: ${(error as Error).message}\nRun \`relay --help\` for usage.`);
      return ExitCode.Usage;
    }
    if (error instanceof ConfigError || error instanceof KeyFileError) {
      err(`relay: ${error.message}`);
      return ExitCode.Config;
    }
    if (error instanceof RelayClientError) {
      err(`relay: ${error.message}`);
      const codes = { invalid: ExitCode.Config, forbidden: ExitCode.Forbidden, rejected: ExitCode.Rejected, unavailable: ExitCode.Unavailable };
      return codes[error.kind];
    }
    const e = error as Error;
    if (e.name === 'CredentialsProviderError') {
      err(`relay: no AWS credentials found (${e.message}). Configure them (aws configure, AWS_PROFILE, or environment variables).`);
      return ExitCode.Config;
    }
    err(`relay: unexpected error: ${e.stack ?? e.message}`);
    return ExitCode.Unexpected;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
