import { RelayClient, RelayClientError, parseRetryAfter, type RelayClientOptions } from '../../lib/client/relay-client';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { EventKind } from '../../lib/contracts/events';
import { MAX_PAYLOAD_BYTES, type Envelope } from '../../lib/contracts/envelope';
import { loadVerifyConfig, verifyEnvelope } from '../../lib/verify/handler';
import { VerifyEnv } from '../../lib/contracts/env';
import { FakeIngest } from '../../testkit/fake-ingest';
import { GUILD_ID, KEY, voiceEvent } from '../support/fixtures';

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-1' };
const verifyConfig = loadVerifyConfig({ [VerifyEnv.PublicKeys]: JSON.stringify({ [KEY.kid]: KEY.publicKeyHex }), [VerifyEnv.AllowedGuildIds]: GUILD_ID });

/** The real client with instant, recorded pauses and a fixed jitter draw. */
class TestClient extends RelayClient {
  public readonly pauses: number[] = [];
  constructor(options: RelayClientOptions, draw = 0.5) {
    super(options);
    this.random = () => draw;
    this.sleep = async (ms) => {
      this.pauses.push(ms);
    };
  }
}

const ingest = new FakeIngest();
let url: string;
beforeAll(async () => {
  url = await ingest.start();
});
afterAll(() => ingest.stop());

const client = (options: Partial<RelayClientOptions> = {}, draw?: number) =>
  new TestClient({ url, kid: KEY.kid, privateKey: KEY.privateKey, region: 'eu-west-1', credentials: CREDENTIALS, timeoutMs: 1000, ...options }, draw);

describe('send', () => {
  it('POSTs a signed envelope to /events, SigV4-signed for execute-api with the session token, and returns the execution ARN', async () => {
    ingest.script();
    const result = await client().send(voiceEvent('join'), { id: 'evt-1' });
    expect(result).toEqual({ id: 'evt-1', executionArn: expect.stringMatching(/^arn:aws:states:/), attempts: 1 });
    const [request] = ingest.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/events' });
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'x-amz-security-token': 'session-token-1',
      authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/),
    });
  });

  it('makes envelopes the Verify handler accepts, and that fail once any field or byte changes', async () => {
    ingest.script();
    await client().send(voiceEvent('move'), { id: 'evt-2' });
    const envelope = ingest.envelopes()[0] as unknown as Envelope;
    expect(verifyEnvelope(envelope, verifyConfig)).toMatchObject({ v: 1, id: 'evt-2', events: [{ id: 'evt-2', kind: EventKind.VoiceMove }] });
    const changes: Array<Partial<Envelope>> = [
      { id: 'evt-3' }, { ts: envelope.ts + 1 }, { payload: `${envelope.payload} ` }, { payload: envelope.payload.replace('Alice', 'Alicf') },
      { sig: `${envelope.sig.slice(0, 10)}${envelope.sig[10] === 'a' ? 'b' : 'a'}${envelope.sig.slice(11)}` },
    ];
    for (const change of changes) {
      expect(() => verifyEnvelope({ ...envelope, ...change }, verifyConfig)).toThrow(expect.objectContaining({ name: RelayErrorCode.InvalidSignature }));
    }
    expect(() => verifyEnvelope({ ...envelope, kid: 'other' }, verifyConfig)).toThrow(expect.objectContaining({ name: RelayErrorCode.UnknownKey }));
  });

  it('gives each event a fresh random id by default', async () => {
    ingest.script();
    const a = await client().send(voiceEvent('join'));
    const b = await client().send(voiceEvent('join'));
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
  });

  it('sends a JSON string payload byte for byte', async () => {
    ingest.script();
    const text = '{ "type" : "VOICE_STATE_UPDATE" ,"x":"é"}';
    await client().send(text);
    expect(ingest.envelopes()[0].payload).toBe(text);
  });
});

describe('retries', () => {
  it('429 with Retry-After: waits as told, then succeeds with the same id, re-signed', async () => {
    ingest.script({ status: 429, headers: { 'retry-after': '1.5' }, body: { message: 'Too Many Requests' } });
    let now = 1_763_700_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => (now += 7_000));
    const c = client();
    const result = await c.send(voiceEvent('join'), { id: 'evt-retry' });
    clock.mockRestore();
    expect(result.attempts).toBe(2);
    expect(c.pauses).toEqual([1500]);
    const [first, second] = ingest.envelopes();
    expect(second.id).toBe(first.id);
    expect(second.ts).toBeGreaterThan(first.ts as number);
    expect(second.sig).not.toBe(first.sig);
    expect(ingest.requests[1].headers.authorization).not.toBe(ingest.requests[0].headers.authorization);
  });

  it('503 twice: exponential backoff with full jitter, then success', async () => {
    ingest.script({ status: 503 }, { status: 503 });
    const c = client({ baseDelayMs: 100 }, 0.999);
    expect((await c.send(voiceEvent('join'))).attempts).toBe(3);
    expect(c.pauses).toEqual([99, 199]);
    const low = client({ baseDelayMs: 100 }, 0);
    ingest.script({ status: 500 });
    await low.send(voiceEvent('join'));
    expect(low.pauses).toEqual([0]);
  });

  it('caps each pause at maxDelayMs', async () => {
    ingest.script({ status: 502 }, { status: 502 }, { status: 502 }, { status: 502 });
    const c = client({ baseDelayMs: 1000, maxDelayMs: 1500 }, 0.999);
    await c.send(voiceEvent('join'));
    expect(c.pauses).toEqual([999, 1498, 1498, 1498]);
  });

  it('a hung request times out and is retried', async () => {
    ingest.script('hang');
    const c = client({ timeoutMs: 200 });
    expect((await c.send(voiceEvent('join'))).attempts).toBe(2);
    expect(ingest.requests).toHaveLength(2);
  });

  it('a reset connection is retried', async () => {
    ingest.script('reset', 'reset');
    expect((await client().send(voiceEvent('join'))).attempts).toBe(3);
  });

  it('gives up after maxAttempts with kind "unavailable" naming the last problem', async () => {
    ingest.script(...Array(5).fill({ status: 503, body: 'Service Unavailable' }));
    await expect(client({ maxAttempts: 5 }).send(voiceEvent('join'))).rejects.toMatchObject({
      kind: 'unavailable', attempts: 5, status: 503, message: expect.stringContaining('gave up after 5 attempts to 127.0.0.1'),
    });
    expect(ingest.requests).toHaveLength(5);
  });

  it('does not retry a 403; explains which key signed and which policy to attach', async () => {
    ingest.script({ status: 403, body: { message: 'User: arn:aws:iam::123456789012:user/x is not authorized to perform: execute-api:Invoke' } });
    const error = await client().send(voiceEvent('join')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelayClientError);
    expect(error).toMatchObject({ kind: 'forbidden', status: 403, attempts: 1 });
    const message = (error as Error).message;
    expect(message).toContain('is not authorized to perform: execute-api:Invoke');
    expect(message).toContain('signed with access key AKIA…MPLE (temporary credentials) for region eu-west-1');
    expect(message).toContain('aws iam attach-role-policy --role-name <role> --policy-arn <CallerPolicyArn>');
    expect(message).not.toContain(CREDENTIALS.secretAccessKey);
    expect(message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(ingest.requests).toHaveLength(1);
  });

  it('does not retry another 4xx', async () => {
    ingest.script({ status: 400, body: { message: 'Invalid input' } });
    await expect(client().send(voiceEvent('join'))).rejects.toMatchObject({ kind: 'rejected', status: 400 });
    expect(ingest.requests).toHaveLength(1);
  });
});

describe('sendSync', () => {
  it('POSTs to /events/sync and reports a failed execution\'s Relay code as an outcome', async () => {
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'FAILED', error: RelayErrorCode.Stale, cause: '{"errorMessage":"ts: 400 s old"}' } });
    const result = await client().sendSync(voiceEvent('join'), { id: 'evt-s' });
    expect(ingest.requests[0].path).toBe('/events/sync');
    expect(result).toEqual({ id: 'evt-s', executionArn: 'arn:x', status: 'FAILED', code: RelayErrorCode.Stale, cause: '{"errorMessage":"ts: 400 s old"}', output: undefined, attempts: 1 });
  });

  it('parses a successful execution\'s output and its code', async () => {
    const output = { id: 'e', kind: 'voice.update', outcome: 'ignored', code: RelayErrorCode.Ignored };
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'SUCCEEDED', output: JSON.stringify(output) } });
    expect(await client().sendSync(voiceEvent('mute'))).toMatchObject({ status: 'SUCCEEDED', code: RelayErrorCode.Ignored, output });
  });

  it('keeps a base URL\'s path prefix', async () => {
    ingest.script();
    await client({ url: `${url}/prefix/` }).send(voiceEvent('join'));
    expect(ingest.requests[0].path).toBe('/prefix/events');
  });
});

describe('sendBatch', () => {
  it('signs one v2 envelope of { id, event } items that the Verify handler accepts, each event under its own id', async () => {
    ingest.script();
    const sent = await client().sendBatch([{ id: 'evt-b1', event: voiceEvent('join') }, { event: voiceEvent('leave') }], { id: 'batch-9' });
    expect(sent).toMatchObject({ id: 'batch-9', ids: ['evt-b1', expect.stringMatching(/^[0-9a-f-]{36}$/)] });
    const envelope = ingest.envelopes()[0] as unknown as Envelope;
    expect(envelope).toMatchObject({ v: 2, id: 'batch-9' });
    expect(verifyEnvelope(envelope, verifyConfig)).toMatchObject({ v: 2, events: [{ id: 'evt-b1', kind: EventKind.VoiceJoin }, { id: sent.ids[1], kind: EventKind.VoiceLeave }] });
    expect(() => verifyEnvelope({ ...envelope, payload: envelope.payload.replace('evt-b1', 'evt-b2') }, verifyConfig)).toThrow(expect.objectContaining({ name: RelayErrorCode.InvalidSignature }));
  });
});

describe('acceptsBatches', () => {
  it('is true when a v2 probe comes back checked, false when the relay fails it (older than batches), and rejects when the relay cannot be reached', async () => {
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'SUCCEEDED', output: JSON.stringify({ id: 'b', events: [{ id: 'p', kind: 'relay.probe', outcome: 'checked' }] }) } });
    expect(await client().acceptsBatches('fwd')).toBe(true);
    const probe = ingest.envelopes()[0] as unknown as Envelope;
    expect(ingest.requests[0].path).toBe('/events/sync');
    expect(JSON.parse(probe.payload)).toEqual([{ id: expect.stringMatching(/^batch-probe:/), event: expect.objectContaining({ type: 'FORWARDER_HEARTBEAT', forwarder: 'fwd', probe: true }) }]);
    ingest.script({ status: 200, body: { executionArn: 'arn:x', status: 'FAILED', error: RelayErrorCode.Malformed, cause: 'v: must be 1' } });
    expect(await client().acceptsBatches()).toBe(false);
    ingest.script('reset', 'reset', 'reset', 'reset', 'reset');
    await expect(client().acceptsBatches()).rejects.toThrow(/gave up after \d+ attempts/);
  });
});

describe('refuses bad input before sending anything', () => {
  it.each([
    ['an oversized event', () => client().send({ pad: 'x'.repeat(MAX_PAYLOAD_BYTES) }), 'the relay accepts at most'],
    ['a bad id', () => client().send(voiceEvent('join'), { id: 'has space' }), 'id "has space" must be'],
    ['a bad url', () => client({ url: 'not a url' }).send({}), 'is not a URL'],
    ['an empty batch', () => client().sendBatch([]), 'a batch holds 1-10 events, got 0'],
    ['a batch of eleven', () => client().sendBatch(Array.from({ length: 11 }, () => ({ event: {} }))), 'got 11'],
    ['one id twice in a batch', () => client().sendBatch([{ id: 'same', event: {} }, { id: 'same', event: {} }]), 'appears twice in the batch'],
    ['a batch item without an event', () => client().sendBatch([{ id: 'x' } as never]), 'batch[0] must be { id?, event }'],
    ['a batch over the size limit', () => client().sendBatch([{ event: { pad: 'x'.repeat(MAX_PAYLOAD_BYTES / 2) } }, { event: { pad: 'x'.repeat(MAX_PAYLOAD_BYTES / 2) } }]), 'the batch is'],
    ['a URL with no region and none given', () => client({ region: undefined }).send({}), 'cannot tell the region from 127.0.0.1'],
    ['a non-Ed25519 key', () => client({ privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' }).send({}), 'is not a PEM private key'],
  ])('%s', async (_, act, message) => {
    ingest.script();
    const saved = { region: process.env.AWS_REGION, fallback: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      await expect((async () => act())()).rejects.toThrow(message);
    } finally {
      if (saved.region !== undefined) process.env.AWS_REGION = saved.region;
      if (saved.fallback !== undefined) process.env.AWS_DEFAULT_REGION = saved.fallback;
    }
    expect(ingest.requests).toHaveLength(0);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['2', 2000], ['0.25', 250], ['0', 0], [null, undefined], ['soon', undefined],
    ['Sat, 21 Nov 2026 08:00:05 GMT', 5000],
  ] as const)('%s → %s ms', (value, ms) => {
    expect(parseRetryAfter(value, Date.parse('2026-11-21T08:00:00Z'))).toBe(ms);
  });
});
