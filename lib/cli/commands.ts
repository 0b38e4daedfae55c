/** `relay commands register`: `/relay` registered with Discord from this machine (what the deploy does when the config names the token's secret). */
import { readSecretFile } from '../client/keys';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../config/load';
import { RelayConfigError, type ResolvedRelayConfig } from '../config/relay-config';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { DEFAULT_COMMAND_SCOPE } from '../contracts/interactions';
import { DiscordRegistrationError, botTokenProblem, registerCommands } from '../interactions/register';
import { parseCommandArgs } from './args';
import { ConfigError, ExitCode, RejectedError, UnavailableError, UsageError } from './errors';

const OPTIONS = {
  'token-file': { type: 'string' }, config: { type: 'string' }, global: { type: 'boolean' }, guild: { type: 'string', multiple: true },
  // Not in the help: tests point it at a fake Discord, as forward's.
  'discord-api': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;
const SUBCOMMANDS = ['register'] as const;

function loadConfig(path: string): ResolvedRelayConfig {
  try {
    return loadRelayConfigFile(path);
  } catch (error) {
    if (error instanceof RelayConfigError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The token, trimmed; refused (without quoting it) when the file is empty or holds something else. */
function readToken(file: string): string {
  const token = readSecretFile(file, 'token file').toString('utf8').trim();
  const problem = botTokenProblem(token);
  if (problem) throw new ConfigError(`the token file ${file} ${problem}; put the bot token in it (printf '%s' '<bot token>' > ${file}; README: The Discord app)`);
  return token;
}

export async function commands(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('commands', argv, OPTIONS);
  const [sub, ...extra] = positionals;
  if (sub !== 'register') throw new UsageError(sub === undefined ? 'commands needs a subcommand: relay commands register --token-file <file>' : `unknown subcommand "${sub}" for commands (subcommands: ${SUBCOMMANDS.join(', ')})`, 'commands');
  if (extra.length) throw new UsageError(`commands register takes no arguments besides its options, got: ${extra.join(' ')}`, 'commands');
  if (!values['token-file']) throw new UsageError('commands register needs --token-file <file>: the bot token (Developer Portal, Bot page)', 'commands');
  if (values.global && values.guild) throw new UsageError('--global and --guild exclude each other: global commands are in every server the app is in', 'commands');
  const badGuild = values.guild?.find((g) => !SNOWFLAKE_PATTERN.test(g));
  if (badGuild !== undefined) throw new UsageError(`--guild must be a Discord id (17-20 digits), got "${badGuild.slice(0, 40)}"`, 'commands');

  const configPath = values.config ?? DEFAULT_CONFIG_PATH;
  const config = loadConfig(configPath);
  const app = config.discordApp;
  if (!app) throw new ConfigError(`${configPath} has no discordApp: add discordApp: { applicationId: "<Application ID>", publicKey: "<Public Key>" } from the Developer Portal's General Information page (README: The Discord app)`);
  const scope = values.global ? 'global' : values.guild ? 'guild' : app.commandScope ?? DEFAULT_COMMAND_SCOPE;
  const guildIds = values.guild ?? config.allowedGuildIds;
  // The relay answers commands only from its allowedGuildIds: elsewhere /relay would only say so.
  const foreign = scope === 'guild' ? guildIds.filter((g) => !config.allowedGuildIds.includes(g)) : [];
  if (foreign.length) throw new UsageError(`guild ${foreign.join(', ')} is not in allowedGuildIds of ${configPath}: the relay would refuse /relay there; add it to allowedGuildIds first`, 'commands');
  const tokenFile = values['token-file'];
  const botToken = readToken(tokenFile);

  try {
    const results = await registerCommands({ applicationId: app.applicationId, botToken, scope, guildIds, apiBase: values['discord-api'], tokenSource: `the token file ${tokenFile}` });
    for (const r of results) out(`✓ /relay registered ${r.guildId ? `in guild ${r.guildId}` : 'globally'} (${r.subcommands} subcommands)`);
    return ExitCode.Ok;
  } catch (error) {
    if (!(error instanceof DiscordRegistrationError)) throw error;
    if (error.status === 401) throw new ConfigError(error.message);
    if (error.status === 0 || error.status === 429 || error.status >= 500) throw new UnavailableError(error.message);
    throw new RejectedError(error.message);
  }
}
