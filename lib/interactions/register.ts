/**
 * Registers `/relay` with Discord (register row "command registration"): one bulk overwrite
 * (`PUT …/commands`) per guild, or one for the application globally. Used by the deploy's custom
 * resource and by `relay commands register`. node:http(s) only, through the client's `send`: it
 * runs in a Lambda whose bundle stays small. The bot token goes into the Authorization header and nowhere else: no message,
 * log line or error carries it.
 */
import { send } from '../client/http';
import { DISCORD_API_BASE, RelayCommand, commandsPath, relayCommandDefinitions, type CommandScope } from '../contracts/interactions';
import { redactSecrets } from '../contracts/redact';
import { DISCORD_USER_AGENT } from '../project-files';

export interface RegisterCommandsProps {
  readonly applicationId: string;
  readonly botToken: string;
  readonly scope: CommandScope;
  /** The guilds to register in (scope `guild`); ignored for `global`. */
  readonly guildIds?: readonly string[];
  /** @default DISCORD_API_BASE */
  readonly apiBase?: string;
  /** @default DISCORD_USER_AGENT */
  readonly userAgent?: string;
  /** What to put in place of the application's commands; `[]` removes them. @default relayCommandDefinitions() */
  readonly commands?: readonly unknown[];
  /** Where the token came from, for the 401 message ("check <tokenSource> holds …"). @default 'the secret' */
  readonly tokenSource?: string;
  /** Per request. @default 10000 */
  readonly timeoutMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RegistrationResult {
  /** `guild <id>` or `global`. */
  readonly target: string;
  readonly guildId?: string;
  /** Commands Discord now has there. */
  readonly commands: number;
  /** Subcommands of `/relay` among them (0 when it was removed). */
  readonly subcommands: number;
}

/** Discord refused the overwrite (or could not be reached: `status` 0). The message is Discord's answer, summarised. */
export class DiscordRegistrationError extends Error {
  constructor(message: string, public readonly status: number, public readonly discordCode?: number) {
    super(message);
    this.name = 'DiscordRegistrationError';
  }
}

/** 429s retried before giving up, and the longest `retry_after` waited (seconds): a deploy should not hang on Discord. */
export const REGISTER_RETRIES = 3;
export const MAX_RETRY_AFTER_SECONDS = 10;
/** Field paths of Discord's `errors` quoted in a message. */
const MAX_ERROR_PATHS = 3;

/**
 * A bot token's shape (`<id>.<timestamp>.<hmac>`, base64url parts), loosely: what catches a
 * client secret, a public key or an application id pasted instead (none has a dot), or `Bot …`.
 */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){1,2}$/;
export function looksLikeBotToken(text: string): boolean {
  return TOKEN_SHAPE.test(text);
}

/** Why `text` is not a bot token, naming what it seems to be (never quoting it); undefined when it looks like one. */
export function botTokenProblem(text: string): string | undefined {
  if (!text) return 'is empty';
  if (/^Bot\s/i.test(text)) return 'starts with "Bot ": hold the token alone (the relay adds "Bot ")';
  if (text.startsWith('{')) return 'holds JSON: hold the bot token alone, as plain text';
  if (/^[0-9a-f]{64}$/i.test(text)) return 'holds 64 hex characters: that is the application\'s public key, not the bot token';
  if (/^[0-9]{17,20}$/.test(text)) return 'holds a snowflake: that is an id, not the bot token';
  if (!looksLikeBotToken(text)) return 'does not look like a bot token (three dot-separated parts; the Developer Portal\'s Bot page, "Reset Token")';
  return undefined;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
}

async function put(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<Answer> {
  const answer = await send(url, { method: 'PUT', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body, timeoutMs });
  return { status: answer.status, body: answer.text, retryAfter: answer.headers['retry-after'] };
}

/** The body as JSON, or undefined when it is not. */
function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An object answer (Discord's error body), else {}. */
const parse = (text: string): Record<string, unknown> => {
  const value = json(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
};

/** The commands of a 2xx answer (Discord returns what it now has); [] for anything else. */
function registeredList(text: string): Array<{ name?: unknown; options?: unknown }> {
  const value = json(text);
  return Array.isArray(value) ? (value as Array<{ name?: unknown; options?: unknown }>) : [];
}

/** `0.options.2.name: Command name is invalid` for each `_errors` leaf of Discord's nested `errors`. */
export function errorPaths(errors: unknown, at: string[] = [], found: string[] = []): string[] {
  if (typeof errors !== 'object' || errors === null || found.length >= MAX_ERROR_PATHS) return found;
  for (const [key, value] of Object.entries(errors as Record<string, unknown>)) {
    if (found.length >= MAX_ERROR_PATHS) break;
    if (key === '_errors' && Array.isArray(value)) {
      const first = value[0] as { message?: unknown; code?: unknown } | undefined;
      found.push(`${at.join('.') || '(body)'}: ${String(first?.message ?? 'invalid')}${first?.code ? ` (${String(first.code)})` : ''}`);
    } else {
      errorPaths(value, [...at, key], found);
    }
  }
  return found;
}

/** The hint for the refusals an operator can fix; Discord's codes (JSON error codes). */
function hintFor(code: unknown, status: number, guildId: string | undefined, applicationId: string): string | undefined {
  const appMatches = `check that ${applicationId} is the Application ID of the app whose bot token this is`;
  if (code === 50001 || status === 403) return guildId ? `invite the app to guild ${guildId} with the applications.commands scope (OAuth2 URL Generator) or leave the guild out; else ${appMatches}` : appMatches;
  if (code === 10002 || status === 404) return appMatches;
  return undefined;
}

function refusal(answer: Answer, target: string, guildId: string | undefined, props: RegisterCommandsProps): DiscordRegistrationError {
  const parsed = parse(answer.body);
  const code = typeof parsed.code === 'number' ? parsed.code : undefined;
  if (answer.status === 401) {
    return new DiscordRegistrationError(`Discord refused the bot token (401): check ${props.tokenSource ?? 'the secret'} holds the bot token of application ${props.applicationId}`, 401, code);
  }
  const message = typeof parsed.message === 'string' ? parsed.message : answer.body.slice(0, 200) || 'no message';
  const paths = errorPaths(parsed.errors);
  const hint = hintFor(code, answer.status, guildId, props.applicationId);
  const text = `Discord refused the commands for ${target} (${answer.status} ${message}${code === undefined ? '' : `, code ${code}`})${paths.length ? `: ${paths.join('; ')}` : ''}${hint ? `. Fix: ${hint}` : ''}`;
  // Discord echoes the body it refused, never the header; redacted all the same.
  return new DiscordRegistrationError(redactSecrets(text, [props.botToken]), answer.status, code);
}

/** Seconds to wait before retrying a 429: Discord's `retry_after` (body, else header), capped. */
function retryAfterMs(answer: Answer): number {
  const seconds = Number(parse(answer.body).retry_after ?? answer.retryAfter);
  return Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds : 1, MAX_RETRY_AFTER_SECONDS) * 1000;
}

async function overwrite(path: string, target: string, guildId: string | undefined, props: RegisterCommandsProps): Promise<RegistrationResult> {
  const base = props.apiBase ?? DISCORD_API_BASE;
  const url = new URL(`${base.replace(/\/+$/, '')}${path}`);
  const body = JSON.stringify(props.commands ?? relayCommandDefinitions());
  const headers = { authorization: `Bot ${props.botToken}`, 'content-type': 'application/json', 'user-agent': props.userAgent ?? DISCORD_USER_AGENT };
  const sleep = props.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    let answer: Answer;
    try {
      answer = await put(url, headers, body, props.timeoutMs ?? 10_000);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new DiscordRegistrationError(`cannot reach Discord (${url.origin}) to register the commands for ${target}: ${e.code ?? e.message}. Check the network and try again`, 0);
    }
    if (answer.status >= 200 && answer.status < 300) {
      const list = registeredList(answer.body);
      const relay = list.find((c) => c.name === RelayCommand.Name);
      return { target, guildId, commands: list.length, subcommands: Array.isArray(relay?.options) ? relay.options.length : 0 };
    }
    if (answer.status === 429 && attempt < REGISTER_RETRIES) {
      await sleep(retryAfterMs(answer));
      continue;
    }
    throw refusal(answer, target, guildId, props);
  }
}

/** Overwrites the application's commands in each guild (one after the other), or globally; what Discord then has. */
export async function registerCommands(props: RegisterCommandsProps): Promise<RegistrationResult[]> {
  if (props.scope === 'global') return [await overwrite(commandsPath(props.applicationId), 'global', undefined, props)];
  const guildIds = props.guildIds ?? [];
  if (guildIds.length === 0) throw new DiscordRegistrationError('no guild to register the commands in: list the guilds (allowedGuildIds) or use the global scope', 0);
  const results: RegistrationResult[] = [];
  for (const guildId of guildIds) results.push(await overwrite(commandsPath(props.applicationId, guildId), `guild ${guildId}`, guildId, props));
  return results;
}
