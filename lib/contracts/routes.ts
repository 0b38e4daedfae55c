/**
 * Routing and HTTP routes (docs/architecture.md "Contracts"): which event kind goes to which
 * channel with which text, and the paths of the relay's two APIs. The stack creates them, callers
 * and local mode address them.
 */
import type { RoutableEventKind } from './events';

export const IngestRoute = {
  /** Starts an execution and answers with its ARN (asynchronous). */
  Events: '/events',
  /** Runs the execution and answers with its outcome. */
  EventsSync: '/events/sync',
} as const;

/**
 * Channel names become URL path segments (`POST /channels/<name>`), construct ids and state names,
 * which Step Functions caps at 80 characters: the longest, `Lane entry of test message for <name>`,
 * leaves 49. (Until fan-out the cap was 63, but names of 57 and more never made a valid workflow.)
 */
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,47}$/;
/** How {@link CHANNEL_NAME_PATTERN} reads in an error message. */
export const CHANNEL_NAME_RULE = '1-48 lowercase letters, digits and hyphens, starting with a letter or digit';

/** What a channel's webhook is: a Discord webhook, or a Slack incoming webhook. */
export const CHANNEL_KINDS = ['discord', 'slack'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
/**
 * Template metadata key on a channel's `POST` route in the synthesized template: the channel's kind
 * (local mode reads it to stand in for the right kind of webhook).
 */
export const CHANNEL_KIND_METADATA = 'RelayChannelKind';

/** The webhook proxy's route for a channel. */
export function channelRoutePath(channelName: string): string {
  return `/channels/${channelName}`;
}

/** The path parameter of the edit route: Discord's id of the message to edit. */
export const MESSAGE_ID_PARAMETER = 'messageId';

/** The webhook proxy's edit route for a channel (`PATCH`): Discord's Edit Webhook Message. */
export function channelMessageRoutePath(channelName: string): string {
  return `/channels/${channelName}/messages/{${MESSAGE_ID_PARAMETER}}`;
}

/** What a caller's edit path starts with; the message id follows. */
export function channelMessagesPrefix(channelName: string): string {
  return `/channels/${channelName}/messages/`;
}

/**
 * The most channels one event kind may go to. Each channel's copy of an event travels in the
 * relay workflow's state, and a full batch (10 events, 16 KiB, names of quotes) to 4 Slack
 * channels is the most that stays clear of Step Functions' 256 KiB per state: about 209 KB at its
 * largest state (test/infra/fan-out-size.test.ts), where a fifth channel would come within a few
 * hundred bytes of the limit, and past it would fail the execution after its claims.
 */
export const MAX_CHANNELS_PER_KIND = 4;

/** How a route announces: a message per event, or one live card per voice session, edited in place. */
export const ROUTE_MODES = ['message', 'card'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

/** Kinds a card route may take: what changes who is in a voice channel. */
export const CARD_EVENT_KINDS = ['voice.join', 'voice.leave', 'voice.move'] as const;

/** One route: events of a kind are announced in a channel, as a message or on a live card. */
export interface EventRoute {
  readonly event: RoutableEventKind;
  /** A configured channel's name. */
  readonly channel: string;
  /** @default 'message' */
  readonly mode?: RouteMode;
  /** Message text with placeholders such as `{user}` and `{channel}` (see `TEMPLATE_FIELDS`); message routes only. */
  readonly template?: string;
  /**
   * Announce only when the voice channel has (join, move: now has; leave: had) at least this many
   * people; a card is first posted when it reaches this many. Events without occupants pass.
   * @default 1
   */
  readonly minMembers?: number;
  /** Card routes: this role is pinged by the first post of a session, never by an edit. @default - no ping */
  readonly pingRoleId?: string;
}
