/**
 * SQS for local mode: the template's queues as {@link FifoQueue}s (journaled under
 * `.relay/lanes/`), redrive policies wired to their dead-letter queues, addressed by the queue
 * URLs the state machines' tasks carry.
 */
import { join } from 'node:path';
import { FifoQueue, type SendMessageInput } from './fifo-queue';
import { TaskFailure } from './state-machine-runner';
import { resolveIntrinsics, type CfnTemplate, type QueueSpec, type StandIns } from './synthesized-template';

export interface LocalSqsOptions {
  readonly template: CfnTemplate;
  readonly specs: readonly QueueSpec[];
  readonly standIns: Required<Pick<StandIns, 'region' | 'accountId'>>;
  /** Where the journals live; in memory when omitted. */
  readonly dir?: string;
  /** Replaces every queue's visibility timeout (ms), to shorten tests. @default - the template's */
  readonly visibilityTimeoutMs?: number;
  readonly now?: () => number;
}

export class LocalSqs {
  /** Queues by logical id. */
  public readonly queues = new Map<string, FifoQueue>();
  private readonly byUrl = new Map<string, FifoQueue>();

  constructor(options: LocalSqsOptions) {
    // Dead-letter queues first: a source queue's redrive policy needs its target.
    const ordered = [...options.specs].sort((a, b) => Number(Boolean(a.redrive)) - Number(Boolean(b.redrive)));
    for (const spec of ordered) {
      if (!spec.fifo) throw new Error(`queue ${spec.logicalId} is a standard queue; local mode emulates FIFO queues only`);
      const dlq = spec.redrive && this.queues.get(spec.redrive.deadLetterLogicalId);
      const queue = new FifoQueue({
        name: spec.name,
        arn: resolveIntrinsics({ 'Fn::GetAtt': [spec.logicalId, 'Arn'] }, options.template, options.standIns) as string,
        region: options.standIns.region,
        visibilityTimeoutMs: options.visibilityTimeoutMs ?? spec.visibilityTimeout * 1000,
        retentionMs: spec.retentionPeriod * 1000,
        contentBasedDeduplication: spec.contentBasedDeduplication,
        deduplicationScope: spec.deduplicationScope,
        deadLetter: dlq ? { queue: dlq, maxReceiveCount: spec.redrive!.maxReceiveCount } : undefined,
        journal: options.dir ? join(options.dir, `${spec.name}.jsonl`) : undefined,
        now: options.now,
      });
      this.queues.set(spec.logicalId, queue);
      this.byUrl.set(resolveIntrinsics({ Ref: spec.logicalId }, options.template, options.standIns) as string, queue);
    }
  }

  /** The `LocalService` the state machine runner calls for `sqs:*` tasks. */
  readonly call = async (action: string, parameters: Record<string, unknown>): Promise<unknown> => {
    const queue = this.byUrl.get(String(parameters.QueueUrl));
    if (!queue) throw new TaskFailure('SQS.QueueDoesNotExist', `The specified queue does not exist: ${String(parameters.QueueUrl)}`);
    if (action === 'sendMessageBatch') return sendMessageBatch(queue, parameters.Entries);
    if (action !== 'sendMessage') throw new TaskFailure('SQS.InvalidAction', `local mode does not emulate sqs:${action}`);
    return queue.send(parameters as unknown as SendMessageInput);
  };
}

const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * SendMessageBatch as SQS answers it: up to 10 entries with distinct ids, each sent in order (a
 * FIFO batch keeps them in that order), each entry's failure reported in `Failed` while the call
 * itself succeeds; a malformed batch as a whole is the call's error. The SDK integration names its
 * errors `Sqs.<Exception>`.
 */
export function sendMessageBatch(queue: FifoQueue, entries: unknown): { Successful: unknown[]; Failed: unknown[] } {
  if (!Array.isArray(entries) || entries.length === 0) throw new TaskFailure('Sqs.EmptyBatchRequestException', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  if (entries.length > 10) throw new TaskFailure('Sqs.TooManyEntriesInBatchRequestException', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
  const ids = entries.map((e: { Id?: unknown }) => e?.Id);
  if (ids.some((id) => typeof id !== 'string' || !BATCH_ENTRY_ID.test(id))) throw new TaskFailure('Sqs.InvalidBatchEntryIdException', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
  if (new Set(ids).size !== ids.length) throw new TaskFailure('Sqs.BatchEntryIdsNotDistinctException', 'Two or more batch entries in the request have the same Id.');
  const Successful: unknown[] = [];
  const Failed: unknown[] = [];
  for (const entry of entries as (SendMessageInput & { Id: string })[]) {
    try {
      Successful.push({ Id: entry.Id, ...queue.send(entry) });
    } catch (error) {
      const e = error as Error & { code?: string };
      Failed.push({ Id: entry.Id, SenderFault: true, Code: e.name.replace(/^SQS\./, ''), Message: e.message });
    }
  }
  return { Successful, Failed };
}
