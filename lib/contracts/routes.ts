/** HTTP routes of the relay's APIs: the stack creates them, callers and local mode address them. */
export const IngestRoute = {
  /** Starts an execution and answers with its ARN (asynchronous). */
  Events: '/events',
  /** Runs the execution and answers with its outcome. */
  EventsSync: '/events/sync',
} as const;

/** The webhook proxy's route for a channel. */
export function channelRoutePath(channelName: string): string {
  return `/channels/${channelName}`;
}
