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

/** Channel names become URL path segments (`POST /channels/<name>`) and construct ids. */
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** How {@link CHANNEL_NAME_PATTERN} reads in an error message. */
export const CHANNEL_NAME_RULE = '1-63 lowercase letters, digits and hyphens, starting with a letter or digit';

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

/** One route: events of a kind are posted to a channel with a message template. */
export interface EventRoute {
  readonly event: RoutableEventKind;
  /** A configured channel's name. */
  readonly channel: string;
  /** Message text with placeholders such as `{user}` and `{channel}` (see `TEMPLATE_FIELDS`). */
  readonly template: string;
}
