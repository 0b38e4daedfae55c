/**
 * The Interactions function's own SigV4 (node:crypto, for its 20 KB bundle) signs exactly as
 * @smithy/signature-v4 — the signer the AWS SDK uses — for the JSON-protocol POSTs it makes, with
 * and without a session token, and the local relay's SigV4 verifier accepts it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { signJsonPost } from '../../lib/interactions/aws-json';
import { signRequest } from '../../lib/client/sigv4';
import { SigV4Verifier } from '../../lib/local/sigv4-verifier';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const temporary = { ...credentials, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'FQoGZXIvYXdzEXAMPLE//token+with/slashes==' };
const date = new Date('2026-12-01T22:33:44.567Z');

describe.each([
  ['DynamoDB UpdateItem', 'dynamodb', 'DynamoDB_20120810.UpdateItem', 'application/x-amz-json-1.0', { TableName: 't', Key: { guildId: { S: '1' } } }],
  ['SQS GetQueueAttributes', 'sqs', 'AmazonSQS.GetQueueAttributes', 'application/x-amz-json-1.0', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo', AttributeNames: ['All'] }],
  ['CloudWatch GetMetricData', 'monitoring', 'GraniteServiceVersion20100801.GetMetricData', 'application/x-amz-json-1.0', { StartTime: 1, EndTime: 2, MetricDataQueries: [] }],
  ['Secrets Manager GetSecretValue', 'secretsmanager', 'secretsmanager.GetSecretValue', 'application/x-amz-json-1.1', { SecretId: 'discord-relay/bot-token' }],
])('%s', (_, service, target, contentType, payload) => {
  const body = JSON.stringify(payload);
  const host = `${service}.eu-west-1.amazonaws.com`;

  it.each([['long-term credentials', credentials], ['temporary credentials', temporary]])('signs as @smithy/signature-v4 does, with %s', async (_which, creds) => {
    const ours = signJsonPost({ host, region: 'eu-west-1', service, target, contentType, body, credentials: creds, date });
    const smithy = await signRequest({
      method: 'POST', url: new URL(`https://${host}/`), headers: { 'content-type': contentType, 'x-amz-target': target }, body,
      region: 'eu-west-1', service, credentials: creds, signingDate: date,
    });
    expect(ours.authorization).toBe(smithy.authorization);
    expect(ours['x-amz-date']).toBe(smithy['x-amz-date']);
    if ('sessionToken' in creds) expect(ours['x-amz-security-token']).toBe(creds.sessionToken);
  });

  it('is accepted by the local relay\'s SigV4 verifier, and a changed body is not', async () => {
    const verifier = new SigV4Verifier([temporary], 'eu-west-1', service);
    const headers = signJsonPost({ host, region: 'eu-west-1', service, target, contentType, body, credentials: temporary, date });
    const request = (b: string) => ({ method: 'POST', rawUrl: '/', headers, body: Buffer.from(b) });
    expect(await verifier.verify(request(body), date.getTime())).toMatchObject({ ok: true });
    expect(await verifier.verify(request(`${body} `), date.getTime())).toMatchObject({ ok: false });
  });
});

it("signs as botocore does (an independent implementation), with and without a session token", () => {
  const cases = [credentials, temporary].map((c, i) => ({
    method: 'POST', url: 'https://dynamodb.eu-west-1.amazonaws.com/', body: JSON.stringify({ TableName: `t${i}`, Key: { guildId: { S: '1' } } }),
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem' },
    date: '20261201T223344Z', accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: (c as { sessionToken?: string }).sessionToken,
    region: 'eu-west-1', service: 'dynamodb',
  }));
  const oracle = execFileSync('python3', [join(__dirname, '..', 'support', 'sigv4_oracle.py')], { input: cases.map((c) => JSON.stringify(c)).join('\n'), encoding: 'utf8' })
    .trim().split('\n').map((l) => (JSON.parse(l) as { authorization: string }).authorization);
  cases.forEach((c, i) => {
    const ours = signJsonPost({
      host: 'dynamodb.eu-west-1.amazonaws.com', region: c.region, service: c.service, target: c.headers['x-amz-target'], contentType: c.headers['content-type'], body: c.body,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken }, date: new Date('2026-12-01T22:33:44Z'),
    });
    expect(ours.authorization).toBe(oracle[i]);
  });
});
