/**
 * `GET /_status` in local mode, on the ingest port: what `relay doctor` asks AWS for with
 * DescribePipe, GetQueueAttributes, ApproximateAgeOfOldestMessage and the heartbeat table's write
 * metric, read off the emulators (the last heartbeat from the table itself), and where the dedupe
 * table answers the DynamoDB API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalRelayPath, type LocalRelayStatus } from '../contracts/local-relay';
import { HeartbeatAttribute } from '../contracts/metrics';
import type { LocalDynamoDb } from './dynamodb-emulator';
import { sendJson } from './http-util';
import type { LocalLanes } from './local-lanes';

export interface StatusRoutesProps {
  readonly stackName: string;
  readonly startedAt: Date;
  /** The template's tables, the heartbeat table among them. */
  readonly dynamodb: LocalDynamoDb;
  /** The heartbeat table's name in dynalite (its logical id). */
  readonly heartbeatTable?: string;
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

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') return sendJson(res, 405, { message: 'Method Not Allowed' });
    return sendJson(res, 200, await this.status());
  }

  /** Epoch ms the delivery workflow last finished a batch, if it has since the start. */
  lastDelivery(): number | undefined {
    return this.props.lanes?.pipe.stats.lastSucceededAt;
  }

  async status(): Promise<LocalRelayStatus> {
    const { lanes, stackName } = this.props;
    const last = await this.lastHeartbeat();
    const age = lanes?.lane.oldestAgeMs();
    return {
      relay: { pid: process.pid, startedAt: this.props.startedAt.toISOString(), stackName },
      pipe: lanes ? { state: lanes.pipe.state, batches: lanes.pipe.stats.batches, failedBatches: lanes.pipe.stats.failedBatches } : null,
      lane: lanes ? { ...lanes.lane.depth, oldestAgeSeconds: age === undefined ? null : Math.floor(age / 1000) } : null,
      deadLetters: lanes ? { count: lanes.deadLetters.depth.visible + lanes.deadLetters.depth.inFlight } : null,
      heartbeats: { last: last ?? null, windowMinutes: this.props.heartbeatWindowMinutes ?? null },
      table: lanes && this.props.tableName ? { endpoint: lanes.dynamodb.endpoint, name: this.props.tableName } : null,
    };
  }

  /**
   * The newest `at` of any forwarder's item (one per forwarder) since this relay started: the
   * table outlives a restart, and a heartbeat from an earlier run says nothing about this one.
   */
  private async lastHeartbeat(): Promise<string | undefined> {
    if (!this.props.heartbeatTable) return undefined;
    const { Items = [] } = await this.props.dynamodb.call('scan', { TableName: this.props.heartbeatTable }) as { Items?: Array<Record<string, { S?: string }>> };
    const since = this.props.startedAt.getTime();
    return Items.map((i) => i[HeartbeatAttribute.At]?.S).filter((at): at is string => at !== undefined && Date.parse(at) >= since).sort().at(-1);
  }
}
