/** The commands custom resource: CloudFormation's request in, the registration against the fake Discord, the answer PUT to the (pre-signed) ResponseURL. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegisterResourceHandler, MAX_RESPONSE_BYTES, responseBody, type CustomResourceEvent, type CustomResourceResponse } from '../../lib/interactions/register-resource';
import { FAKE_APPLICATION_ID, FakeDiscord } from '../../testkit/fake-discord';

const GUILD = '111111111111111111';
const SECRET_ID = 'discord-relay/bot-token';
const discord = new FakeDiscord([{ id: GUILD, name: 'Guild', voiceChannels: [], members: [] }]);
const received: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
const s3 = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
    received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200).end();
  });
});
let responseUrl = '';
let apiBase = '';
const secretReads: string[] = [];
let secretValue = (): string => discord.token;

const handler = () => createRegisterResourceHandler({
  apiBase,
  readSecret: async (id) => {
    secretReads.push(id);
    return secretValue();
  },
  sleep: async () => undefined,
  log: () => undefined,
});

function event(type: CustomResourceEvent['RequestType'], extra: Partial<CustomResourceEvent> = {}): CustomResourceEvent {
  return {
    RequestType: type, ResponseURL: responseUrl, StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/TestRelay/abc', RequestId: `req-${received.length}`,
    LogicalResourceId: 'DiscordCommands', ResourceProperties: { ServiceToken: 'arn:aws:lambda:…', ApplicationId: FAKE_APPLICATION_ID, Scope: 'guild', GuildIds: [GUILD], SecretId: SECRET_ID, CommandsHash: 'h1' },
    ...(type === 'Create' ? {} : { PhysicalResourceId: `discord-commands-${FAKE_APPLICATION_ID}-guild` }),
    ...extra,
  };
}

/** Runs the handler and returns what reached the response URL. */
async function run(e: CustomResourceEvent): Promise<CustomResourceResponse> {
  const before = received.length;
  await handler()(e, { getRemainingTimeInMillis: () => 60_000 });
  expect(received).toHaveLength(before + 1);
  const put = received[before];
  expect(put).toMatchObject({ method: 'PUT', url: '/presigned?X-Amz-Signature=abc', headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(put.body)) } });
  return JSON.parse(put.body) as CustomResourceResponse;
}

beforeAll(async () => {
  apiBase = `${await discord.start()}/api/v10`;
  await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
  responseUrl = `http://127.0.0.1:${(s3.address() as AddressInfo).port}/presigned?X-Amz-Signature=abc`;
});
afterAll(async () => {
  await discord.stop();
  await new Promise((r) => s3.close(r));
});
beforeEach(() => {
  secretValue = () => discord.token;
  secretReads.length = 0;
});

it('Create registers /relay with the secret\'s token and answers SUCCESS with a stable physical id', async () => {
  const e = event('Create');
  expect(await run(e)).toEqual({
    Status: 'SUCCESS', Reason: `registered /relay (guild ${GUILD}: 1 command)`, PhysicalResourceId: `discord-commands-${FAKE_APPLICATION_ID}-guild`,
    StackId: e.StackId, RequestId: e.RequestId, LogicalResourceId: 'DiscordCommands', Data: { Summary: `guild ${GUILD}: 1 command` },
  });
  expect(secretReads).toEqual([SECRET_ID]);
  expect(discord.registeredCommands(GUILD)).toEqual([expect.objectContaining({ name: 'relay' })]);
});

it('a refusal by Discord is FAILED with Discord\'s message, so the deploy fails with it', async () => {
  secretValue = () => 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789';
  const answer = await run(event('Update'));
  expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: `discord-commands-${FAKE_APPLICATION_ID}-guild` });
  expect(answer.Reason).toBe(`Discord refused the bot token (401): check the secret ${SECRET_ID} holds the bot token of application ${FAKE_APPLICATION_ID}`);
  expect(JSON.stringify(received.at(-1))).not.toContain('GAbcde');
});

it('a secret that is not a token is FAILED naming the secret, not quoting it', async () => {
  secretValue = () => 'c0ffee00'.repeat(8);
  const answer = await run(event('Create'));
  expect(answer.Status).toBe('FAILED');
  expect(answer.Reason).toBe(`the secret ${SECRET_ID} holds 64 hex characters: that is the application's public key, not the bot token`);
});

it('a secret that cannot be read is FAILED with the AWS error and the fix', async () => {
  secretValue = () => {
    throw Object.assign(new Error('Secrets Manager can\'t find the specified secret.'), { name: 'ResourceNotFoundException' });
  };
  const answer = await run(event('Create'));
  expect(answer).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/^cannot read the secret discord-relay\/bot-token \(ResourceNotFoundException: Secrets Manager can't find the specified secret\.\): it must exist/) });
});

it('Delete removes the commands and answers SUCCESS', async () => {
  await run(event('Create'));
  const answer = await run(event('Delete'));
  expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: `removed /relay (guild ${GUILD}: 0 commands)`, PhysicalResourceId: `discord-commands-${FAKE_APPLICATION_ID}-guild` });
  expect(discord.registeredCommands(GUILD)).toEqual([]);
});

it('Delete answers SUCCESS even when Discord refuses, saying the commands may remain', async () => {
  secretValue = () => 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789';
  const answer = await run(event('Delete'));
  expect(answer.Status).toBe('SUCCESS');
  expect(answer.Reason).toMatch(/^the stack is deleted but \/relay may still be registered \(Discord refused the bot token \(401\)/);
});

it('an Update that drops a guild removes the commands there', async () => {
  const other = new FakeDiscord([{ id: GUILD, name: 'A', voiceChannels: [], members: [] }, { id: '222222222222222222', name: 'B', voiceChannels: [], members: [] }]);
  const otherBase = `${await other.start()}/api/v10`;
  try {
    const h = createRegisterResourceHandler({ apiBase: otherBase, readSecret: async () => other.token, respond: async () => undefined, log: () => undefined });
    const both = { ...event('Create').ResourceProperties, GuildIds: [GUILD, '222222222222222222'] };
    await h({ ...event('Create'), ResourceProperties: both });
    const answer = await h({ ...event('Update'), OldResourceProperties: both });
    expect(answer.Reason).toBe(`registered /relay (guild ${GUILD}: 1 command); removed it from guild 222222222222222222`);
    expect(other.registeredCommands('222222222222222222')).toEqual([]);
    expect(other.registeredCommands(GUILD)).toHaveLength(1);
  } finally {
    await other.stop();
  }
});

it('bad properties are FAILED naming the property', async () => {
  const answer = await run({ ...event('Create'), ResourceProperties: { ...event('Create').ResourceProperties, Scope: 'everywhere' } });
  expect(answer).toMatchObject({ Status: 'FAILED', Reason: 'Scope "everywhere" is not one of guild, global' });
});

it('answers FAILED before the function times out when Discord hangs', async () => {
  const h = createRegisterResourceHandler({ readSecret: () => new Promise(() => undefined), respond: async () => undefined, log: () => undefined });
  const answer = await h(event('Create'), { getRemainingTimeInMillis: () => 5100 });
  expect(answer).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('did not answer before the function\'s timeout') });
});

it('cuts the Reason so the response stays within 4096 bytes', () => {
  const body = responseBody({ Status: 'FAILED', Reason: 'é'.repeat(5000), PhysicalResourceId: 'p', StackId: 's', RequestId: 'r', LogicalResourceId: 'l' });
  expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
  expect(JSON.parse(body)).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/^é+…$/) });
});
