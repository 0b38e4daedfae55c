/**
 * The local webhook proxy routes the path it checked the signature on: a path that normalises
 * elsewhere (`…/messages/%2e%2e`) cannot ride a signature onto another Discord URL, and a message
 * id that is not a snowflake never reaches Discord.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest } from '../../lib/client/sigv4';
import { SigV4Verifier } from '../../lib/local/sigv4-verifier';
import type { ProxyRoute } from '../../lib/local/synthesized-template';
import type { WebhookDestinations } from '../../lib/local/webhook-destinations';
import { WebhookProxyEmulator } from '../../lib/local/webhook-proxy-emulator';

const CREDENTIAL = { accessKeyId: 'ASIALOCALTEST0000001', secretAccessKey: 'secret-for-this-test-only', sessionToken: 'token' };
const ROUTES: ProxyRoute[] = [
  { channel: 'general', method: 'POST', path: '/channels/general', secretName: 's', urlSuffix: '?wait=true', headerOverwrites: {}, queryOverwrites: { wait: 'true' }, kind: 'discord' },
  { channel: 'general', method: 'PATCH', path: '/channels/general/messages/{messageId}', secretName: 's', urlSuffix: '/messages/{messageId}', headerOverwrites: {}, queryOverwrites: {}, kind: 'discord' },
];
const received: string[] = [];
let discord: Server;
let proxy: Server;
let proxyPort: number;

beforeAll(async () => {
  discord = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"1"}');
  });
  await new Promise<void>((ok) => discord.listen(0, '127.0.0.1', ok));
  const webhook = `http://127.0.0.1:${(discord.address() as AddressInfo).port}/api/webhooks/1/token`;
  const destinations = { for: () => ({ url: webhook, from: 'test' }) } as unknown as WebhookDestinations;
  const emulator = new WebhookProxyEmulator({ routes: ROUTES, verifier: new SigV4Verifier([CREDENTIAL], 'us-east-1'), destinations });
  proxy = createServer((req, res) => void emulator.handle(req, res));
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
  proxyPort = (proxy.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of [discord, proxy]) s.closeAllConnections();
  await Promise.all([discord, proxy].map((s) => new Promise((ok) => s.close(ok))));
});
beforeEach(() => {
  received.length = 0;
});

/** PATCH `rawPath` as sent on the wire, signed as the verifier will read it (the WHATWG-normalised path). */
async function patch(rawPath: string): Promise<{ status: number; body: string }> {
  const url = new URL(`http://127.0.0.1:${proxyPort}${rawPath}`);
  const body = '{"content":"x"}';
  const headers = await signRequest({ method: 'PATCH', url, path: url.pathname, headers: { 'content-type': 'application/json' }, body, region: 'us-east-1', credentials: CREDENTIAL });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'PATCH', path: rawPath, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('a snowflake message id is edited at <webhook>/messages/<id>', async () => {
  expect((await patch('/channels/general/messages/123456789012345678')).status).toBe(200);
  expect(received).toEqual(['PATCH /api/webhooks/1/token/messages/123456789012345678']);
});

it.each([['/channels/general/messages/%2e%2e'], ['/channels/general/messages/..'], ['/channels/general/messages/%2E%2E/..']])('%s normalises off the route: 404, and nothing reaches Discord', async (path) => {
  expect((await patch(path)).status).toBe(404);
  expect(received).toEqual([]);
});

it.each([['abc'], ['12345'], ['1234567890123456789012']])('a message id that is not a snowflake (%s) is refused with 400, and nothing reaches Discord', async (id) => {
  expect(await patch(`/channels/general/messages/${id}`)).toEqual({ status: 400, body: expect.stringContaining('messageId must be a Discord snowflake id') });
  expect(received).toEqual([]);
});
