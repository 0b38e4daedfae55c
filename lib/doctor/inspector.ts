/**
 * What `relay doctor` needs to know of a relay, whichever kind it is: a deployed stack (read with
 * the AWS SDK, `aws-inspector.ts`) or the local relay (read from its own endpoints,
 * `local-inspector.ts`). The checks see only this interface.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';

export interface RelayLocation {
  readonly kind: 'aws' | 'local';
  /** "stack DiscordEventRelay in eu-west-1", "the local relay at http://127.0.0.1:8787". */
  readonly name: string;
  /** What was found, for the relay check's line ("UPDATE_COMPLETE, ingest https://…"). */
  readonly detail: string;
  /** A stack status worth a warning (rolled back, mid-update), with what to do. */
  readonly warning?: { readonly cause: string; readonly fix: string };
  readonly ingestUrl: string;
  readonly region: string;
  /** False for a direct-delivery relay: no lanes, pipe or dedupe table. */
  readonly lanes: boolean;
  /** False when only the ingest URL is known (no stack name): the pipe, lanes, alarms and heartbeats cannot be read. */
  readonly readsState: boolean;
  /** Output values for messages (`CallerPolicyArn`, `OperatorPolicyArn`, `LaneQueueArn`, `DeadLetterQueueUrl`). */
  readonly outputs: Readonly<Record<string, string>>;
  /** The Discord app's interactions endpoint, when the relay has one. */
  readonly interactionsUrl?: string;
}

export interface Identity {
  /** The IAM ARN behind the credentials, or a description of the local ones. */
  readonly principal: string;
  readonly region: string;
}

export interface PipeState {
  readonly name: string;
  readonly state: string;
  readonly desiredState?: string;
  readonly reason?: string;
}

export interface LaneState {
  readonly visible: number;
  readonly inFlight: number;
  /** Undefined when not known (no SQS metric yet). */
  readonly oldestAgeSeconds?: number;
}

export interface DeadLetter {
  /** The event id (the dead-lettered lane event's `id`). */
  readonly id?: string;
  readonly channel?: string;
  /** `RelayError`: e.g. `ApiGateway.404`. */
  readonly error: string;
  /** `RelayReason`: what Discord answered, redacted. */
  readonly reason: string;
}

export interface DeadLetters {
  readonly count: number;
  /** Up to 10 of them (AWS peeks; local mode lists them all). */
  readonly sample: readonly DeadLetter[];
}

export interface AlarmState {
  readonly name: string;
  readonly state: string;
  readonly description?: string;
  readonly reason?: string;
}

export interface Heartbeats {
  /** The newest heartbeat data point, if any within the look-back. */
  readonly last?: Date;
  /** After how long without one the heartbeat alarm fires. */
  readonly windowMinutes?: number;
  /** How far back was looked. */
  readonly lookedBack: string;
}

export interface Claim {
  readonly state?: string;
  readonly deliveredAt?: string;
}

export interface RelayInspector {
  /** What is being checked, before it is found: "stack DiscordEventRelay in eu-west-1". */
  readonly target: string;
  /** Who is asking, and where. Throws when there are no usable credentials. */
  identity(): Promise<Identity>;
  /** Where the relay is and what it has. Throws a {@link RelayNotFound} when it cannot be found. */
  locate(): Promise<RelayLocation>;
  /** Credentials the probes are SigV4-signed with. */
  readonly credentials: AwsCredentialIdentityProvider;
  pipe(): Promise<PipeState | undefined>;
  lane(): Promise<LaneState | undefined>;
  deadLetters(): Promise<DeadLetters | undefined>;
  /** Undefined when the relay has no alarms to read (local mode). */
  alarms(): Promise<AlarmState[] | undefined>;
  heartbeats(): Promise<Heartbeats>;
  claim(id: string): Promise<Claim | undefined>;
  /** Closes its clients' connections. */
  close(): void;
}

/** The relay is not where it was said to be: the check names the cause and the fix. */
export class RelayNotFound extends Error {
  constructor(message: string, public readonly likelyCause: string, public readonly fix: string) {
    super(message);
    this.name = 'RelayNotFound';
  }
}
