/**
 * Whether the relay takes batched envelopes, as the forwarder knows it: asked at start, again
 * every `retryMs` while the answer is no and every `recheckMs` while it is yes (a relay rolled back
 * to a version without batches would fail them after the spool let go). Until the relay has said
 * yes, every event goes alone.
 */
import type { Logger } from './logger';

/** How often a forwarder whose relay did not (yet) take batches asks again. */
export const BATCH_PROBE_INTERVAL_MS = 5 * 60_000;
/** How often a forwarder whose relay takes batches makes sure it still does. */
export const BATCH_RECHECK_INTERVAL_MS = 60 * 60_000;
/** How long events waiting together wait for the relay's answer before going alone. */
const BATCH_PROBE_WAIT_MS = 10_000;

export interface BatchProbeIntervals {
  readonly retryMs: number;
  readonly recheckMs: number;
}

export class BatchSupport {
  private answer: 'unknown' | 'asking' | 'yes' | 'no' = 'unknown';
  private nextAskAt = 0;
  private asking?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly every: BatchProbeIntervals;

  constructor(
    private readonly ask: () => Promise<boolean>,
    private readonly log: Logger,
    every?: BatchProbeIntervals,
  ) {
    this.every = every ?? { retryMs: BATCH_PROBE_INTERVAL_MS, recheckMs: BATCH_RECHECK_INTERVAL_MS };
  }

  /** Asks on a clock, not only when events wait: a roll-back is noticed before the next batch. */
  startClock(): void {
    if (!this.stopped) this.timer = setInterval(() => this.askIfDue(), Math.min(this.every.retryMs, this.every.recheckMs));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Asks the relay in the background when it is time to. */
  askIfDue(): void {
    if (this.stopped || this.asking || Date.now() < this.nextAskAt) return;
    if (this.answer === 'unknown') this.answer = 'asking';
    this.asking = this.ask().then(
      (yes) => {
        const answer = yes ? 'yes' : 'no';
        if (answer !== this.answer) {
          if (yes) this.log.info('the relay takes batches: what waits goes out together');
          else this.log.warn('the relay does not take batches (deployed before them?): each event goes alone; asking again later');
        }
        this.answer = answer;
      },
      (error: Error) => {
        // Unreachable: keep what we knew; until the relay has said yes once, every event goes alone.
        if (this.answer === 'asking') this.answer = 'no';
        this.log.debug('could not ask the relay whether it takes batches', { error: error.message.split('\n')[0] });
      },
    ).finally(() => {
      this.asking = undefined;
      this.nextAskAt = Date.now() + (this.answer === 'yes' ? this.every.recheckMs : this.every.retryMs);
    });
  }

  /**
   * Whether several waiting events may go as one batch. While the first answer is awaited, a lone
   * event goes at once; several waiting (`severalWaiting`: a spool after an outage) wait for it,
   * up to 10 s.
   */
  async takesBatches(severalWaiting: boolean): Promise<boolean> {
    this.askIfDue();
    if (this.answer === 'asking' && this.asking && severalWaiting) {
      await Promise.race([this.asking, new Promise((r) => setTimeout(r, BATCH_PROBE_WAIT_MS).unref())]);
    }
    return this.answer === 'yes';
  }
}
