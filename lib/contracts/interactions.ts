/**
 * The Discord side of the relay (docs/architecture.md §2.7): the interactions endpoint Discord
 * calls, the `/relay` command it registers, and the guild settings (opt-outs, pause) the
 * commands write and both workflows read. The handler, the constructs, the registration, local
 * mode and the CLI spell every number and name from here. Values are Discord's (register rows
 * "interaction signature" … "command registration").
 */

/** Where Discord POSTs interactions (the Interactions Endpoint URL is `<InteractionsUrl>`, which ends in it). */
export const INTERACTIONS_PATH = '/interactions';

/** Discord's signature headers (lower case, as API Gateway's payload 2.0 and Node give them). */
export const InteractionHeader = {
  /** Ed25519 signature, hex, of the timestamp's UTF-8 bytes followed by the raw body. */
  Signature: 'x-signature-ed25519',
  Timestamp: 'x-signature-timestamp',
} as const;

/** A signature older or newer than this (seconds) is refused: a captured request cannot be replayed later. */
export const INTERACTION_MAX_SKEW_SECONDS = 300;
/** Bodies above this are refused (413) before the signature is checked: a command interaction is a few KB. */
export const MAX_INTERACTION_BYTES = 32 * 1024;

export const InteractionType = {
  Ping: 1,
  ApplicationCommand: 2,
  MessageComponent: 3,
  Autocomplete: 4,
  ModalSubmit: 5,
} as const;

export const InteractionResponseType = {
  Pong: 1,
  ChannelMessageWithSource: 4,
} as const;

/** `flags` of a reply only the member who ran the command sees. */
export const EPHEMERAL = 1 << 6;

/** Permission bits (Discord's `permissions` is a decimal string of a 64-bit field). */
export const Permission = {
  Administrator: 1n << 3n,
  ManageGuild: 1n << 5n,
} as const;

/** True when the decimal permission string grants Manage Server (Administrator implies it); a malformed one grants nothing. */
export function canManageGuild(permissions: unknown): boolean {
  if (typeof permissions !== 'string' || !/^[0-9]{1,20}$/.test(permissions)) return false;
  const bits = BigInt(permissions);
  return (bits & (Permission.ManageGuild | Permission.Administrator)) !== 0n;
}

/** The one command and its subcommands. */
export const RelayCommand = {
  Name: 'relay',
  OptOut: 'optout',
  OptIn: 'optin',
  Pause: 'pause',
  Resume: 'resume',
  Status: 'status',
} as const;
export type RelaySubcommand = Exclude<(typeof RelayCommand)[keyof typeof RelayCommand], 'relay'>;
export const RELAY_SUBCOMMANDS: readonly RelaySubcommand[] = ['optout', 'optin', 'pause', 'resume', 'status'];
/** Subcommands only members with Manage Server may run (checked by the handler, whatever the command's default permissions say). */
export const MANAGER_SUBCOMMANDS: readonly RelaySubcommand[] = ['pause', 'resume', 'status'];
/** `/relay pause minutes:<n>`. */
export const PAUSE_OPTION = 'minutes';
export const PAUSE_MINUTES = { min: 1, max: 1440 } as const;

const SUB_COMMAND = 1;
const INTEGER = 4;

/**
 * The `/relay` command as Discord's bulk overwrite takes it. Guild-only (`contexts: [0]`), open to
 * every member (`default_member_permissions` null: `optout` must be), the manager subcommands
 * checked server-side.
 */
export function relayCommandDefinitions(): unknown[] {
  return [{
    name: RelayCommand.Name,
    type: 1,
    description: 'Voice notices from Discord Event Relay',
    contexts: [0],
    integration_types: [0],
    default_member_permissions: null,
    options: [
      { type: SUB_COMMAND, name: RelayCommand.OptOut, description: 'Stop announcing me in this server (cards count me, never name me)' },
      { type: SUB_COMMAND, name: RelayCommand.OptIn, description: 'Announce me again in this server' },
      {
        type: SUB_COMMAND, name: RelayCommand.Pause, description: 'Manage Server: post nothing for a while',
        options: [{ type: INTEGER, name: PAUSE_OPTION, description: `How long, in minutes (${PAUSE_MINUTES.min}-${PAUSE_MINUTES.max})`, required: true, min_value: PAUSE_MINUTES.min, max_value: PAUSE_MINUTES.max }],
      },
      { type: SUB_COMMAND, name: RelayCommand.Resume, description: 'Manage Server: end a pause now' },
      { type: SUB_COMMAND, name: RelayCommand.Status, description: 'Manage Server: is the relay delivering?' },
    ],
  }];
}

/** Discord's bulk overwrite of an application's commands, in one guild or globally. */
export function commandsPath(applicationId: string, guildId?: string): string {
  return guildId ? `/applications/${applicationId}/guilds/${guildId}/commands` : `/applications/${applicationId}/commands`;
}
export const DISCORD_API_BASE = 'https://discord.com/api/v10';
export const COMMAND_SCOPES = ['guild', 'global'] as const;
export type CommandScope = (typeof COMMAND_SCOPES)[number];
/** Each allowed guild: registered there, the commands appear at once. */
export const DEFAULT_COMMAND_SCOPE: CommandScope = 'guild';

/**
 * One item per guild in the guild settings table. Every write sets both attributes, so a reader
 * never meets half an item: `pausedUntil` (ISO; the epoch when not paused) and `optedOut`, a
 * string set of user ids that always holds {@link OPTED_OUT_PLACEHOLDER} (DynamoDB sets cannot be
 * empty, and the workflows' `States.ArrayContains` needs an array).
 */
export const GuildSettingsAttribute = {
  /** Partition key: the guild's id. */
  GuildId: 'guildId',
  PausedUntil: 'pausedUntil',
  OptedOut: 'optedOut',
  /** ISO time of the last change, and who made it (a user id). */
  UpdatedAt: 'updatedAt',
  UpdatedBy: 'updatedBy',
  /**
   * The id (a snowflake, as a number) of the last interaction that changed the item: a command
   * whose id is not above it is refused, so a captured request replayed within the signature's
   * 5 minutes cannot undo a later command.
   */
  LastInteraction: 'lastInteraction',
} as const;
/** Not a snowflake, so never a member. */
export const OPTED_OUT_PLACEHOLDER = '-';
export const NOT_PAUSED = new Date(0).toISOString();
/** How many members one guild's item can list as opted out (DynamoDB's 400 KB item, with room to spare). */
export const MAX_OPTED_OUT = 10_000;

/** Why an event SUCCEEDED as `ignored` without a post (`output.reason`). */
export const IgnoreReason = {
  NoRoute: 'no route for this event kind',
  BelowMinimum: 'fewer people than the route\'s minMembers',
  OptedOut: 'the member opted out of voice notices in this guild (/relay optout)',
  Paused: 'voice notices are paused in this guild (/relay pause; /relay resume ends it)',
} as const;

/** A guild's settings as the workflows' GetItem returns them. */
export interface StoredGuildSettings {
  readonly pausedUntil?: { readonly S?: string };
  readonly optedOut?: { readonly SS?: readonly string[] };
}

/** The members a guild's settings hide, and whether it is paused at `nowMs`. */
export function readGuildSettings(item: StoredGuildSettings | undefined, nowMs: number): { hidden: ReadonlySet<string>; paused: boolean } {
  const hidden = new Set((item?.optedOut?.SS ?? []).filter((id) => id !== OPTED_OUT_PLACEHOLDER));
  const until = Date.parse(item?.pausedUntil?.S ?? '');
  return { hidden, paused: Number.isFinite(until) && until > nowMs };
}
