/**
 * `relay interact`: plays Discord against the local relay's interactions endpoint. The
 * interaction is built and signed as Discord sends one (Ed25519 over timestamp + body, by the
 * local application key the local relay wrote), so what answers is the real handler's path.
 */
import { send } from '../client/http';
import { readPrivateKeyFile } from '../client/keys';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { EPHEMERAL, InteractionResponseType, PAUSE_MINUTES, RELAY_SUBCOMMANDS, RelayCommand } from '../contracts/interactions';
import { LOCAL_MEMBER_ID, commandInteraction, pingInteraction, signedHeaders } from '../interactions/simulate';
import { LOCAL_SETTINGS_FILE, type LocalInteractions } from '../local/local-settings';
import { closest, parseCommandArgs, wholeNumber } from './args';
import { ConfigError, ExitCode, RejectedError, UnavailableError, UsageError } from './errors';
import { localProcessState, noLocalSettings, readLocalDefaults } from './target';

const OPTIONS = {
  minutes: { type: 'string' }, user: { type: 'string' }, manage: { type: 'boolean' }, guild: { type: 'string' }, url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
export const INTERACT_ACTIONS = ['ping', ...RELAY_SUBCOMMANDS] as const;
type Action = (typeof INTERACT_ACTIONS)[number];

/** Who runs the command when --user is not given (a member id no real guild has). */
export const DEFAULT_MEMBER_ID = LOCAL_MEMBER_ID;

function post(url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return send(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body, timeoutMs: 10_000 })
    .then((answer) => ({ status: answer.status, body: answer.text }));
}

function parseAction(positionals: string[]): Action {
  const [action, ...extra] = positionals;
  const list = INTERACT_ACTIONS.join(', ');
  if (action === undefined) throw new UsageError(`interact needs what to send: one of ${list}`, 'interact');
  if (!(INTERACT_ACTIONS as readonly string[]).includes(action)) {
    const guess = closest(action, INTERACT_ACTIONS);
    throw new UsageError(`unknown interaction "${action}"${guess ? `; did you mean ${guess}?` : ''} (one of ${list})`, 'interact');
  }
  if (extra.length) throw new UsageError(`interact sends one interaction, got: ${positionals.join(' ')}`, 'interact');
  return action as Action;
}

function checkId(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && !SNOWFLAKE_PATTERN.test(value)) throw new UsageError(`--${flag} must be a Discord id (17-20 digits), got "${value.slice(0, 40)}"`, 'interact');
  return value;
}

export async function interact(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('interact', argv, OPTIONS);
  const action = parseAction(positionals);
  if (action === RelayCommand.Pause && values.minutes === undefined) throw new UsageError(`pause needs --minutes <n> (${PAUSE_MINUTES.min}-${PAUSE_MINUTES.max})`, 'interact');
  if (action !== RelayCommand.Pause && values.minutes !== undefined) throw new UsageError(`--minutes is for pause only, not ${action}`, 'interact');
  const minutes = wholeNumber('interact', 'minutes', values.minutes, PAUSE_MINUTES.min, PAUSE_MINUTES.max);
  if (action === 'ping' && (values.user ?? values.guild ?? values.manage) !== undefined) throw new UsageError('ping takes no --user, --guild or --manage: a PING has no member', 'interact');
  const userId = checkId('user', values.user) ?? DEFAULT_MEMBER_ID;
  const flagGuild = checkId('guild', values.guild);

  const local = readLocalDefaults();
  const settings = local.settings;
  if (!settings) throw new ConfigError(`interact plays Discord against the local relay, and there is ${noLocalSettings(local)}`);
  const app: Partial<LocalInteractions> | undefined = settings.interactions;
  if (!app) throw new ConfigError(`${LOCAL_SETTINGS_FILE} has no interactions: the local relay was started without discordApp in its config: run \`npx relay local --config examples/discord-app.config.ts\``);
  if (!app.url || !app.applicationId || !app.privateKeyFile) throw new ConfigError(`${local.file} has an incomplete interactions entry: restart the local relay (npm start) to write it again`);
  const guildId = flagGuild ?? settings.guildId;
  if (action !== 'ping' && !guildId) throw new UsageError('no guild: pass --guild <id> (the local settings name none)', 'interact');
  if (!values.url && localProcessState(settings) === 'stopped') throw new UnavailableError(`no local relay is running (${local.file} was written by one that has stopped): start it with \`npm start\``);
  const key = readPrivateKeyFile(app.privateKeyFile);

  const body = JSON.stringify(action === 'ping'
    ? pingInteraction(app.applicationId)
    : commandInteraction({ subcommand: action, applicationId: app.applicationId, guildId: guildId ?? '', userId, manage: values.manage ?? false, minutes }));
  const url = values.url ?? app.url;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new UsageError(`--url "${url.slice(0, 80)}" is not a URL`, 'interact');
  }
  let answer: { status: number; body: string };
  try {
    answer = await post(target, signedHeaders(body, key), body);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UnavailableError(`cannot reach ${url}: ${e.code ?? e.message}. Is the local relay running (npm start)?`);
  }
  if (answer.status !== 200) throw new RejectedError(`the interactions endpoint answered ${answer.status}: ${answer.body.slice(0, 500)}`);
  let reply: { type?: unknown; data?: { content?: unknown; flags?: unknown } };
  try {
    reply = JSON.parse(answer.body) as typeof reply;
  } catch {
    throw new RejectedError(`the interactions endpoint answered 200 with a body that is not JSON: ${answer.body.slice(0, 200)}`);
  }
  if (reply.type === InteractionResponseType.Pong) {
    out('PONG');
  } else if (reply.type === InteractionResponseType.ChannelMessageWithSource) {
    out(String(reply.data?.content ?? ''));
    if (typeof reply.data?.flags === 'number' && (reply.data.flags & EPHEMERAL) !== 0) out('(only you can see this)');
  } else {
    throw new RejectedError(`the interactions endpoint answered an interaction response of type ${JSON.stringify(reply.type)}, which Discord would not show: ${answer.body.slice(0, 200)}`);
  }
  return ExitCode.Ok;
}
