/**
 * The status facts of a deployed relay, read the way `relay doctor` reads them: GetQueueAttributes
 * on the lane and the dead-letter queue, and GetMetricData for the lane's oldest message, the
 * delivery workflow's successful executions and the heartbeat table's writes. The function's
 * role is granted exactly these calls.
 */
import { ForwarderHeartbeatMetric } from '../contracts/metrics';
import type { AwsJsonCall } from './aws-json';
import { withinBudget, type FactsReader, type RelayFacts } from './status';

export interface AwsFactsProps {
  readonly sqs: AwsJsonCall;
  readonly cloudWatch: AwsJsonCall;
  readonly laneQueueUrl?: string;
  readonly deadLetterQueueUrl?: string;
  readonly deliveryStateMachineArn?: string;
  /** The heartbeat table's name: the dimension of its write metric. */
  readonly heartbeatTable: string;
  readonly now?: () => number;
}

const LOOK_BACK_HOURS = 24;

async function queueDepth(sqs: AwsJsonCall, url: string): Promise<{ waiting: number; inFlight: number }> {
  const answer = await sqs('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] });
  const attributes = (answer.Attributes ?? {}) as Record<string, string>;
  return { waiting: Number(attributes.ApproximateNumberOfMessages ?? 0), inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

type Query = { id: string; namespace: string; metric: string; dimensions: Record<string, string>; stat: string };

/** The newest timestamp with a value > 0 for each query (null: none), and the newest value of each. */
async function metrics(cw: AwsJsonCall, queries: readonly Query[], nowMs: number): Promise<Map<string, { at: string | null; value?: number }>> {
  const answer = await cw('GetMetricData', {
    StartTime: Math.floor(nowMs / 1000) - LOOK_BACK_HOURS * 3600,
    EndTime: Math.floor(nowMs / 1000),
    ScanBy: 'TimestampDescending',
    MetricDataQueries: queries.map((q) => ({
      Id: q.id, ReturnData: true,
      MetricStat: { Metric: { Namespace: q.namespace, MetricName: q.metric, Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })) }, Period: 300, Stat: q.stat },
    })),
  });
  const found = new Map<string, { at: string | null; value?: number }>();
  for (const r of (answer.MetricDataResults ?? []) as Array<{ Id: string; Timestamps?: number[]; Values?: number[] }>) {
    const i = (r.Values ?? []).findIndex((v) => v > 0);
    const stamp = i < 0 ? undefined : r.Timestamps?.[i];
    found.set(r.Id, { at: stamp === undefined ? null : new Date(stamp * 1000).toISOString(), value: r.Values?.[0] });
  }
  return found;
}

export function awsFactsReader(props: AwsFactsProps): FactsReader {
  const now = props.now ?? Date.now;
  return async () => {
    const nowMs = now();
    const laneName = props.laneQueueUrl?.split('/').pop();
    const queries: Query[] = [
      { id: 'heartbeat', namespace: ForwarderHeartbeatMetric.Namespace, metric: ForwarderHeartbeatMetric.MetricName, dimensions: { [ForwarderHeartbeatMetric.TableDimension]: props.heartbeatTable }, stat: 'Sum' },
      ...(props.deliveryStateMachineArn ? [{ id: 'delivered', namespace: 'AWS/States', metric: 'ExecutionsSucceeded', dimensions: { StateMachineArn: props.deliveryStateMachineArn }, stat: 'Sum' }] : []),
      ...(laneName ? [{ id: 'age', namespace: 'AWS/SQS', metric: 'ApproximateAgeOfOldestMessage', dimensions: { QueueName: laneName }, stat: 'Maximum' }] : []),
    ];
    const [lane, dead, found] = await Promise.all([
      props.laneQueueUrl ? withinBudget(queueDepth(props.sqs, props.laneQueueUrl)) : undefined,
      props.deadLetterQueueUrl ? withinBudget(queueDepth(props.sqs, props.deadLetterQueueUrl)) : undefined,
      withinBudget(metrics(props.cloudWatch, queries, nowMs)),
    ]);
    const facts: RelayFacts = {
      lane: lane && { ...lane, oldestAgeSeconds: found?.get('age')?.value },
      deadLetters: dead && dead.waiting + dead.inFlight,
      lastDelivery: props.deliveryStateMachineArn ? found?.get('delivered')?.at : undefined,
      lastHeartbeat: found?.get('heartbeat')?.at,
      lookBackHours: LOOK_BACK_HOURS,
    };
    return facts;
  };
}
