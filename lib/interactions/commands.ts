/**
 * The `/relay` subcommands: what each one changes and the ephemeral reply it gives. Inputs come
 * from a verified interaction, so they are Discord's word; they are still checked (a forged
 * option from a signed body must not crash or widen anything), and permissions are checked here,
 * from `member.permissions`, not only by the command's default permissions.
 */
import { canManageGuild, MANAGER_SUBCOMMANDS, PAUSE_MINUTES, PAUSE_OPTION, RELAY_SUBCOMMANDS, RelayCommand, type RelaySubcommand } from '../contracts/interactions';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { OptOutLimitError, StaleInteractionError, type GuildSettingsStore } from './guild-settings';
import { statusText, withinBudget, type FactsReader } from './status';

export interface CommandContext {
  readonly settings: GuildSettingsStore;
  readonly facts: FactsReader;
  readonly allowedGuildIds: ReadonlySet<string>;
  readonly now: () => number;
}

/** The parts of an APPLICATION_COMMAND interaction the commands read. */
export interface CommandInteraction {
  readonly id?: unknown;
  readonly guild_id?: unknown;
  readonly member?: { readonly user?: { readonly id?: unknown }; readonly permissions?: unknown } | null;
  readonly data?: { readonly name?: unknown; readonly options?: unknown };
}

type Option = { name?: unknown; type?: unknown; value?: unknown; options?: unknown };

/** The subcommand and its options, or undefined for anything that is not `/relay <known subcommand>`. */
export function parseSubcommand(data: CommandInteraction['data']): { name: RelaySubcommand; options: Option[] } | undefined {
  if (data?.name !== RelayCommand.Name || !Array.isArray(data.options)) return undefined;
  const sub = data.options[0] as Option | undefined;
  if (typeof sub?.name !== 'string' || !(RELAY_SUBCOMMANDS as readonly string[]).includes(sub.name)) return undefined;
  return { name: sub.name as RelaySubcommand, options: Array.isArray(sub.options) ? (sub.options as Option[]) : [] };
}

const t = (ms: number, style: 't' | 'R') => `<t:${Math.floor(ms / 1000)}:${style}>`;

/** Runs one subcommand; the reply's text (never user text: only ids, numbers and fixed words). */
export async function runCommand(interaction: CommandInteraction, ctx: CommandContext): Promise<string> {
  const guildId = interaction.guild_id;
  if (typeof guildId !== 'string' || !SNOWFLAKE_PATTERN.test(guildId)) return '`/relay` works in a server, not in direct messages.';
  if (!ctx.allowedGuildIds.has(guildId)) return 'This relay does not serve this server (it is not in the relay\'s `allowedGuildIds`).';
  const userId = interaction.member?.user?.id;
  if (typeof userId !== 'string' || !SNOWFLAKE_PATTERN.test(userId)) return '`/relay` needs to know who asked; Discord sent no member with this command.';
  const sub = parseSubcommand(interaction.data);
  if (!sub) return 'Unknown command. The relay knows `/relay optout`, `optin`, `pause`, `resume` and `status`.';
  if (MANAGER_SUBCOMMANDS.includes(sub.name) && !canManageGuild(interaction.member?.permissions)) {
    return `\`/relay ${sub.name}\` is for members with the **Manage Server** permission.`;
  }
  const id = interaction.id;
  if (typeof id !== 'string' || !SNOWFLAKE_PATTERN.test(id)) return '`/relay` needs the interaction\'s id; Discord sent none with this command.';
  const now = new Date(ctx.now());
  try {
    return await run(sub, { ctx, guildId, userId, now, id });
  } catch (error) {
    if (error instanceof StaleInteractionError) return 'Nothing changed: this command is older than the last change to the relay\'s settings here (a copy sent again, or overtaken). Run it again if you meant it.';
    throw error;
  }
}

type Asked = { ctx: CommandContext; guildId: string; userId: string; now: Date; id: string };

async function run(sub: { name: RelaySubcommand; options: Option[] }, { ctx, guildId, userId, now, id }: Asked): Promise<string> {
  switch (sub.name) {
    case 'optout': return optOut(ctx, guildId, userId, now, id);
    case 'optin': {
      const was = await ctx.settings.optIn(guildId, userId, now, id);
      return `${was ? 'Done: you are announced again' : 'You were not opted out; you are announced'} in this server — your joins, leaves and moves are posted where the relay posts them, and live cards show your name.`;
    }
    case 'pause': return pause(ctx, { guildId, userId, now, id }, sub.options);
    case 'resume': {
      const { wasPaused } = await ctx.settings.setPause(guildId, undefined, userId, now, id);
      return wasPaused ? 'Resumed: voice notices are posted again from now on (what happened during the pause is not posted).' : 'Voice notices were not paused; nothing changed.';
    }
    case 'status': {
      const [facts, guild] = await Promise.all([withinBudget(ctx.facts()), withinBudget(ctx.settings.read(guildId, now))]);
      return statusText(facts ?? {}, guild);
    }
  }
}

async function optOut(ctx: CommandContext, guildId: string, userId: string, now: Date, id: string): Promise<string> {
  try {
    const added = await ctx.settings.optOut(guildId, userId, now, id);
    return [
      added ? 'Done: the relay no longer announces you in this server.' : 'You are already opted out in this server.',
      '• No message about your voice joins, leaves or moves, starting within seconds — events already waiting to be posted included.',
      '• Live voice cards count you ("+1 more") but never show your name.',
      '• Messages posted before now stay; moderators can delete them. Other servers are not affected.',
      'Run `/relay optin` to be announced again.',
    ].join('\n');
  } catch (error) {
    if (error instanceof OptOutLimitError) return `Sorry: ${error.message}. Ask a moderator to pause or remove the relay.`;
    throw error;
  }
}

async function pause(ctx: CommandContext, { guildId, userId, now, id }: Omit<Asked, 'ctx'>, options: Option[]): Promise<string> {
  const minutes = options.find((o) => o?.name === PAUSE_OPTION)?.value;
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < PAUSE_MINUTES.min || minutes > PAUSE_MINUTES.max) {
    return `\`/relay pause\` needs \`${PAUSE_OPTION}\`: a whole number from ${PAUSE_MINUTES.min} to ${PAUSE_MINUTES.max}.`;
  }
  const until = now.getTime() + minutes * 60_000;
  await ctx.settings.setPause(guildId, new Date(until), userId, now, id);
  return `Paused until ${t(until, 't')} (${t(until, 'R')}): no messages and no card changes in this server until then. Voice changes meanwhile are not posted later. \`/relay resume\` ends it sooner.`;
}
