import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { signRequest } from '../../lib/client/sigv4';
import { SigV4Verifier, type IncomingSignedRequest } from '../../lib/local/sigv4-verifier';

const CRED = { accessKeyId: 'AKIALOCAL0000000001', secretAccessKey: 'local/secret/key/0000000000000000000000' };
const TEMP = { accessKeyId: 'ASIALOCAL0000000002', secretAccessKey: 'temporary/secret/0000000000000000000000', sessionToken: 'token-2' };
const verifier = new SigV4Verifier([CRED, TEMP], 'us-east-1');
const NOW = Date.parse('2026-11-21T08:00:00Z');
const URL_ = new URL('http://127.0.0.1:8787/events');

async function signed(options: { body?: string; credentials?: typeof CRED | typeof TEMP; at?: number; region?: string; service?: string; url?: URL } = {}): Promise<IncomingSignedRequest> {
  const body = options.body ?? '{"v":1}';
  const url = options.url ?? URL_;
  const headers = await signRequest({
    method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: options.region ?? 'us-east-1', service: options.service,
    credentials: options.credentials ?? CRED, signingDate: new Date(options.at ?? NOW),
  });
  return { method: 'POST', rawUrl: `${url.pathname}${url.search}`, headers, body: Buffer.from(body) };
}

describe('SigV4Verifier', () => {
  it('accepts a request signed by our client, with long-term and with temporary credentials', async () => {
    await expect(verifier.verify(await signed(), NOW)).resolves.toEqual({ ok: true, accessKeyId: CRED.accessKeyId });
    await expect(verifier.verify(await signed({ credentials: TEMP }), NOW)).resolves.toEqual({ ok: true, accessKeyId: TEMP.accessKeyId });
  });

  it('accepts a request signed independently by botocore', async () => {
    const body = '{"independent": "botocore", "é": 1}';
    const date = '20261121T080000Z';
    const [line] = execFileSync('python3', [join(__dirname, '..', 'support', 'sigv4_oracle.py')], {
      input: JSON.stringify({ method: 'POST', url: 'http://127.0.0.1:8787/events/sync', headers: { 'Content-Type': 'application/json' }, body, date, ...CRED, region: 'us-east-1', service: 'execute-api' }),
      encoding: 'utf8',
    }).trim().split('\n');
    const { authorization } = JSON.parse(line) as { authorization: string };
    const request = { method: 'POST', rawUrl: '/events/sync', headers: { host: '127.0.0.1:8787', 'content-type': 'application/json', 'x-amz-date': date, authorization }, body: Buffer.from(body) };
    await expect(verifier.verify(request, NOW)).resolves.toEqual({ ok: true, accessKeyId: CRED.accessKeyId });
  });

  it.each([
    ['no Authorization', async () => ({ ...(await signed()), headers: { host: '127.0.0.1:8787' } }), /^Forbidden$/],
    ['a tampered body', async () => ({ ...(await signed()), body: Buffer.from('{"v":2}') }), /signature we calculated does not match/],
    ['a tampered path', async () => ({ ...(await signed()), rawUrl: '/events/sync' }), /signature we calculated does not match/],
    ['a wrong secret', async () => signed({ credentials: { ...CRED, secretAccessKey: 'wrong' } }), /signature we calculated does not match/],
    ['an unknown access key', async () => signed({ credentials: { ...CRED, accessKeyId: 'AKIAUNKNOWN' } }), /security token included in the request is invalid/],
    ['a missing session token', async () => {
      const r = await signed({ credentials: TEMP });
      const headers = { ...r.headers };
      delete headers['x-amz-security-token'];
      return { ...r, headers };
    }, /security token included in the request is invalid/],
    ['a signature 6 minutes old', async () => signed({ at: NOW - 6 * 60_000 }), /^Signature expired: 20261121T075400Z is now earlier than 20261121T075500Z \(20261121T080000Z - 5 min\.\)$/],
    ['a signature 6 minutes ahead', async () => signed({ at: NOW + 6 * 60_000 }), /^Signature not yet current/],
    ['another region', async () => signed({ region: 'eu-west-1' }), /scoped to a valid region/],
    ['another service', async () => signed({ service: 'lambda' }), /scoped to correct service: 'execute-api'/],
  ])('refuses %s', async (_, make, message) => {
    const result = await verifier.verify(await make(), NOW);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });

  it('accepts signatures up to 5 minutes away', async () => {
    await expect(verifier.verify(await signed({ at: NOW - 299_000 }), NOW)).resolves.toMatchObject({ ok: true });
    await expect(verifier.verify(await signed({ at: NOW + 299_000 }), NOW)).resolves.toMatchObject({ ok: true });
  });
});
