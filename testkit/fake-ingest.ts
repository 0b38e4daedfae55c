/** A scriptable HTTP server standing in for the ingest API in client and CLI tests. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Answer =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | 'hang'
  | 'reset';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Answers what a relay that takes batches answers to a forwarder's batch probe (`RelayClient.acceptsBatches`). */
export function batchProbeAnswer(request: ReceivedRequest): Answer {
  const envelope = JSON.parse(request.body) as { v?: number; id?: string; payload?: string };
  if (envelope.v !== 2) return { status: 200, body: { executionArn: 'arn:x', status: 'FAILED', error: 'Relay.Malformed', cause: 'not a batch probe' } };
  const events = (JSON.parse(envelope.payload ?? '[]') as { id: string }[]).map(({ id }) => ({ id, kind: 'relay.probe', outcome: 'checked' }));
  return { status: 200, body: { executionArn: 'arn:x', status: 'SUCCEEDED', output: JSON.stringify({ id: envelope.id, events }) } };
}

export class FakeIngest {
  public readonly requests: ReceivedRequest[] = [];
  /** Requests answered by a `respondTo` handler, apart from the scripted ones. */
  public readonly handled: ReceivedRequest[] = [];
  private readonly handlers = new Map<string, (request: ReceivedRequest) => Answer>();
  private answers: Answer[] = [];
  private fallback: Answer = { status: 200, body: { executionArn: 'arn:aws:states:eu-west-1:123456789012:express:Relay:exec-1', startDate: 1.7e9 } };
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const handler = this.handlers.get(request.path);
        if (handler) this.handled.push(request);
        else this.requests.push(request);
        const answer = handler ? handler(request) : (this.answers.shift() ?? this.fallback);
        if (answer === 'hang') return; // never answers; the client must time out
        if (answer === 'reset') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers for the next requests, in order; afterwards every request gets `fallback`. */
  script(...answers: Answer[]): void {
    this.answers = answers;
    this.requests.length = 0;
  }

  /** Answers every request to `path` with `handler`, outside the script (e.g. {@link batchProbeAnswer} for `/events/sync`). */
  respondTo(path: string, handler: (request: ReceivedRequest) => Answer): void {
    this.handlers.set(path, handler);
  }

  setFallback(answer: Answer): void {
    this.fallback = answer;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The envelopes received, parsed. */
  envelopes(): Array<Record<string, unknown>> {
    return this.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  }
}
