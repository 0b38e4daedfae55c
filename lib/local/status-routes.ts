/**
 * `GET /_status` in local mode, on the ingest port: what `relay doctor` asks AWS for with
 * DescribePipe, GetQueueAttributes, ApproximateAgeOfOldestMessage and the ForwarderHeartbeat
 * metric, read off the emulators, and where the dedupe table answers the DynamoDB API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalRelayPath, type LocalRelayStatus } from '../contracts/local-relay';
import { RelayMetric } from '../contracts/metrics';
import type { CloudWatchEmulator } from './cloudwatch-emulator';
import { sendJson } from './http-util';
import type { LocalLanes } from './local-lanes';

export interface StatusRoutesProps {
  readonly stackName: string;
  readonly startedAt: Date;
  readonly metrics: CloudWatchEmulator;
  /** Undefined with direct delivery. */
  readonly lanes?: LocalLanes;
  /** The dedupe table's name in dynalite (its logical id). */
  readonly tableName?: string;
  /** From the template's ForwarderHeartbeatMissing alarm; undefined when it has none. */
  readonly heartbeatWindowMinutes?: number;
}

export class StatusRoutes {
  constructor(private readonly props: StatusRoutesProps) {}

  matches(path: string): boolean {
    return path === LocalRelayPath.Status;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') return sendJson(res, 405, { message: 'Method Not Allowed' });
    return sendJson(res, 200, this.status());
  }

  /** Epoch ms the delivery workflow last finished a batch, if it has since the start. */
  lastDelivery(): number | undefined {
    return this.props.lanes?.pipe.stats.lastSucceededAt;
  }

  status(): LocalRelayStatus {
    const { lanes, metrics, stackName } = this.props;
    const beats = metrics.datapoints(RelayMetric.Namespace, RelayMetric.ForwarderHeartbeat, { [RelayMetric.RelayDimension]: stackName });
    const last = beats.at(-1);
    const age = lanes?.lane.oldestAgeMs();
    return {
      relay: { pid: process.pid, startedAt: this.props.startedAt.toISOString(), stackName },
      pipe: lanes ? { state: lanes.pipe.state, batches: lanes.pipe.stats.batches, failedBatches: lanes.pipe.stats.failedBatches } : null,
      lane: lanes ? { ...lanes.lane.depth, oldestAgeSeconds: age === undefined ? null : Math.floor(age / 1000) } : null,
      deadLetters: lanes ? { count: lanes.deadLetters.depth.visible + lanes.deadLetters.depth.inFlight } : null,
      heartbeats: { last: last ? new Date(last.at).toISOString() : null, windowMinutes: this.props.heartbeatWindowMinutes ?? null },
      table: lanes && this.props.tableName ? { endpoint: lanes.dynamodb.endpoint, name: this.props.tableName } : null,
    };
  }
}
