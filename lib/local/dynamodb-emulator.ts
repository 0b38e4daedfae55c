/**
 * DynamoDB for local mode: dynalite (a real implementation of the DynamoDB API, conditional
 * writes included) on a loopback port, its data under `.relay/dynamodb` so claims survive a
 * restart, the template's tables created on start, and the tasks' Parameters sent through the
 * AWS SDK exactly as the state machine's DynamoDB integration would send them.
 *
 * dynalite has no TTL. Local mode emulates it with a sweep — at start and every minute — that
 * deletes items whose TTL attribute (epoch seconds) has passed. DynamoDB itself deletes expired
 * items within days, not minutes; the relay never relies on the deletion (a stale claim is
 * re-claimable by its lease, not by its expiry).
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand, DeleteItemCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { TaskFailure } from './state-machine-runner';
import type { TableSpec } from './synthesized-template';

export interface LocalDynamoDbOptions {
  readonly tables: readonly TableSpec[];
  /** LevelDB directory. @default - in memory */
  readonly path?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** How often expired items are swept (ms); 0 for never. @default 60000 */
  readonly sweepIntervalMs?: number;
}

const DYNALITE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require(${JSON.stringify(require.resolve('dynalite'))})({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

const COMMANDS = { getItem: GetItemCommand, putItem: PutItemCommand, updateItem: UpdateItemCommand, deleteItem: DeleteItemCommand, scan: ScanCommand } as const;

export class LocalDynamoDb {
  private sweeper?: NodeJS.Timeout;

  private constructor(
    private readonly worker: Worker,
    public readonly client: DynamoDBClient,
    private readonly options: LocalDynamoDbOptions,
    /** Where dynalite answers the DynamoDB API (loopback, any signature). */
    public readonly endpoint: string,
  ) {}

  static async start(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
    if (options.path) mkdirSync(options.path, { recursive: true });
    // dynalite (and LevelDB under it) runs on a worker thread: it is the busiest part of local
    // mode, and there it uses a core of its own instead of sharing the event loop with the relay.
    const worker = new Worker(DYNALITE_WORKER, { eval: true, workerData: { path: options.path } });
    const port = await new Promise<number>((ok, fail) => worker.once('message', ok).once('error', fail));
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new DynamoDBClient({
      endpoint, region: 'us-east-1', maxAttempts: 1,
      // dynalite checks that a request is signed, not by whom.
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const db = new LocalDynamoDb(worker, client, options, endpoint);
    for (const table of options.tables) await db.createTable(table);
    await db.sweepExpired();
    const every = options.sweepIntervalMs ?? 60_000;
    if (every > 0) db.sweeper = setInterval(() => void db.sweepExpired().catch(() => undefined), every).unref();
    return db;
  }

  /** The `LocalService` the state machine runner calls for `dynamodb:*` tasks. */
  readonly call = async (action: string, parameters: Record<string, unknown>): Promise<unknown> => {
    const Command = COMMANDS[action as keyof typeof COMMANDS];
    if (!Command) throw new TaskFailure('DynamoDB.ValidationException', `local mode does not emulate dynamodb:${action}`);
    try {
      const command = new (Command as unknown as new (input: unknown) => GetItemCommand)(parameters);
      const { $metadata: _metadata, ...result } = (await this.client.send(command)) as unknown as Record<string, unknown>;
      return result;
    } catch (error) {
      const e = error as Error;
      throw new TaskFailure(`DynamoDB.${e.name}`, e.message);
    }
  };

  /** The same tables as a DynamoDB JSON API (`GetItem`, `UpdateItem`), as the Discord app's settings store calls it. */
  readonly jsonApi = async (operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> =>
    (await this.call(operation[0].toLowerCase() + operation.slice(1), body)) as Record<string, unknown>;

  /** Deletes items whose TTL attribute is in the past; returns how many. */
  async sweepExpired(): Promise<number> {
    const nowSeconds = Math.floor((this.options.now ?? Date.now)() / 1000);
    let deleted = 0;
    for (const table of this.options.tables) {
      if (!table.ttlAttribute) continue;
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.client.send(new ScanCommand({
          TableName: table.logicalId, ExclusiveStartKey: start,
          FilterExpression: '#ttl < :now', ExpressionAttributeNames: { '#ttl': table.ttlAttribute }, ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
        }));
        for (const item of page.Items ?? []) {
          const key = Object.fromEntries(table.keySchema.map((k) => [k.AttributeName, item[k.AttributeName]]));
          await this.client.send(new DeleteItemCommand({ TableName: table.logicalId, Key: key }));
          deleted++;
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return deleted;
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.client.destroy();
    // Closing the server lets LevelDB close cleanly before the thread ends.
    this.worker.postMessage('stop');
    await new Promise((ok) => this.worker.once('exit', ok));
  }

  private async createTable(table: TableSpec): Promise<void> {
    try {
      await this.client.send(new CreateTableCommand({
        TableName: table.logicalId, KeySchema: table.keySchema as never, AttributeDefinitions: table.attributeDefinitions as never, BillingMode: 'PAY_PER_REQUEST',
      }));
    } catch (error) {
      // Already there from an earlier run: its items are what survives a restart.
      if ((error as Error).name !== 'ResourceInUseException') throw error;
    }
    // dynalite answers "not found" for a table still CREATING, even with createTableMs 0: wait until it is ACTIVE.
    for (let i = 0; i < 100; i++) {
      const { Table } = await this.client.send(new DescribeTableCommand({ TableName: table.logicalId }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((ok) => setTimeout(ok, 10));
    }
  }
}
