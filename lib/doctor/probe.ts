/**
 * The doctor's signed requests: a probe heartbeat (and, with `--post`, a test message) sent to
 * `POST /events/sync` exactly as a forwarder sends events — Ed25519 envelope, SigV4 request —
 * once, with the raw answer kept so that every way it can fail is told apart.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { EventType } from '../contracts/events';
import { IngestRoute } from '../contracts/routes';
import { RelayClient } from '../client/relay-client';

/** The key id a probe is signed under when no key was given: the relay answers Relay.UnknownKey, which still proves the way in. */
export const NO_KEY_KID = 'relay-doctor-no-key';

export interface SyncAnswer {
  readonly status: string;
  readonly error?: string;
  readonly cause?: string;
  readonly output?: Record<string, unknown>;
}

export interface ProbeAnswer {
  readonly id: string;
  /** The HTTP status; undefined when nothing answered. */
  readonly status?: number;
  /** Why nothing answered (network error or timeout). */
  readonly network?: string;
  readonly text: string;
  /** `POST /events/sync`'s answer when the status was 200. */
  readonly sync?: SyncAnswer;
  /** This machine's clock minus the relay's (its `Date` header), in whole seconds. */
  readonly skewSeconds?: number;
  readonly ms: number;
}

export interface ProbeTarget {
  readonly url: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
  /** Undefined: sign with a throwaway key under {@link NO_KEY_KID}. */
  readonly key?: { readonly kid: string; readonly privateKey: KeyObject };
  /** @default 15000 */
  readonly timeoutMs?: number;
}

export class Prober {
  private readonly client: RelayClient;

  constructor(target: ProbeTarget) {
    const key = target.key ?? { kid: NO_KEY_KID, privateKey: generateKeyPairSync('ed25519').privateKey };
    this.client = new RelayClient({ url: target.url, region: target.region, credentials: target.credentials, kid: key.kid, privateKey: key.privateKey, timeoutMs: target.timeoutMs ?? 15_000, maxAttempts: 1 });
  }

  /** A heartbeat the relay verifies and answers without recording it (`probe: true`). */
  heartbeat(name: string): Promise<ProbeAnswer> {
    return this.send({ type: EventType.ForwarderHeartbeat, forwarder: name, probe: true, at: new Date().toISOString() }, `doctor:probe:${randomUUID()}`);
  }

  /** One labelled test message for `channel`. */
  testMessage(channel: string, name: string): Promise<ProbeAnswer> {
    return this.send({ type: EventType.RelayTest, channel, from: name }, `doctor:post:${randomUUID()}`);
  }

  private async send(event: unknown, id: string): Promise<ProbeAnswer> {
    const started = Date.now();
    try {
      const { answer, ms } = await this.client.attempt(IngestRoute.EventsSync, event, { id });
      const date = Date.parse(answer.headers.date ?? '');
      // Date is written as the answer leaves (after the execution) and cut to the second: it reads ~0.5 s early.
      const skewSeconds = Number.isNaN(date) ? undefined : Math.round((started + ms - date - 500) / 1000);
      return { id, status: answer.status, text: answer.text, sync: answer.status === 200 ? parseSync(answer.text) : undefined, skewSeconds, ms };
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.name === 'CredentialsProviderError' || e.name === 'RelayClientError') throw error;
      return { id, network: e.code ?? e.message, text: '', ms: Date.now() - started };
    }
  }
}

function parseSync(text: string): SyncAnswer | undefined {
  try {
    const b = JSON.parse(text) as { status?: string; error?: string; cause?: string; output?: string };
    if (typeof b.status !== 'string') return undefined;
    let output: Record<string, unknown> | undefined;
    try {
      output = typeof b.output === 'string' ? (JSON.parse(b.output) as Record<string, unknown>) : undefined;
    } catch {
      output = undefined;
    }
    return { status: b.status, error: b.error, cause: b.cause, output };
  } catch {
    return undefined;
  }
}
