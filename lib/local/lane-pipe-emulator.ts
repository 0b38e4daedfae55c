/**
 * The EventBridge Pipe for local mode: takes batches from the lane queue as soon as they are
 * there and runs the delivery workflow on each (REQUEST_RESPONSE); a batch whose execution
 * succeeded is deleted, a failed one is left for the queue to hand out again after its
 * visibility timeout. Several batches may run at once, never two of one channel: the FIFO queue
 * keeps a group locked while its batch is in flight.
 */
import type { FifoQueue, SqsRecord } from './fifo-queue';
import type { ExecutionOutcome, LocalStateMachine } from './state-machine-runner';

export interface LanePipeEmulatorProps {
  readonly queue: FifoQueue;
  readonly target: Pick<LocalStateMachine, 'run'>;
  /** @default 10 */
  readonly batchSize?: number;
  /** Batches in flight at once. @default 5 */
  readonly maxConcurrency?: number;
  /** One readable line per batch. */
  readonly log?: (line: string) => void;
}

export class LanePipeEmulator {
  private readonly running = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private outcomes = { batches: 0, failedBatches: 0 };
  private lastSucceededAt?: number;

  constructor(private readonly props: LanePipeEmulatorProps) {
    // After the send returns, as a pipe's poll would follow it.
    props.queue.onMessage(() => setImmediate(() => this.poll()));
  }

  /** As DescribePipe's CurrentState reads: RUNNING until stopped. */
  get state(): 'RUNNING' | 'STOPPED' {
    return this.stopped ? 'STOPPED' : 'RUNNING';
  }

  /** `lastSucceededAt`: epoch ms of the last batch the delivery workflow finished (what ExecutionsSucceeded counts). */
  get stats(): { batches: number; failedBatches: number; inFlight: number; lastSucceededAt?: number } {
    return { ...this.outcomes, inFlight: this.running.size, ...(this.lastSucceededAt === undefined ? {} : { lastSucceededAt: this.lastSucceededAt }) };
  }

  /** Starts polling (what was queued before a restart is delivered now). */
  start(): void {
    this.poll();
  }

  /** Stops taking batches and waits up to `graceMs` for those in flight. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([Promise.allSettled([...this.running]), new Promise((ok) => setTimeout(ok, graceMs).unref())]);
  }

  /** Resolves when nothing is queued or in flight (tests and the bench). */
  async idle(pollMs = 20): Promise<void> {
    while (this.running.size > 0 || this.props.queue.depth.visible + this.props.queue.depth.inFlight > 0) {
      await new Promise((ok) => setTimeout(ok, pollMs));
    }
  }

  private poll(): void {
    if (this.stopped) return;
    while (this.running.size < (this.props.maxConcurrency ?? 5)) {
      const batch = this.props.queue.receive(this.props.batchSize ?? 10);
      if (batch.length === 0) break;
      const run: Promise<void> = this.deliver(batch).finally(() => {
        this.running.delete(run);
        this.poll();
      });
      this.running.add(run);
    }
    this.wakeWhenVisible();
  }

  /** A message hidden by a failed batch comes back after its visibility timeout: poll then. */
  private wakeWhenVisible(): void {
    clearTimeout(this.timer);
    const next = this.props.queue.nextVisibleAt();
    if (next !== undefined) this.timer = setTimeout(() => this.poll(), Math.max(0, next - Date.now()) + 5).unref();
  }

  private async deliver(batch: SqsRecord[]): Promise<void> {
    const started = Date.now();
    let outcome: ExecutionOutcome;
    try {
      outcome = await this.props.target.run(batch);
    } catch (error) {
      outcome = { status: 'FAILED', error: 'States.Runtime', cause: (error as Error).message };
    }
    this.outcomes.batches++;
    if (outcome.status === 'SUCCEEDED') {
      this.lastSucceededAt = Date.now();
      for (const record of batch) this.props.queue.delete(record.receiptHandle);
    } else {
      this.outcomes.failedBatches++;
    }
    this.props.log?.(describeBatch(batch.length, outcome, Date.now() - started, batch));
  }
}

/** One line per batch: what was posted (messages, and card updates apart), skipped or dead-lettered; ids and codes, never message text. */
export function describeBatch(size: number, outcome: ExecutionOutcome, ms: number, batch: readonly SqsRecord[] = []): string {
  if (outcome.status === 'FAILED') {
    return `✗ delivery   batch of ${size} failed (${outcome.error}: ${outcome.cause.slice(0, 160)}); the lane hands it out again after its visibility timeout`;
  }
  const o = outcome.output as { skipped?: string[]; malformed?: unknown[]; results?: Array<{ outcome: string; ids: string[]; error?: string }> };
  const results = o.results ?? [];
  const posted = results.filter((r) => r.outcome === 'posted');
  // Which posts were card updates: their events carry voice channels (read only when something was posted).
  const cardEvents = new Set(posted.length ? batch.flatMap((r) => {
    try {
      const event = JSON.parse(r.body) as { id?: string; voice?: unknown };
      return event.voice && event.id ? [event.id] : [];
    } catch {
      return [];
    }
  }) : []);
  const cards = posted.filter((r) => r.ids.length > 0 && r.ids.every((id) => cardEvents.has(id)));
  const messages = posted.filter((r) => !cards.includes(r));
  const events = (rs: typeof posted) => rs.reduce((n, r) => n + r.ids.length, 0);
  const skipped = o.skipped?.length ?? 0;
  const deadLettered = events(results.filter((r) => r.outcome === 'dead-lettered'));
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts: string[] = [];
  if (messages.length || !cards.length) parts.push(`${plural(events(messages), 'event')} in ${plural(messages.length, 'message')}`);
  if (cards.length) parts.push(`${plural(events(cards), 'event')} on ${plural(cards.length, 'card update')}`);
  if (skipped) parts.push(`${skipped} already delivered`);
  if (deadLettered) parts.push(`${deadLettered} dead-lettered (${results.filter((r) => r.error).map((r) => r.error).join(', ')})`);
  const malformed = o.malformed?.length ?? 0;
  if (malformed) parts.push(`${malformed} unreadable, dead-lettered (Relay.Malformed)`);
  // Which lanes the batch came from (the message groups are the channels): names only, never text.
  const channels = [...new Set(batch.map((r) => r.attributes?.MessageGroupId).filter((g): g is string => typeof g === 'string'))];
  const where = channels.length ? ` on ${channels.map((c) => `#${c}`).join(', ')}` : '';
  return `${deadLettered || malformed ? '!' : '✓'} posted     ${parts.join(', ')}${where}  (${ms} ms)`;
}
