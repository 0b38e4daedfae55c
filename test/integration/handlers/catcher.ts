/**
 * The integration test's stand-in for a Discord webhook (behind a Lambda function URL): records
 * what the webhook proxy delivers — content, allowed_mentions, User-Agent, and whether the SigV4
 * headers the proxy received reached the destination — and answers as Discord does with ?wait=true.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

interface UrlEvent { rawPath: string; rawQueryString?: string; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean }

const db = new DynamoDBClient({});

export async function handler(event: UrlEvent): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body ?? '';
  let parsed: { content?: unknown; allowed_mentions?: unknown } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // recorded as it came
  }
  const id = randomUUID();
  await db.send(new PutItemCommand({
    TableName: process.env.TABLE_NAME,
    Item: {
      id: { S: id },
      query: { S: event.rawQueryString ?? '' },
      content: { S: typeof parsed.content === 'string' ? parsed.content : text },
      allowedMentions: { S: JSON.stringify(parsed.allowed_mentions ?? null) },
      userAgent: { S: headers['user-agent'] ?? '' },
      // Names only: never the values of credentials.
      authorization: { S: headers.authorization ? 'present' : 'absent' },
      amzHeaders: { S: Object.keys(headers).filter((h) => h.startsWith('x-amz-')).sort().join(',') || '(none)' },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86400) },
    },
  }));
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, type: 0, content: parsed.content ?? '', channel_id: '1' }) };
}
