/**
 * CloudWatch's PutMetricData in local mode: what the relay workflow's `aws-sdk:cloudwatch:putMetricData`
 * task calls. Checks the request as CloudWatch would (namespace, at most 1000 data, names,
 * finite values, at most 30 dimensions) and keeps the latest data points in memory.
 */
import { TaskFailure, type LocalService } from './state-machine-runner';

export interface MetricDatapoint {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  readonly unit?: string;
  readonly at: number;
}

interface MetricDatum { MetricName?: unknown; Dimensions?: unknown; Value?: unknown; Unit?: unknown }

/** How many data points are kept; older ones are dropped. */
const KEPT = 1000;

function invalid(message: string): never {
  // The error name an SDK integration gives a service exception: CloudWatch.<Exception>.
  throw new TaskFailure('CloudWatch.InvalidParameterValueException', message);
}

export class CloudWatchEmulator {
  private readonly points: MetricDatapoint[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** The task integration entry point. */
  public readonly call: LocalService = async (action, parameters) => {
    if (action !== 'putMetricData') throw new TaskFailure('CloudWatch.InvalidAction', `${action} is not emulated locally`);
    const namespace = parameters.Namespace;
    if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 255 || namespace.startsWith('AWS/')) invalid('Namespace must be 1-255 characters and not start with AWS/');
    const data = parameters.MetricData;
    if (!Array.isArray(data) || data.length === 0 || data.length > 1000) invalid('MetricData must hold 1-1000 data');
    // All or nothing, as CloudWatch answers one bad datum with a 400 for the whole request.
    this.points.push(...(data as MetricDatum[]).map((datum) => this.datapoint(namespace, datum)));
    this.points.splice(0, Math.max(0, this.points.length - KEPT));
    return {};
  };

  /** Data points of one metric, oldest first, optionally only those with these dimensions. */
  public datapoints(namespace: string, metricName: string, dimensions?: Readonly<Record<string, string>>): MetricDatapoint[] {
    return this.points.filter((p) => p.namespace === namespace && p.metricName === metricName
      && (!dimensions || Object.entries(dimensions).every(([k, v]) => p.dimensions[k] === v)));
  }

  private datapoint(namespace: string, datum: MetricDatum): MetricDatapoint {
    if (typeof datum.MetricName !== 'string' || datum.MetricName.length === 0 || datum.MetricName.length > 255) invalid('MetricName must be 1-255 characters');
    if (typeof datum.Value !== 'number' || !Number.isFinite(datum.Value)) invalid(`${datum.MetricName}: Value must be a finite number`);
    const dims = datum.Dimensions ?? [];
    if (!Array.isArray(dims) || dims.length > 30) invalid(`${datum.MetricName}: at most 30 dimensions`);
    const dimensions: Record<string, string> = {};
    for (const d of dims as Array<{ Name?: unknown; Value?: unknown }>) {
      if (typeof d.Name !== 'string' || typeof d.Value !== 'string' || d.Name === '' || d.Value === '') invalid(`${datum.MetricName}: each dimension needs a Name and a Value`);
      dimensions[d.Name] = d.Value;
    }
    return { namespace, metricName: datum.MetricName, dimensions, value: datum.Value, unit: typeof datum.Unit === 'string' ? datum.Unit : undefined, at: this.now() };
  }
}
