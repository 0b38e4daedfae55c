/**
 * An SQS FIFO queue for local mode, in-process (no maintained SQS implementation exists on npm),
 * following SQS's documented FIFO semantics:
 * - order within a message group; while any message of a group is in flight, no other message
 *   of that group is handed out (so one batch in flight per group);
 * - a `MessageDeduplicationId` (or the body's SHA-256 with content-based deduplication) seen in
 *   the last 5 minutes is accepted but not queued again, and answers with the first message's id;
 * - a received message is hidden for the visibility timeout and returns if not deleted; a message
 *   received `maxReceiveCount` times moves to the dead-letter queue on its next receive;
 * - messages older than the retention period are dropped.
 * Every change is appended to a journal file before the call returns, so a crash (even `kill -9`)
 * loses nothing queued; the journal is compacted on open.
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TaskFailure } from './state-machine-runner';

export const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
/** SQS's cap on a message body: 1 MiB since August 2025 (was 256 KiB; register row "payload limits"). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** The longest deduplication id SQS takes. */
const MAX_ID_LENGTH = 128;
/** ReceiveMessage hands out at most 10 messages. */
export const MAX_RECEIVE = 10;

export interface MessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
}

export interface SendMessageInput {
  readonly MessageBody: unknown;
  readonly MessageGroupId?: unknown;
  readonly MessageDeduplicationId?: unknown;
  readonly MessageAttributes?: Record<string, MessageAttribute>;
}

/** A message as a pipe (or Lambda) receives it from SQS. */
export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Record<string, { dataType: string; stringValue?: string }>;
  readonly md5OfBody: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

interface StoredMessage {
  id: string;
  body: string;
  groupId: string;
  dedupId: string;
  sentAt: number;
  sequence: string;
  attributes: Record<string, MessageAttribute>;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
  receipt?: string;
}

type JournalEntry =
  | { op: 'send'; m: StoredMessage }
  | { op: 'receive'; id: string; receipt: string; visibleAt: number; receiveCount: number; firstReceivedAt: number }
  | { op: 'visibility'; id: string; visibleAt: number }
  | { op: 'delete'; id: string }
  | { op: 'dedupe'; dedupId: string; messageId: string; until: number };

export interface FifoQueueOptions {
  readonly name: string;
  readonly arn: string;
  readonly region: string;
  /** @default 30000 (SQS's default) */
  readonly visibilityTimeoutMs?: number;
  /** @default 4 days */
  readonly retentionMs?: number;
  readonly contentBasedDeduplication?: boolean;
  /**
   * SQS's `DeduplicationScope`: a deduplication id is remembered for the whole queue, or per
   * message group (the same id in two groups is two messages). @default 'queue' (SQS's default)
   */
  readonly deduplicationScope?: 'queue' | 'messageGroup';
  readonly deadLetter?: { readonly queue: FifoQueue; readonly maxReceiveCount: number };
  /** Journal file; in memory only when omitted. */
  readonly journal?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function invalid(message: string, code = 'InvalidParameterValue'): TaskFailure {
  return new TaskFailure(`SQS.${code}`, message);
}

export class FifoQueue {
  private readonly messages = new Map<string, StoredMessage>();
  private readonly dedupe = new Map<string, { messageId: string; until: number }>();
  private readonly listeners: Array<() => void> = [];
  private sequence = 0n;
  private readonly now: () => number;

  constructor(private readonly options: FifoQueueOptions) {
    this.now = options.now ?? Date.now;
    if (options.journal) this.openJournal(options.journal);
  }

  get name(): string {
    return this.options.name;
  }

  /** Called after a message is queued (the local pipe polls on it). */
  onMessage(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** What a deduplication id is remembered under: itself, or itself within its group. */
  private dedupeKey(groupId: string, dedupId: string): string {
    return this.options.deduplicationScope === 'messageGroup' ? `${groupId}\u0000${dedupId}` : dedupId;
  }

  /** SendMessage. */
  send(input: SendMessageInput): { MessageId: string; SequenceNumber: string; MD5OfMessageBody: string } {
    const body = typeof input.MessageBody === 'string' ? input.MessageBody : JSON.stringify(input.MessageBody);
    if (!body) throw invalid('The request must contain the parameter MessageBody.', 'MissingParameter');
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) throw invalid(`One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
    if (typeof input.MessageGroupId !== 'string' || input.MessageGroupId === '') throw invalid('The request must contain the parameter MessageGroupId.', 'MissingParameter');
    let dedupId = input.MessageDeduplicationId;
    if (dedupId === undefined && this.options.contentBasedDeduplication) dedupId = createHash('sha256').update(body).digest('hex');
    if (typeof dedupId !== 'string' || dedupId === '') {
      throw invalid('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    }
    // SendMessage: "The maximum length of MessageDeduplicationId is 128 characters".
    if (dedupId.length > MAX_ID_LENGTH) throw invalid(`Value ${dedupId} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to ${MAX_ID_LENGTH} in length.`);
    const now = this.now();
    const seen = this.dedupe.get(this.dedupeKey(input.MessageGroupId, dedupId));
    if (seen && seen.until > now) return { MessageId: seen.messageId, SequenceNumber: '', MD5OfMessageBody: md5(body) };
    const m: StoredMessage = {
      id: randomUUID(), body, groupId: input.MessageGroupId, dedupId, sentAt: now, sequence: this.nextSequence(),
      attributes: input.MessageAttributes ?? {}, receiveCount: 0, visibleAt: now,
    };
    this.record({ op: 'send', m });
    for (const listener of this.listeners) listener();
    return { MessageId: m.id, SequenceNumber: m.sequence, MD5OfMessageBody: md5(body) };
  }

  /** ReceiveMessage: up to `max` messages, never one of a group that has a message in flight. */
  receive(max: number = MAX_RECEIVE, visibilityTimeoutMs: number = this.options.visibilityTimeoutMs ?? 30_000): SqsRecord[] {
    const now = this.now();
    this.dropExpired(now);
    const locked = new Set<string>();
    for (const m of this.messages.values()) if (m.visibleAt > now) locked.add(m.groupId);
    const out: SqsRecord[] = [];
    for (const m of [...this.messages.values()]) {
      if (out.length >= Math.min(max, MAX_RECEIVE)) break;
      if (locked.has(m.groupId)) continue;
      const dlq = this.options.deadLetter;
      if (dlq && m.receiveCount >= dlq.maxReceiveCount) {
        dlq.queue.adopt(m);
        this.record({ op: 'delete', id: m.id });
        continue;
      }
      const receipt = `${m.id}#${randomUUID()}`;
      this.record({ op: 'receive', id: m.id, receipt, visibleAt: now + visibilityTimeoutMs, receiveCount: m.receiveCount + 1, firstReceivedAt: m.firstReceivedAt ?? now });
      out.push(this.toRecord(m));
    }
    return out;
  }

  /** DeleteMessage; false when the receipt handle is no longer current (the message was handed out again). */
  delete(receiptHandle: string): boolean {
    const m = this.messages.get(receiptHandle.split('#')[0]);
    if (!m || m.receipt !== receiptHandle) return false;
    this.record({ op: 'delete', id: m.id });
    return true;
  }

  /** ChangeMessageVisibility. */
  changeVisibility(receiptHandle: string, timeoutMs: number): boolean {
    const m = this.messages.get(receiptHandle.split('#')[0]);
    if (!m || m.receipt !== receiptHandle) return false;
    this.record({ op: 'visibility', id: m.id, visibleAt: this.now() + timeoutMs });
    return true;
  }

  /** When the next hidden message becomes visible (ms epoch), if any is hidden. */
  nextVisibleAt(): number | undefined {
    const now = this.now();
    let next: number | undefined;
    for (const m of this.messages.values()) if (m.visibleAt > now && (next === undefined || m.visibleAt < next)) next = m.visibleAt;
    return next;
  }

  /** ApproximateNumberOfMessages / …NotVisible. */
  get depth(): { visible: number; inFlight: number } {
    const now = this.now();
    let inFlight = 0;
    for (const m of this.messages.values()) if (m.visibleAt > now) inFlight++;
    return { visible: this.messages.size - inFlight, inFlight };
  }

  /** ApproximateAgeOfOldestMessage, in ms: how long the oldest message still queued (in flight or not) has waited. */
  oldestAgeMs(): number | undefined {
    let oldest: number | undefined;
    for (const m of this.messages.values()) if (oldest === undefined || m.sentAt < oldest) oldest = m.sentAt;
    return oldest === undefined ? undefined : Math.max(0, this.now() - oldest);
  }

  /** What is queued, oldest first, without receiving it (for inspection). */
  peek(): Array<{ messageId: string; groupId: string; body: string; receiveCount: number; attributes: Record<string, MessageAttribute> }> {
    return [...this.messages.values()].map((m) => ({ messageId: m.id, groupId: m.groupId, body: m.body, receiveCount: m.receiveCount, attributes: m.attributes }));
  }

  /**
   * Moves every message to `target` (a dead-letter queue's redrive to its source), oldest first,
   * keeping id, body, group and attributes; returns how many moved.
   */
  moveAllTo(target: FifoQueue): number {
    const moving = [...this.messages.values()];
    for (const m of moving) {
      target.adopt(m);
      this.record({ op: 'delete', id: m.id });
    }
    return moving.length;
  }

  /** Takes a message moved here by a source queue's redrive policy: same id, body, group and attributes. */
  adopt(source: { id: string; body: string; groupId: string; dedupId: string; sentAt: number; attributes: Record<string, MessageAttribute> }): void {
    const now = this.now();
    this.record({
      op: 'send',
      m: { id: source.id, body: source.body, groupId: source.groupId, dedupId: source.dedupId, sentAt: source.sentAt, sequence: this.nextSequence(), attributes: source.attributes, receiveCount: 0, visibleAt: now },
    });
    for (const listener of this.listeners) listener();
  }

  private toRecord(m: StoredMessage): SqsRecord {
    return {
      messageId: m.id, receiptHandle: m.receipt!, body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt), SequenceNumber: m.sequence, MessageGroupId: m.groupId,
        SenderId: 'LOCAL', MessageDeduplicationId: m.dedupId, ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
      },
      messageAttributes: Object.fromEntries(Object.entries(m.attributes).map(([k, v]) => [k, { dataType: v.DataType, stringValue: v.StringValue }])),
      md5OfBody: md5(m.body), eventSource: 'aws:sqs', eventSourceARN: this.options.arn, awsRegion: this.options.region,
    };
  }

  private dropExpired(now: number): void {
    const retention = this.options.retentionMs ?? 4 * 24 * 3600_000;
    for (const m of [...this.messages.values()]) if (m.sentAt + retention <= now) this.record({ op: 'delete', id: m.id });
  }

  private nextSequence(): string {
    this.sequence += 1n;
    return this.sequence.toString().padStart(20, '0');
  }

  /** Applies a change in memory and, with a journal, on disk first. */
  private record(entry: JournalEntry): void {
    if (this.options.journal) appendFileSync(this.options.journal, `${JSON.stringify(entry)}\n`);
    this.apply(entry);
  }

  private apply(entry: JournalEntry): void {
    switch (entry.op) {
      case 'send':
        this.messages.set(entry.m.id, { ...entry.m });
        this.dedupe.set(this.dedupeKey(entry.m.groupId, entry.m.dedupId), { messageId: entry.m.id, until: entry.m.sentAt + DEDUPLICATION_WINDOW_MS });
        this.sequence = BigInt(entry.m.sequence) > this.sequence ? BigInt(entry.m.sequence) : this.sequence;
        break;
      case 'receive': {
        const m = this.messages.get(entry.id);
        if (m) Object.assign(m, { receipt: entry.receipt, visibleAt: entry.visibleAt, receiveCount: entry.receiveCount, firstReceivedAt: entry.firstReceivedAt });
        break;
      }
      case 'visibility': {
        const m = this.messages.get(entry.id);
        if (m) m.visibleAt = entry.visibleAt;
        break;
      }
      case 'delete':
        this.messages.delete(entry.id);
        break;
      case 'dedupe':
        this.dedupe.set(entry.dedupId, { messageId: entry.messageId, until: entry.until });
        break;
    }
  }

  /** Replays the journal, then rewrites it with only what still matters (live messages, open dedupe windows). */
  private openJournal(file: string): void {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          this.apply(JSON.parse(line) as JournalEntry);
        } catch {
          // A line torn by a crash mid-write: everything before it stands.
        }
      }
    }
    const now = this.now();
    const live = [...this.messages.values()].map((m): JournalEntry => ({ op: 'send', m }));
    const windows = [...this.dedupe.entries()]
      .filter(([, d]) => d.until > now)
      .map(([dedupId, d]): JournalEntry => ({ op: 'dedupe', dedupId, messageId: d.messageId, until: d.until }));
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, [...windows, ...live].map((e) => `${JSON.stringify(e)}\n`).join(''));
    renameSync(tmp, file);
  }
}
