/**
 * The delivery lanes in local mode, from the synthesized template: the lane and dead-letter queues
 * as journaled FIFO queues, and the pipe running the delivery workflow's definition on each batch,
 * over the relay's tables on dynalite (which the local relay starts and stops). State lives under
 * `<stateDir>/lanes`, so what was queued survives a restart.
 */
import { join } from 'node:path';
import { createDeliveryHandlers } from '../delivery/handlers';
import type { LocalDynamoDb } from './dynamodb-emulator';
import type { FifoQueue } from './fifo-queue';
import { LanePipeEmulator } from './lane-pipe-emulator';
import { LocalSqs } from './sqs-emulator';
import { LocalStateMachine, type PostRequest, type PostResponse } from './state-machine-runner';
import { StateMachineId, pipeSpec, queueSpecs, stateMachineDefinition, type CfnTemplate } from './synthesized-template';

export interface LocalLanesOptions {
  readonly template: CfnTemplate;
  readonly standIns: { readonly region: string; readonly accountId: string };
  readonly post: (request: PostRequest) => Promise<PostResponse>;
  /** The template's tables (the dedupe table among them); the caller stops it after the lanes. */
  readonly dynamodb: LocalDynamoDb;
  /** Where the queues keep their data; in memory when omitted. */
  readonly stateDir?: string;
  /** Replaces the Retry pauses of the delivery workflow (ms). @default - the definition's */
  readonly retryPauseMs?: number;
  /** Replaces the queues' visibility timeout (ms), to shorten tests. @default - the template's */
  readonly visibilityTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** True when the template has lanes (a pipe), false for the direct-delivery design. */
export function hasLanes(template: CfnTemplate): boolean {
  return Object.values(template.Resources).some((r) => r.Type === 'AWS::Pipes::Pipe');
}

export class LocalLanes {
  private constructor(
    public readonly dynamodb: LocalDynamoDb,
    public readonly sqs: LocalSqs,
    public readonly lane: FifoQueue,
    public readonly deadLetters: FifoQueue,
    public readonly pipe: LanePipeEmulator,
    private readonly delivery: LocalStateMachine,
  ) {}

  static start(options: LocalLanesOptions): LocalLanes {
    const { template, stateDir, dynamodb } = options;
    const specs = queueSpecs(template);
    const sqs = new LocalSqs({ template, specs, standIns: options.standIns, dir: stateDir && join(stateDir, 'lanes'), visibilityTimeoutMs: options.visibilityTimeoutMs });
    const pipe = pipeSpec(template);
    const lane = sqs.queues.get(pipe.sourceQueue);
    const laneSpec = specs.find((s) => s.logicalId === pipe.sourceQueue);
    const deadLetters = laneSpec?.redrive && sqs.queues.get(laneSpec.redrive.deadLetterLogicalId);
    if (!lane || !deadLetters) throw new Error(`the pipe's source ${pipe.sourceQueue} is not a queue with a dead-letter queue in the template`);
    const delivery = new LocalStateMachine(stateMachineDefinition(template, options.standIns, StateMachineId.Delivery), {
      lambdas: createDeliveryHandlers(),
      post: options.post,
      dynamodb: dynamodb.call,
      sqs: sqs.call,
      retryPauseMs: options.retryPauseMs,
    });
    const emulator = new LanePipeEmulator({ queue: lane, target: delivery, batchSize: pipe.batchSize, log: options.log });
    emulator.start();
    return new LocalLanes(dynamodb, sqs, lane, deadLetters, emulator, delivery);
  }

  /**
   * Stops taking batches, waits up to `graceMs` for those in flight, then abandons the rest where
   * they are (their events stay in the lane's journal and are handed out again after the
   * visibility timeout, as SQS would after a crash).
   */
  async stop(graceMs: number): Promise<void> {
    await this.pipe.stop(graceMs);
    this.delivery.abortAll();
  }
}
