/** The local SQS FIFO queue against SQS's documented FIFO semantics, on a controlled clock. */
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEDUPLICATION_WINDOW_MS, FifoQueue, type FifoQueueOptions } from '../../lib/local/fifo-queue';
import { sendMessageBatch } from '../../lib/local/sqs-emulator';

let now = 1_000_000;
const clock = () => now;
const queue = (options: Partial<FifoQueueOptions> = {}) =>
  new FifoQueue({ name: 'lane.fifo', arn: 'arn:aws:sqs:us-east-1:123456789012:lane.fifo', region: 'us-east-1', visibilityTimeoutMs: 30_000, now: clock, ...options });
const send = (q: FifoQueue, id: string, group = 'general') => q.send({ MessageBody: { id }, MessageGroupId: group, MessageDeduplicationId: id });
const ids = (records: Array<{ body: string }>) => records.map((r) => (JSON.parse(r.body) as { id: string }).id);

beforeEach(() => {
  now = 1_000_000;
});

it('hands out a group in order and nothing more of it while a batch is in flight; other groups go on', () => {
  const q = queue();
  ['a1', 'a2', 'a3'].forEach((id) => send(q, id, 'a'));
  send(q, 'b1', 'b');
  const first = q.receive(2);
  expect(ids(first)).toEqual(['a1', 'a2']);
  expect(ids(q.receive(10))).toEqual(['b1']); // a is locked: a3 waits
  expect(q.receive(10)).toEqual([]);
  first.forEach((r) => expect(q.delete(r.receiptHandle)).toBe(true));
  expect(ids(q.receive(10))).toEqual(['a3']);
});

it('a deduplication id seen in the last 5 minutes is accepted but not queued again, in any group (deduplication is queue-wide)', () => {
  const q = queue();
  const original = send(q, 'x');
  expect(send(q, 'x').MessageId).toBe(original.MessageId);
  expect(send(q, 'x', 'other').MessageId).toBe(original.MessageId);
  expect(q.depth).toEqual({ visible: 1, inFlight: 0 });
  q.receive().forEach((r) => q.delete(r.receiptHandle));
  now += DEDUPLICATION_WINDOW_MS - 1;
  send(q, 'x');
  expect(q.depth.visible).toBe(0);
  now += 1;
  send(q, 'x');
  expect(q.depth.visible).toBe(1);
});

it('an undeleted message returns after the visibility timeout, with its receive count, and an old receipt no longer deletes it', () => {
  const q = queue();
  send(q, 'x');
  const [first] = q.receive();
  now += 29_999;
  expect(q.receive()).toEqual([]);
  expect(q.nextVisibleAt()).toBe(1_000_000 + 30_000);
  now += 1;
  const [again] = q.receive();
  expect(again.attributes.ApproximateReceiveCount).toBe('2');
  expect(q.delete(first.receiptHandle)).toBe(false);
  expect(q.delete(again.receiptHandle)).toBe(true);
});

it('after maxReceiveCount receives a message moves to the dead-letter queue, body, group and attributes intact, and the group goes on', () => {
  const dlq = queue({ name: 'dlq.fifo', contentBasedDeduplication: true });
  const q = queue({ deadLetter: { queue: dlq, maxReceiveCount: 2 } });
  q.send({ MessageBody: '{"id":"x"}', MessageGroupId: 'general', MessageDeduplicationId: 'x', MessageAttributes: { Why: { DataType: 'String', StringValue: 'test' } } });
  send(q, 'y');
  for (let i = 0; i < 2; i++) {
    expect(ids(q.receive(1))).toEqual(['x']);
    now += 30_000;
  }
  expect(ids(q.receive(1))).toEqual(['y']);
  expect(dlq.peek()).toEqual([{ messageId: expect.any(String), groupId: 'general', body: '{"id":"x"}', receiveCount: 0, attributes: { Why: { DataType: 'String', StringValue: 'test' } } }]);
});

it('with DeduplicationScope messageGroup, an id is remembered per group: the same id in another group is another message', () => {
  const q = queue({ deduplicationScope: 'messageGroup' });
  const first = send(q, 'x', 'general');
  expect(send(q, 'x', 'general').MessageId).toBe(first.MessageId);
  expect(send(q, 'x', 'team').MessageId).not.toBe(first.MessageId);
  expect(q.depth.visible).toBe(2);
});

it('refuses what SQS refuses, naming the parameter', () => {
  const q = queue();
  expect(() => q.send({ MessageBody: 'x', MessageDeduplicationId: 'd' })).toThrow(expect.objectContaining({ name: 'SQS.MissingParameter', message: expect.stringContaining('MessageGroupId') }));
  expect(() => q.send({ MessageBody: 'x', MessageGroupId: 'g' })).toThrow(expect.objectContaining({ name: 'SQS.InvalidParameterValue', message: expect.stringContaining('ContentBasedDeduplication') }));
  expect(() => q.send({ MessageBody: 'x'.repeat(1024 * 1024 + 1), MessageGroupId: 'g', MessageDeduplicationId: 'd' })).toThrow(expect.objectContaining({ name: 'SQS.InvalidParameterValue' }));
  expect(() => q.send({ MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd'.repeat(129) })).toThrow(expect.objectContaining({ name: 'SQS.InvalidParameterValue', message: expect.stringContaining('MessageDeduplicationId') }));
  expect(q.depth.visible).toBe(0);
  q.send({ MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd'.repeat(128) });
  expect(q.depth.visible).toBe(1);
  // Over the old 256 KiB cap, under today's 1 MiB one.
  q.send({ MessageBody: 'x'.repeat(256 * 1024 + 1), MessageGroupId: 'g', MessageDeduplicationId: 'big' });
  expect(q.depth.visible).toBe(2);
});

it('content-based deduplication uses the body', () => {
  const q = queue({ contentBasedDeduplication: true });
  q.send({ MessageBody: 'same', MessageGroupId: 'g' });
  q.send({ MessageBody: 'same', MessageGroupId: 'g' });
  q.send({ MessageBody: 'other', MessageGroupId: 'g' });
  expect(q.depth.visible).toBe(2);
});

it('drops messages older than the retention period', () => {
  const q = queue({ retentionMs: 60_000 });
  send(q, 'x');
  now += 60_000;
  expect(q.receive()).toEqual([]);
  expect(q.depth).toEqual({ visible: 0, inFlight: 0 });
});

it('survives a restart from its journal: queued and in-flight messages, receive counts and dedupe windows; a torn last line is ignored', () => {
  const journal = join(mkdtempSync(join(tmpdir(), 'fifo-')), 'lane.fifo.jsonl');
  const q = queue({ journal });
  send(q, 'a');
  send(q, 'b');
  send(q, 'c', 'other');
  const [a] = q.receive(1);
  q.delete(a.receiptHandle);
  q.receive(1); // b in flight when the process dies
  appendFileSync(journal, '{"op":"send","m":{"id":"tor');

  const reopened = queue({ journal });
  expect(reopened.depth).toEqual({ visible: 1, inFlight: 1 });
  send(reopened, 'a'); // still inside a's dedupe window
  expect(reopened.depth.visible).toBe(1);
  now += 30_000;
  const records = reopened.receive(10);
  expect(ids(records)).toEqual(['b', 'c']);
  expect(records[0].attributes.ApproximateReceiveCount).toBe('2');
  // Compacted on open: a third open reads the same state.
  records.forEach((r) => reopened.delete(r.receiptHandle));
  expect(queue({ journal }).depth).toEqual({ visible: 0, inFlight: 0 });
});

it('a redrive moves every dead letter back onto its source queue, in order, attributes intact', () => {
  const dlq = queue({ name: 'dlq.fifo', contentBasedDeduplication: true });
  const q = queue();
  dlq.send({ MessageBody: '{"id":"a"}', MessageGroupId: 'general', MessageAttributes: { RelayError: { DataType: 'String', StringValue: 'ApiGateway.404' } } });
  dlq.send({ MessageBody: '{"id":"b"}', MessageGroupId: 'general' });
  expect(dlq.moveAllTo(q)).toBe(2);
  expect(dlq.depth).toEqual({ visible: 0, inFlight: 0 });
  const records = q.receive();
  expect(ids(records)).toEqual(['a', 'b']);
  expect(records[0].messageAttributes).toEqual({ RelayError: { dataType: 'String', stringValue: 'ApiGateway.404' } });
});

describe('SendMessageBatch (the envelope\'s one send)', () => {
  const entry = (id: string, group = 'general') => ({ Id: `e_${id}`, MessageBody: JSON.stringify({ id }), MessageGroupId: group, MessageDeduplicationId: id });

  it('queues the entries in their order, each deduplicated on its own, an entry SQS refuses reported in Failed while the rest go on', () => {
    const q = queue();
    send(q, 'seen');
    const result = sendMessageBatch(q, [entry('b1'), entry('seen'), { ...entry('bad'), MessageGroupId: '' }, entry('b2')]);
    expect(result.Successful.map((s) => (s as { Id: string }).Id)).toEqual(['e_b1', 'e_seen', 'e_b2']);
    expect(result.Failed).toEqual([{ Id: 'e_bad', SenderFault: true, Code: 'MissingParameter', Message: expect.stringContaining('MessageGroupId') }]);
    expect(ids(q.receive(10))).toEqual(['seen', 'b1', 'b2']);
  });

  it.each([
    ['no entries', [], 'Sqs.EmptyBatchRequestException'],
    ['eleven entries', Array.from({ length: 11 }, (_, i) => entry(`x${i}`)), 'Sqs.TooManyEntriesInBatchRequestException'],
    ['two entries with one Id', [entry('d1'), { ...entry('d2'), Id: 'e_d1' }], 'Sqs.BatchEntryIdsNotDistinctException'],
    ['an Id with a dot', [{ ...entry('d3'), Id: 'a.b' }], 'Sqs.InvalidBatchEntryIdException'],
  ])('refuses a batch of %s as a whole, queueing nothing', (_, entries, error) => {
    const q = queue();
    expect(() => sendMessageBatch(q, entries)).toThrow(expect.objectContaining({ name: error }));
    expect(q.receive(10)).toEqual([]);
  });
});
