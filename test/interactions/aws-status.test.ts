/**
 * `/relay status` on AWS: the calls the facts reader makes (the JSON bodies SQS and CloudWatch
 * take) and how it reads their answers. The heartbeat is the heartbeat table's write metric.
 */
import { awsFactsReader } from '../../lib/interactions/aws-status';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const LANE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Relay-LaneQueue.fifo';
const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Relay-LaneDeadLetterQueue.fifo';
const DELIVERY = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Relay-Delivery';

function services(metricAnswer: Record<string, { Timestamps: number[]; Values: number[] }>) {
  const calls: Array<{ service: string; operation: string; body: Record<string, any> }> = [];
  const sqs = async (operation: string, body: Record<string, unknown>) => {
    calls.push({ service: 'sqs', operation, body });
    return { Attributes: body.QueueUrl === LANE ? { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '1' } : { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '0' } };
  };
  const cloudWatch = async (operation: string, body: Record<string, any>) => {
    calls.push({ service: 'cloudwatch', operation, body });
    return { MetricDataResults: body.MetricDataQueries.map((q: { Id: string }) => ({ Id: q.Id, ...(metricAnswer[q.Id] ?? { Timestamps: [], Values: [] }) })) };
  };
  return { calls, sqs, cloudWatch };
}

it('asks for the heartbeat table\'s writes, the delivery workflow\'s successes and the lane\'s oldest age, and reads the newest non-zero point', async () => {
  const s = services({
    heartbeat: { Timestamps: [NOW / 1000 - 60, NOW / 1000 - 360], Values: [0, 2] },
    delivered: { Timestamps: [NOW / 1000 - 120], Values: [5] },
    age: { Timestamps: [NOW / 1000 - 60], Values: [42] },
  });
  const facts = await awsFactsReader({ ...s, laneQueueUrl: LANE, deadLetterQueueUrl: DLQ, deliveryStateMachineArn: DELIVERY, heartbeatTable: 'Relay-HeartbeatsTable-1', now: () => NOW })();
  const [metrics] = s.calls.filter((c) => c.operation === 'GetMetricData');
  const queries = Object.fromEntries(metrics.body.MetricDataQueries.map((q: any) => [q.Id, q.MetricStat]));
  expect(queries.heartbeat).toEqual({ Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'ConsumedWriteCapacityUnits', Dimensions: [{ Name: 'TableName', Value: 'Relay-HeartbeatsTable-1' }] }, Period: 300, Stat: 'Sum' });
  expect(queries.delivered.Metric).toEqual({ Namespace: 'AWS/States', MetricName: 'ExecutionsSucceeded', Dimensions: [{ Name: 'StateMachineArn', Value: DELIVERY }] });
  expect(queries.age.Metric.Dimensions).toEqual([{ Name: 'QueueName', Value: 'Relay-LaneQueue.fifo' }]);
  expect(metrics.body).toMatchObject({ StartTime: NOW / 1000 - 24 * 3600, EndTime: NOW / 1000, ScanBy: 'TimestampDescending' });
  expect(facts).toEqual({
    lane: { waiting: 3, inFlight: 1, oldestAgeSeconds: 42 },
    deadLetters: 2,
    lastDelivery: new Date(NOW - 120_000).toISOString(),
    lastHeartbeat: new Date(NOW - 360_000).toISOString(),
    lookBackHours: 24,
  });
});

it('no heartbeat in 24 h is null (said as "no heartbeat"), and without lanes there are no lane facts', async () => {
  const s = services({});
  const facts = await awsFactsReader({ ...s, heartbeatTable: 'T', now: () => NOW })();
  expect(facts).toEqual({ lane: undefined, deadLetters: undefined, lastDelivery: undefined, lastHeartbeat: null, lookBackHours: 24 });
  expect(s.calls.map((c) => c.operation)).toEqual(['GetMetricData']);
});
