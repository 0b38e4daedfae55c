/**
 * The local relay's own HTTP face (docs/architecture.md §2.5), beside the ingest routes on its
 * port: the Discord sink, the lanes' inspection and redrive, and the status `relay doctor` reads.
 * Local mode serves them; the doctor and tests address them from here.
 */

export const LocalRelayPath = {
  /** The sink's channel page; `/_sink/messages` lists what it received. */
  Sink: '/_sink',
  SinkMessages: '/_sink/messages',
  /** What is queued and dead-lettered (`GET`); `POST /_lanes/redrive` moves the dead letters back. */
  Lanes: '/_lanes',
  Redrive: '/_lanes/redrive',
  /** What the pipe, the lane, the heartbeats and the dedupe table look like now (`GET`). */
  Status: '/_status',
} as const;

/** `DELETE` makes a sink webhook answer 404 (Discord's 10015 Unknown Webhook), `PUT` restores it. */
export function sinkWebhookPath(channel: string): string {
  return `${LocalRelayPath.Sink}/webhooks/${channel}`;
}

/** `GET /_lanes`: the lane's depth and every dead letter with its reason. */
export interface LocalLanesAnswer {
  readonly lane: { readonly visible: number; readonly inFlight: number };
  readonly deadLetters: ReadonlyArray<{ readonly messageId: string; readonly channel: string; readonly event: unknown; readonly error: string; readonly reason: string }>;
}

/** `GET /_status`. A part the relay does not have (no lanes with direct delivery) is null. */
export interface LocalRelayStatus {
  readonly relay: { readonly pid: number; readonly startedAt: string; readonly stackName: string };
  /** As DescribePipe would say, plus how many batches ran and failed since the start. */
  readonly pipe: { readonly state: string; readonly batches: number; readonly failedBatches: number } | null;
  readonly lane: { readonly visible: number; readonly inFlight: number; readonly oldestAgeSeconds: number | null } | null;
  readonly deadLetters: { readonly count: number } | null;
  /** The newest ForwarderHeartbeat data point since the start, and after how long without one the alarm would fire. */
  readonly heartbeats: { readonly last: string | null; readonly windowMinutes: number | null };
  /** Where the dedupe table answers the DynamoDB API (dynalite on loopback), and its name there. */
  readonly table: { readonly endpoint: string; readonly name: string } | null;
}

/** The environment variable that gives the local relay a real webhook for a channel (else it posts to its sink). */
export function webhookVariableFor(channel: string): string {
  return `RELAY_WEBHOOK_${channel.toUpperCase().replace(/-/g, '_')}`;
}
