/**
 * The local relay as `relay doctor` sees it: `.relay/local.json` says where it is and which
 * credentials it takes; `GET /_status` and `GET /_lanes` say what its pipe, lane, dead letters
 * and heartbeats look like; its dedupe table answers GetItem like DynamoDB (dynalite).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { send } from '../client/http';
import { LocalRelayPath, type LocalLanesAnswer, type LocalRelayStatus } from '../contracts/local-relay';
import { readClaim } from './claims';
import { RelayNotFound, type AlarmState, type Claim, type DeadLetters, type Heartbeats, type Identity, type LaneState, type PipeState, type RelayInspector, type RelayLocation } from './inspector';

export interface LocalRelayRef {
  readonly url: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Where these came from, for messages. */
  readonly settingsFile: string;
  /** What is known of the process that wrote the file. */
  readonly process: 'running' | 'stopped' | 'unknown';
  readonly stoppedAt?: string;
  /** `interactions.url` of local.json (with discordApp). */
  readonly interactionsUrl?: string;
}

export class LocalInspector implements RelayInspector {
  public readonly target: string;
  public readonly credentials: AwsCredentialIdentityProvider;
  private table?: { client: DynamoDBClient; name: string };

  constructor(private readonly ref: LocalRelayRef) {
    this.target = `the local relay at ${ref.url}`;
    this.credentials = async () => ({ accessKeyId: ref.accessKeyId, secretAccessKey: ref.secretAccessKey });
  }

  async identity(): Promise<Identity> {
    return { principal: `the local relay's own credentials (${this.ref.settingsFile})`, region: this.ref.region };
  }

  async locate(): Promise<RelayLocation> {
    const { ref } = this;
    if (ref.process === 'stopped') {
      throw new RelayNotFound('no local relay is running', `${ref.settingsFile} was written by a local relay that has stopped${ref.stoppedAt ? ` (at ${ref.stoppedAt})` : ''}`, 'start it with npm start (or npx relay local) in this folder, then run relay doctor again');
    }
    const status = await this.status();
    return {
      kind: 'local', name: this.target, ingestUrl: ref.url, region: ref.region, lanes: status.pipe !== null, readsState: true, outputs: {},
      ...(ref.interactionsUrl ? { interactionsUrl: ref.interactionsUrl } : {}),
      detail: `${status.relay.stackName} running locally (pid ${status.relay.pid}, since ${status.relay.startedAt}) at ${ref.url}`,
    };
  }

  async pipe(): Promise<PipeState | undefined> {
    const { pipe } = await this.status();
    return pipe ? { name: 'the local lane pipe', state: pipe.state, reason: pipe.failedBatches ? `${pipe.failedBatches} of ${pipe.batches} batches failed since the start` : undefined } : undefined;
  }

  async lane(): Promise<LaneState | undefined> {
    const { lane } = await this.status();
    return lane ? { visible: lane.visible, inFlight: lane.inFlight, oldestAgeSeconds: lane.oldestAgeSeconds ?? undefined } : undefined;
  }

  async deadLetters(): Promise<DeadLetters | undefined> {
    const answer = await this.get<LocalLanesAnswer>(LocalRelayPath.Lanes, true);
    if (!answer) return undefined;
    const sample = answer.deadLetters.map((d) => ({ id: (d.event as { id?: string } | null)?.id, channel: d.channel, error: d.error, reason: d.reason }));
    return { count: sample.length, sample };
  }

  async alarms(): Promise<AlarmState[] | undefined> {
    return undefined;
  }

  async heartbeats(): Promise<Heartbeats> {
    const { heartbeats, relay } = await this.status();
    return { last: heartbeats.last ? new Date(heartbeats.last) : undefined, windowMinutes: heartbeats.windowMinutes ?? undefined, lookedBack: `since the local relay started (${relay.startedAt})` };
  }

  async claim(id: string): Promise<Claim | undefined> {
    if (!this.table) {
      const { table } = await this.status();
      if (!table) return undefined;
      // dynalite checks that a request is signed, not by whom.
      this.table = { client: new DynamoDBClient({ endpoint: table.endpoint, region: this.ref.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 }), name: table.name };
    }
    return readClaim(this.table.client, this.table.name, id);
  }

  close(): void {
    this.table?.client.destroy();
  }

  private async status(): Promise<LocalRelayStatus> {
    const status = await this.get<LocalRelayStatus>(LocalRelayPath.Status);
    if (!status) throw new RelayNotFound(`${this.ref.url} answers, but not as a local relay of this version`, 'another program holds the port, or the local relay is older than this relay doctor', 'restart the local relay (npm start)');
    return status;
  }

  /** A GET on the relay's own port; undefined for a 404 (a part the relay does not have). */
  private async get<T>(path: string, missingIsUndefined = false): Promise<T | undefined> {
    let answer;
    try {
      answer = await send(new URL(path, this.ref.url), { method: 'GET', headers: { connection: 'close' }, body: '', timeoutMs: 5000 });
    } catch (error) {
      throw new RelayNotFound(`nothing answers at ${this.ref.url} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        `${this.ref.settingsFile} names it, but no local relay is listening there`, 'start it with npm start (or npx relay local) in this folder');
    }
    if (answer.status === 404 && missingIsUndefined) return undefined;
    if (answer.status !== 200) return undefined;
    return JSON.parse(answer.text) as T;
  }
}
