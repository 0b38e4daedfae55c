/**
 * The ingest API as API Gateway's HTTP API runs it: the template's Step Functions routes, SigV4
 * checked like AWS_IAM, API Gateway's limits and answers, and StartExecution /
 * StartSyncExecution's response shapes. The sink's routes share its port.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ENVELOPE_ID_PATTERN } from '../contracts/envelope';
import { RelayErrorCode } from '../contracts/errors';
import { RelayOutcome } from '../contracts/lane';
import { MAX_BODY_BYTES, MAX_HEADER_BYTES, headerBytes, pathOf, readBody, sendJson } from './http-util';
import type { ExecutionOutcome, LocalStateMachine } from './state-machine-runner';
import type { SigV4Verifier } from './sigv4-verifier';
import type { SinkRoutes } from './sink-routes';
import type { LaneRoutes } from './lane-routes';
import type { StatusRoutes } from './status-routes';
import type { InteractionsRoutes } from './interactions-routes';
import type { IngestRouteSpec } from './synthesized-template';

/** Step Functions' cap on an execution's input. */
export const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;
const INVALID_INPUT = 'com.amazonaws.swf.service.v2.model#InvalidExecutionInput';

export interface IngestApiEmulatorProps {
  readonly routes: readonly IngestRouteSpec[];
  readonly verifier: SigV4Verifier;
  readonly relay: Pick<LocalStateMachine, 'run'>;
  readonly stateMachineArn: string;
  readonly sink: SinkRoutes;
  /** `/_lanes` (absent with direct delivery). */
  readonly lanes?: LaneRoutes;
  /** `/_status`, what `relay doctor` reads. */
  readonly status?: StatusRoutes;
  /** `POST /interactions` (with `discordApp` only). */
  readonly interactions?: InteractionsRoutes;
  /** One readable line per outcome or refusal. */
  readonly log: (line: string) => void;
}

interface Execution {
  readonly outcome: ExecutionOutcome;
  readonly started: number;
  readonly stopped: number;
}

export class IngestApiEmulator {
  private readonly routes: ReadonlyMap<string, IngestRouteSpec>;
  private readonly inflight = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(private readonly props: IngestApiEmulatorProps) {
    this.routes = new Map(props.routes.map((r) => [`${r.method} ${r.path}`, r]));
  }

  /** Asynchronous executions still running. */
  get running(): number {
    return this.inflight.size;
  }

  /** Refuses new executions from now on (503), while the sink and the lanes finish what is under way. */
  stopAccepting(): void {
    this.stopping = true;
  }

  /** Waits up to `graceMs` for asynchronous executions to finish. */
  async drain(graceMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((ok) => setTimeout(ok, graceMs).unref())]);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    if (this.props.sink.matches(path)) return this.props.sink.handle(req, res, path);
    if (this.props.lanes?.matches(path)) return this.props.lanes.handle(req, res, path);
    if (this.props.status?.matches(path)) return this.props.status.handle(req, res);
    if (this.props.interactions?.matches(path)) return this.stopping ? sendJson(res, 503, { message: 'Service Unavailable' }) : this.props.interactions.handle(req, res);
    if (req.method === 'GET' && path === '/') return sendJson(res, 302, '', { location: '/_sink' });
    const route = this.routes.get(`${req.method} ${path}`);
    if (!route) return sendJson(res, 404, { message: 'Not Found' });
    if (this.stopping) return sendJson(res, 503, { message: 'Service Unavailable' });
    if (headerBytes(req) > MAX_HEADER_BYTES) return sendJson(res, 431, { message: 'Request Header Fields Too Large' });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return sendJson(res, 413, { message: 'Request Entity Too Large' });
    const auth = await this.props.verifier.verify({ method: req.method ?? '', rawUrl: req.url ?? '/', headers: req.headers, body });
    if (!auth.ok) {
      this.props.log(`✗ 403        ${req.method} ${path}: ${auth.message}`);
      return sendJson(res, 403, { message: auth.message });
    }
    // What StartExecution itself refuses.
    if (body.length > MAX_EXECUTION_INPUT_BYTES) return sendJson(res, 400, { __type: INVALID_INPUT, message: `Input exceeds the ${MAX_EXECUTION_INPUT_BYTES}-byte limit` });
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return sendJson(res, 400, { __type: INVALID_INPUT, message: `Invalid State Machine Execution Input: '${(error as Error).message}'` });
    }
    return route.subtype === 'StepFunctions-StartExecution' ? this.start(res, input) : this.startSync(res, input, body);
  }

  private start(res: ServerResponse, input: unknown): void {
    // Nobody awaits an asynchronous execution: its failure is a log line, never an unhandled rejection.
    const run = this.execute(input)
      .catch((error: Error) => this.props.log(`! execution error: ${error.name}: ${error.message.slice(0, 200)}`))
      .finally(() => this.inflight.delete(run));
    this.inflight.add(run);
    sendJson(res, 200, { executionArn: this.executionArn(randomUUID()), startDate: Date.now() / 1000 });
  }

  private async startSync(res: ServerResponse, input: unknown, body: Buffer): Promise<void> {
    const name = randomUUID();
    const { outcome, started, stopped } = await this.execute(input);
    sendJson(res, 200, {
      executionArn: this.executionArn(name), stateMachineArn: this.props.stateMachineArn, name, startDate: started / 1000, stopDate: stopped / 1000,
      status: outcome.status,
      ...(outcome.status === 'SUCCEEDED' ? { output: JSON.stringify(outcome.output), outputDetails: { included: true } } : { error: outcome.error, cause: outcome.cause }),
      input: body.toString('utf8'), inputDetails: { included: true },
      billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: Math.max(100, Math.ceil((stopped - started) / 100) * 100) },
    });
  }

  private executionArn(name: string): string {
    return `${this.props.stateMachineArn.replace(':stateMachine:', ':express:')}:${name}:${randomUUID()}`;
  }

  private async execute(input: unknown): Promise<Execution> {
    const claimed = (input as { id?: unknown } | null)?.id;
    const id = typeof claimed === 'string' && ENVELOPE_ID_PATTERN.test(claimed) ? claimed : '(no id)';
    const started = Date.now();
    const outcome = await this.props.relay.run(input);
    const stopped = Date.now();
    for (const line of describeOutcome(id, outcome, stopped - started)) this.props.log(line);
    return { outcome, started, stopped };
  }
}

/** One readable line per event (a batch's each on its own line); ids and codes, never payload text. */
export function describeOutcome(id: string, outcome: ExecutionOutcome, ms: number): string[] {
  if (outcome.status === 'SUCCEEDED') {
    const batch = outcome.output as { events?: unknown };
    if (Array.isArray(batch.events)) return batch.events.map((e: EventLine) => describeEvent(e.id ?? id, e, ms));
    return [describeEvent(id, outcome.output as EventLine, ms)];
  }
  return [describeFailure(id, outcome.error, outcome.cause)];
}

type EventLine = { id?: string; outcome?: string; kind?: string; channel?: string; code?: string; cause?: string };

function describeEvent(id: string, o: EventLine, ms: number): string {
  switch (o.outcome) {
    case RelayOutcome.Delivered:
      return `✓ delivered  ${o.kind} → #${o.channel}  ${id}  (${ms} ms)`;
    case RelayOutcome.Queued:
      return `→ queued     ${o.kind} → #${o.channel}  ${id}  (${ms} ms)`;
    case RelayOutcome.Recorded:
      return `♥ heartbeat  ${id}`;
    case RelayOutcome.Checked:
      return `✓ probe      verified and answered  ${id}`;
    case RelayOutcome.Duplicate:
      return `· duplicate  ${o.kind} → #${o.channel}  ${id}  ${o.code ?? ''}`.replace(/\s+$/, '');
    case RelayOutcome.Rejected:
      return `✗ rejected   ${o.code}  ${id}  (one event of a batch; the rest went on)`;
    case RelayOutcome.Failed:
      return describeFailure(id, o.code ?? RelayErrorCode.Internal, o.cause ?? '');
    default:
      return `· ignored    ${o.kind ?? ''}  ${id}  ${o.code ?? ''}`.replace(/\s+$/, '');
  }
}

function describeFailure(id: string, error: string, cause: string): string {
  let detail = cause;
  try {
    detail = (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    // not Lambda's JSON cause
  }
  const verb = error === RelayErrorCode.DeliveryFailed || error === RelayErrorCode.Internal ? 'failed  ' : 'rejected';
  return `✗ ${verb}   ${error}  ${id}  ${detail.slice(0, 200)}`;
}
