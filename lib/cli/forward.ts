/** `relay forward`: the Discord gateway bot, sending voice changes to the relay. */
import { hostname } from 'node:os';
import { readSecretFile } from '../client/keys';
import { FORWARDER_DEFAULTS } from '../forwarder/defaults';
import type { LogLevel } from '../forwarder/logger';
import { noPositionals, parseCommandArgs, wholeNumber } from './args';
import { ConfigError, ExitCode, UnavailableError, UsageError } from './errors';
import { FORWARD_NODE_FLOOR, checkNodeFloor } from './node-floor';
import { clientFor, readLocalDefaults, resolveTarget } from './target';

const OPTIONS = {
  url: { type: 'string' }, kid: { type: 'string' }, 'key-file': { type: 'string' }, region: { type: 'string' },
  'token-file': { type: 'string' }, guild: { type: 'string', multiple: true }, 'include-bots': { type: 'boolean' },
  'forward-updates': { type: 'boolean' }, 'debounce-ms': { type: 'string' }, spool: { type: 'string' },
  'health-port': { type: 'string' }, 'heartbeat-minutes': { type: 'string' }, name: { type: 'string' },
  'log-level': { type: 'string' }, 'discord-api': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];
const NETWORK_ERROR = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|UND_ERR_[A-Z_]+)\b/;

/** Why a start failed, or why Discord ended a running gateway for good, as the error the CLI exits with. */
export function startFailure(error: unknown, discordApi: string | undefined): Error {
  const e = error as Error & { code?: string | number; status?: number; cause?: { code?: string } };
  if (e.code === 'TokenInvalid' || e.status === 401 || /401|Unauthorized|TOKEN_INVALID|invalid token/i.test(e.message)) {
    const refused = e.code === 'TokenInvalid' ? e.message : 'Discord refused the bot token (401)';
    return new ConfigError(`${refused}; check DISCORD_TOKEN or --token-file (README: Create the Discord application and bot)`);
  }
  // Invalid intents, sharding, API version: Discord will refuse every reconnect the same way.
  if (e.code === 'GatewayClosed') return new ConfigError(`${e.message}; starting again will not help until that is fixed`);
  // undici reports the socket error as the cause of "fetch failed".
  const network = NETWORK_ERROR.exec(`${e.cause?.code ?? ''} ${String(e.code ?? '')} ${e.message}`)?.[0];
  if (network) {
    return new UnavailableError(`cannot reach Discord (${discordApi ?? 'https://discord.com/api'}): ${network}. Check the network; a supervisor (systemd Restart=always) will start it again`);
  }
  return e;
}

export async function forward(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('forward', argv, OPTIONS);
  noPositionals('forward', positionals);
  const level = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new UsageError('--log-level must be debug, info, warn or error', 'forward');
  const healthPort = values['health-port'] === 'off' ? undefined : (wholeNumber('forward', 'health-port', values['health-port'], 0, 65535) ?? FORWARDER_DEFAULTS.healthPort);
  const debounceMs = wholeNumber('forward', 'debounce-ms', values['debounce-ms']);
  const heartbeatMinutes = wholeNumber('forward', 'heartbeat-minutes', values['heartbeat-minutes']);
  checkNodeFloor('forward', FORWARD_NODE_FLOOR);
  const tokenFile = values['token-file'];
  const token = tokenFile ? readSecretFile(tokenFile, 'token file').toString('utf8').trim() : process.env.DISCORD_TOKEN;
  if (!token && tokenFile) throw new ConfigError(`the token file ${tokenFile} is empty: put the bot token in it (printf '%s' '<bot token>' > ${tokenFile}; README: Create the Discord application and bot)`);
  if (!token) throw new ConfigError('no bot token: set DISCORD_TOKEN or pass --token-file (README: Create the Discord application and bot)');
  const local = readLocalDefaults();
  const client = clientFor(resolveTarget(values, local), values);
  const guilds = values.guild ?? (process.env.RELAY_GUILDS ? process.env.RELAY_GUILDS.split(',').filter(Boolean) : local.settings?.guildId ? [local.settings.guildId] : undefined);

  // Loaded on demand: the gateway client and node:sqlite are only for `forward`.
  const [{ Forwarder }, { jsonLogger }, { Spool }] = await Promise.all([import('../forwarder/forwarder'), import('../forwarder/logger'), import('../forwarder/spool')]);
  const spool = new Spool(values.spool ?? FORWARDER_DEFAULTS.spoolFile);
  const log = jsonLogger(level as LogLevel, out);
  const forwarder = new Forwarder({
    token, sender: client, spool, allowedGuildIds: guilds, skipBots: !values['include-bots'], forwardUpdates: values['forward-updates'],
    debounceMs, heartbeatMs: heartbeatMinutes === undefined ? undefined : heartbeatMinutes * 60_000,
    healthPort, name: values.name ?? hostname(), discordApi: values['discord-api'], log,
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= forwarder.stop().finally(() => spool.close()));
  const signalled = new Promise<void>((resolveSignal) => {
    process.once('SIGINT', resolveSignal);
    process.once('SIGTERM', resolveSignal);
  });
  try {
    // A signal during the start stops it too.
    const started = await Promise.race([forwarder.start().then(() => true), signalled.then(() => false)]);
    if (started) log.info('health', { url: healthPort === undefined ? null : `http://${FORWARDER_DEFAULTS.healthHost}:${forwarder.healthPort}/healthz` });
  } catch (error) {
    // Whatever the health settings, a failed start exits (the health server must not keep it alive).
    await stop();
    throw startFailure(error, values['discord-api']);
  }
  // Runs until a signal, or until Discord closes the gateway for good (e.g. the token was reset).
  const fatal = await Promise.race([signalled.then(() => undefined), forwarder.fatal]);
  await stop();
  if (fatal) throw startFailure(fatal, values['discord-api']);
  return ExitCode.Ok;
}
