/** The local PutMetricData against CloudWatch's documented limits (PutMetricData API reference). */
import { CloudWatchEmulator } from '../../lib/local/cloudwatch-emulator';

const datum = (over: Record<string, unknown> = {}) => ({ MetricName: 'ForwarderHeartbeat', Dimensions: [{ Name: 'Relay', Value: 'R' }], Value: 1, Unit: 'Count', ...over });

it('keeps each datum with its dimensions and filters by them', async () => {
  const cw = new CloudWatchEmulator(() => 42);
  await cw.call('putMetricData', { Namespace: 'DiscordEventRelay', MetricData: [datum(), datum({ Dimensions: [{ Name: 'Relay', Value: 'Other' }] })] });
  expect(cw.datapoints('DiscordEventRelay', 'ForwarderHeartbeat', { Relay: 'R' })).toEqual([{ namespace: 'DiscordEventRelay', metricName: 'ForwarderHeartbeat', dimensions: { Relay: 'R' }, value: 1, unit: 'Count', at: 42 }]);
  expect(cw.datapoints('DiscordEventRelay', 'ForwarderHeartbeat')).toHaveLength(2);
});

it.each([
  ['an AWS/ namespace', { Namespace: 'AWS/States', MetricData: [datum()] }],
  ['no data', { Namespace: 'N', MetricData: [] }],
  ['more than 1000 data', { Namespace: 'N', MetricData: Array.from({ length: 1001 }, () => datum()) }],
  ['a non-finite value', { Namespace: 'N', MetricData: [datum({ Value: Number.NaN })] }],
  ['a dimension without a value', { Namespace: 'N', MetricData: [datum({ Dimensions: [{ Name: 'Relay', Value: '' }] })] }],
  ['one bad datum after a good one', { Namespace: 'N', MetricData: [datum(), datum({ MetricName: '' })] }],
  ['31 dimensions', { Namespace: 'N', MetricData: [datum({ Dimensions: Array.from({ length: 31 }, (_, i) => ({ Name: `d${i}`, Value: 'v' })) })] }],
])('refuses %s as CloudWatch does, keeping nothing', async (_, parameters) => {
  const cw = new CloudWatchEmulator();
  await expect(cw.call('putMetricData', parameters)).rejects.toMatchObject({ name: 'CloudWatch.InvalidParameterValueException' });
  expect(cw.datapoints('N', 'ForwarderHeartbeat')).toEqual([]);
});

it('keeps the latest 1000 data points', async () => {
  const cw = new CloudWatchEmulator();
  for (let i = 0; i < 3; i++) await cw.call('putMetricData', { Namespace: 'N', MetricData: Array.from({ length: 500 }, (_, j) => datum({ Value: i * 500 + j })) });
  const kept = cw.datapoints('N', 'ForwarderHeartbeat');
  expect(kept).toHaveLength(1000);
  expect(kept[0].value).toBe(500);
});
