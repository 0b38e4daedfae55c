/** One dedupe-table item by envelope id (GetItem, strongly consistent): the same call against AWS and against the local relay's dynalite. */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DedupeAttribute } from '../contracts/lane';
import type { Claim } from './inspector';

export async function readClaim(client: DynamoDBClient, tableName: string, id: string): Promise<Claim | undefined> {
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { [DedupeAttribute.Id]: { S: id } }, ConsistentRead: true }));
  if (!Item) return undefined;
  return { state: Item[DedupeAttribute.State]?.S, deliveredAt: Item[DedupeAttribute.DeliveredAt]?.S };
}
