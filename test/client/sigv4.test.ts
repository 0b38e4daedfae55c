import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { regionFromExecuteApiUrl, signRequest } from '../../lib/client/sigv4';

/**
 * Cases from the AWS Signature Version 4 Test Suite (formerly published in the AWS General
 * Reference, "Signature Version 4 test suite"; copy read from bazelbuild/bazel,
 * third_party/aws-sig-v4-test-suite/): the request (.req) and the expected Authorization (.authz).
 * Service "service", region us-east-1, 2015-08-30T12:36:00Z, the suite's example credentials.
 */
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  region: 'us-east-1',
  service: 'service',
  signingDate: new Date('2015-08-30T12:36:00Z'),
};
const SCOPE = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';
const STS_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

const cases: Array<{ name: string; method: string; url: string; path?: string; headers?: Record<string, string>; body?: string; token?: string; authz: string }> = [
  { name: 'post-vanilla', method: 'POST', url: 'https://example.amazonaws.com/',
    authz: `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b` },
  { name: 'post-x-www-form-urlencoded (a body)', method: 'POST', url: 'https://example.amazonaws.com/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'Param1=value1',
    authz: `${SCOPE}, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a` },
  { name: 'post-header-key-sort (header key case)', method: 'POST', url: 'https://example.amazonaws.com/', headers: { 'My-Header1': 'value1' },
    authz: `${SCOPE}, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c` },
  { name: 'post-header-value-case', method: 'POST', url: 'https://example.amazonaws.com/', headers: { 'My-Header1': 'VALUE1' },
    authz: `${SCOPE}, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d` },
  { name: 'post-sts-header-before (session token)', method: 'POST', url: 'https://example.amazonaws.com/', token: STS_TOKEN,
    authz: `${SCOPE}, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead` },
  { name: 'get-header-value-trim (header value trimming)', method: 'GET', url: 'https://example.amazonaws.com/', headers: { 'My-Header1': ' value1', 'My-Header2': ' "a   b   c"' },
    authz: `${SCOPE}, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736` },
  { name: 'get-vanilla-query-order-key-case (query ordering)', method: 'GET', url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1',
    authz: `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500` },
  // The suite's request line carries the raw UTF-8 path, which the signer encodes once.
  { name: 'get-utf8 (UTF-8 path)', method: 'GET', url: 'https://example.amazonaws.com/', path: '/ሴ',
    authz: `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85` },
];

describe('signRequest against the AWS SigV4 test suite', () => {
  it.each(cases)('$name', async ({ method, url, path, headers, body, token, authz }) => {
    const signed = await signRequest({
      ...SUITE, method, url: new URL(url), path, headers, body: body ?? '',
      credentials: { ...SUITE.credentials, sessionToken: token },
    });
    expect(signed.authorization).toBe(authz);
    expect(signed['x-amz-date']).toBe('20150830T123600Z');
    if (token) expect(signed['x-amz-security-token']).toBe(token);
  });
});

/** Seeded (mulberry32) so that a failure can be reproduced. */
function seeded(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const randomInt = (min: number, max?: number) => (max === undefined ? Math.floor(next() * min) : min + Math.floor(next() * (max - min)));
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => randomInt(256)));
  return { randomInt, randomBytes };
}

describe('signRequest against botocore (an independent implementation) on random requests', () => {
  it('agrees on 200 generated execute-api requests: paths, queries, headers, bodies, session tokens', async () => {
    const { randomInt, randomBytes } = seeded(20261121);
    const pick = (s: string) => s[randomInt(s.length)];
    const text = (n: number, alphabet = 'abcXYZ019-_.~ é€ሴ/!*\'()') => Array.from({ length: n }, () => pick(alphabet)).join('');
    // Queries encoded strictly (RFC 3986, as SigV4 requires): botocore signs a URL's query as written,
    // smithy re-encodes it, so only a correctly encoded query (`*` as %2A) is comparable.
    const strict = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const cases = Array.from({ length: 200 }, (_, i) => {
      // Dot-only segments are left out: URL parsers resolve them before anything is signed.
      const segment = () => {
        const t = text(randomInt(1, 8)).replaceAll('/', '');
        return /^\.*$/.test(t) ? `${t}x` : t;
      };
      const segments = Array.from({ length: randomInt(1, 4) }, () => encodeURIComponent(segment()));
      const query = Array.from({ length: randomInt(0, 3) }, () => `${strict(text(randomInt(1, 5)))}=${strict(text(randomInt(0, 5)))}`).join('&');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (let h = 0; h < randomInt(0, 4); h++) headers[`x-relay-test-${h}${pick('abc')}`] = ` ${text(randomInt(1, 12), 'abc XYZ 0-9;=,')} `;
      return {
        method: i % 5 === 0 ? 'GET' : 'POST',
        url: `https://abc123def4.execute-api.eu-west-1.amazonaws.com/${segments.join('/')}${query ? `?${query}` : ''}`,
        headers,
        body: i % 5 === 0 ? '' : JSON.stringify({ i, data: randomBytes(randomInt(0, 200)).toString('base64'), text: text(20) }),
        date: `2026112${i % 10}T0${i % 10}1530Z`,
        accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: i % 2 ? randomBytes(64).toString('base64') : undefined,
        region: 'eu-west-1',
        service: 'execute-api',
      };
    });
    const oracle = execFileSync('python3', [join(__dirname, '..', 'support', 'sigv4_oracle.py')], {
      input: cases.map((c) => JSON.stringify(c)).join('\n'),
      encoding: 'utf8',
    }).trim().split('\n').map((l) => (JSON.parse(l) as { authorization: string }).authorization);
    expect(oracle).toHaveLength(cases.length);
    for (const [i, c] of cases.entries()) {
      const d = c.date;
      const signed = await signRequest({
        method: c.method, url: new URL(c.url), headers: c.headers, body: c.body, region: c.region,
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
        signingDate: new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`),
      });
      expect({ url: c.url, authorization: signed.authorization }).toEqual({ url: c.url, authorization: oracle[i] });
    }
  });
});

describe('regionFromExecuteApiUrl', () => {
  it.each([
    ['https://abc123.execute-api.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['https://abc123.execute-api.cn-north-1.amazonaws.com.cn/events', 'cn-north-1'],
    ['https://abc123.execute-api-fips.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['http://127.0.0.1:8787', undefined],
    ['https://relay.example.com', undefined],
  ])('%s → %s', (url, region) => {
    expect(regionFromExecuteApiUrl(new URL(url))).toBe(region);
  });
});
