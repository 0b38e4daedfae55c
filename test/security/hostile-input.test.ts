/**
 * The hostile input matrix: each named case goes through the local relay's ingest (SigV4-signed
 * HTTP, the synthesized workflows, the lanes, the sink) and, when it is an envelope, through the
 * Verify handler directly. Each gets its named outcome, nothing is posted that should not be, what
 * is posted cannot ping or format, and the relay stays up throughout.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../../lib/client/keys';
import { signRequest } from '../../lib/client/sigv4';
import { DEFAULT_FRESHNESS_SECONDS, ENVELOPE_VERSION, MAX_PAYLOAD_BYTES, publicKeyToHex, signEnvelope, type Envelope } from '../../lib/contracts/envelope';
import { VerifyEnv } from '../../lib/contracts/env';
import { RelayErrorCode } from '../../lib/contracts/errors';
import type { VoiceStateUpdateEvent } from '../../lib/contracts/events';
import { RelayOutcome } from '../../lib/contracts/lane';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../../lib/config/load';
import { LocalRelayServer } from '../../lib/local/local-relay-server';
import { createHandler } from '../../lib/verify/handler';
import { newKey, voiceEvent } from '../support/fixtures';

const GUILD = '123456789012345678'; // the example config's guild
const OTHER_GUILD = '999999999999999999';
const WINDOW = loadRelayConfigFile(DEFAULT_CONFIG_PATH).freshnessWindowSeconds ?? DEFAULT_FRESHNESS_SECONDS;
const L = BigInt('0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed'); // Ed25519 group order

let server: LocalRelayServer;
let verify: (input: unknown) => Promise<unknown>;
const lines: string[] = [];

beforeAll(async () => {
  server = await LocalRelayServer.start({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'relay-hostile-')), retryPauseMs: 50, sinkRateLimit: false, log: (l) => lines.push(l), env: {} });
  const st = server.settings;
  verify = createHandler({
    [VerifyEnv.PublicKeys]: JSON.stringify({ [st.kid]: publicKeyToHex(readPrivateKeyFile(st.privateKeyFile)) }),
    [VerifyEnv.AllowedGuildIds]: GUILD,
    [VerifyEnv.FreshnessSeconds]: String(WINDOW),
  }, () => undefined);
});
afterAll(() => server.stop());

let counter = 0;
const now = () => Math.floor(Date.now() / 1000);
const user = (displayName: string) => ({ id: '444444444444444444', name: 'hostile', display_name: displayName, bot: false });
const join_ = (displayName = `Guest ${++counter}`, overrides: Partial<VoiceStateUpdateEvent> = {}) =>
  voiceEvent('join', { guild: { id: GUILD, name: 'Local Guild' }, user: user(displayName), ...overrides });

/** Signed by the local relay's own key unless told otherwise; `payload` is sent as given when a string. */
function envelope(payload: unknown, o: { ts?: number; id?: string; kid?: string; key?: ReturnType<typeof newKey> } = {}): Envelope {
  const st = server.settings;
  return signEnvelope(
    { v: ENVELOPE_VERSION, id: o.id ?? `hostile-${process.pid}-${++counter}`, kid: o.kid ?? st.kid, ts: o.ts ?? now(), payload: typeof payload === 'string' ? payload : JSON.stringify(payload) },
    o.key?.privateKey ?? readPrivateKeyFile(st.privateKeyFile),
  );
}

/** The same envelope with its signature's S replaced by S + L: the same point equation, a non-canonical encoding. */
function nonCanonical(e: Envelope): Envelope {
  const bytes = Buffer.from(e.sig, 'hex');
  const s = BigInt(`0x${Buffer.from(bytes.subarray(32)).reverse().toString('hex')}`) + L;
  const le = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return { ...e, sig: Buffer.concat([bytes.subarray(0, 32), le]).toString('hex') };
}

type Expected =
  | { http: number }
  | { failed: string | RegExp }
  | { outcome: 'queued'; line?: string | RegExp }
  | { outcome: 'duplicate' | 'ignored' };

interface Case {
  name: string;
  /** The request body, made when the case runs (signatures and clocks are fresh). */
  body: () => string;
  expected: Expected;
  /** Sign the HTTP request? (default yes) */
  sigv4?: false | 'wrong-secret';
}

const json = (value: unknown) => () => JSON.stringify(value);
const env = (make: () => unknown) => () => JSON.stringify(make());
const malformed: Expected = { failed: RelayErrorCode.Malformed };
const queued = (line?: string | RegExp): Expected => ({ outcome: 'queued', line });
let replayedEnvelope: Envelope | undefined;
const replayed = () => (replayedEnvelope ??= envelope(join_('Replay'), { id: `hostile-replay-${process.pid}` }));

const CASES: Case[] = [
  // Not JSON: API Gateway's StartExecution refuses it before any execution.
  { name: 'truncated JSON', body: () => '{"v":1,"id":"a"', expected: { http: 400 } },
  { name: 'empty body', body: () => '', expected: { http: 400 } },
  { name: 'not JSON at all', body: () => 'hello', expected: { http: 400 } },
  { name: 'JSON followed by garbage', body: () => '{}x', expected: { http: 400 } },
  // Any other JSON starts an execution and ends in a named outcome.
  { name: 'null body', body: json(null), expected: malformed },
  { name: 'array body', body: json([]), expected: malformed },
  { name: 'number body', body: json(123), expected: malformed },
  { name: 'string body', body: json('str'), expected: malformed },
  { name: 'boolean body', body: json(true), expected: malformed },
  { name: 'empty object', body: json({}), expected: malformed },
  { name: 'array holding a valid envelope', body: env(() => [envelope(join_())]), expected: malformed },
  { name: 'body nested 3000 deep', body: () => '['.repeat(3000) + ']'.repeat(3000), expected: { failed: /^(Relay\.Malformed|States\.Runtime)$/ } },
  { name: 'object nested 200 deep', body: () => '{"a":'.repeat(200) + '1' + '}'.repeat(200), expected: malformed },
  // Wrong types and missing fields.
  { name: 'v as a string', body: env(() => ({ ...envelope(join_()), v: '1' })), expected: malformed },
  { name: 'v = 3', body: env(() => ({ ...envelope(join_()), v: 3 })), expected: malformed },
  // v is signed: a v1 envelope relabelled as a batch (or back) fails its signature.
  { name: 'v1 envelope relabelled v = 2', body: env(() => ({ ...envelope(join_()), v: 2 })), expected: { failed: RelayErrorCode.InvalidSignature } },
  { name: 'ts as a string', body: env(() => ({ ...envelope(join_()), ts: String(now()) })), expected: malformed },
  { name: 'ts fractional', body: env(() => ({ ...envelope(join_()), ts: now() + 0.5 })), expected: malformed },
  { name: 'ts negative', body: env(() => ({ ...envelope(join_()), ts: -1 })), expected: malformed },
  { name: 'payload as an object', body: env(() => ({ ...envelope(join_()), payload: join_() })), expected: malformed },
  { name: 'sig as a number', body: env(() => ({ ...envelope(join_()), sig: 1 })), expected: malformed },
  { name: 'id as a number', body: env(() => ({ ...envelope(join_()), id: 42 })), expected: malformed },
  { name: 'missing sig', body: env(() => { const { sig: _, ...rest } = envelope(join_()); return rest; }), expected: malformed },
  { name: 'missing payload', body: env(() => { const { payload: _, ...rest } = envelope(join_()); return rest; }), expected: malformed },
  { name: 'extra fields are ignored (they are not signed, and not used)', body: env(() => ({ ...envelope(join_('Extra')), admin: true, channel: 'audit' })), expected: queued('Extra') },
  { name: '__proto__ key in the envelope', body: () => JSON.stringify(envelope(join_('Proto'))).replace('{', '{"__proto__":{"kid":"evil","polluted":true},'), expected: queued('Proto') },
  { name: '__proto__ and constructor keys in the payload', body: env(() => envelope(JSON.stringify(join_('Payload proto')).replace('{', '{"__proto__":{"bot":true},"constructor":{"prototype":{"polluted":true}},'))), expected: queued('Payload proto') },
  // Every size limit, ±1.
  { name: `payload of exactly ${MAX_PAYLOAD_BYTES} bytes`, body: env(() => envelope(padded(MAX_PAYLOAD_BYTES))), expected: queued() },
  { name: `payload of ${MAX_PAYLOAD_BYTES + 1} bytes`, body: env(() => envelope(padded(MAX_PAYLOAD_BYTES + 1))), expected: { failed: RelayErrorCode.TooLarge } },
  { name: 'id of 128 characters', body: env(() => envelope(join_(), { id: 'i'.repeat(120) + String(++counter).padStart(8, '0') })), expected: queued() },
  { name: 'id of 129 characters', body: env(() => envelope(join_(), { id: 'i'.repeat(129) })), expected: malformed },
  { name: 'id with a slash', body: env(() => envelope(join_(), { id: 'a/b' })), expected: malformed },
  { name: 'kid of 65 characters', body: env(() => envelope(join_(), { kid: 'k'.repeat(65) })), expected: malformed },
  { name: 'display name of 100 characters', body: env(() => envelope(join_('N'.repeat(100)))), expected: queued('N'.repeat(100)) },
  { name: 'display name of 101 characters', body: env(() => envelope(join_('N'.repeat(101)))), expected: malformed },
  { name: 'body over Step Functions\' 256 KB input limit', body: () => JSON.stringify({ pad: 'x'.repeat(256 * 1024) }), expected: { http: 400 } },
  // Unicode.
  { name: 'payload as Python\'s json.dumps writes it (spaces, \\u escapes)', body: env(() => envelope(pythonJson(join_('Zoë 🎧')))), expected: queued('Zoë 🎧') },
  { name: 'lone surrogate in the payload', body: env(() => envelope(JSON.stringify(join_('x')).replace('"x"', '"\ud800"'))), expected: malformed },
  { name: 'escaped lone surrogate in a name (valid bytes) is shown as U+FFFD', body: env(() => envelope(JSON.stringify(join_('Sur')).replace('"Sur"', '"Sur\\ud800"'))), expected: queued('Sur\ufffd') },
  { name: 'right-to-left override in a name', body: env(() => envelope(join_('Mallory\u202Egnp.exe'))), expected: queued('Mallorygnp.exe') },
  { name: 'zero-width characters and BOM in a name', body: env(() => envelope(join_('\uFEFFZe\u200Bro\u200D'))), expected: queued('Zero') },
  { name: 'a name of invisible characters only', body: env(() => envelope(join_('\u200B\u2060\uFEFF'))), expected: queued('\\(blank\\)') },
  { name: 'emoji with joiners stays whole', body: env(() => envelope(join_('👩\u200D💻 Dev'))), expected: queued('👩\u200D💻 Dev') },
  // Mentions, markdown and links arrive as inert text.
  { name: '@everyone in a name', body: env(() => envelope(join_('@everyone'))), expected: queued('\\@everyone') },
  { name: 'role and user mention markup in a name', body: env(() => envelope(join_('<@&123456789012345678><@1>'))), expected: queued('\\<\\@&123456789012345678\\>\\<\\@1\\>') },
  { name: 'a masked link in a name', body: env(() => envelope(join_('[free nitro](https://evil.example)'))), expected: queued('\\[free nitro\\]\\(https\\://evil.example\\)') },
  { name: 'a bare URL in a name (no link, no embed)', body: env(() => envelope(join_('https://evil.example'))), expected: queued('https\\://evil.example') },
  { name: 'markdown: code, spoiler, heading, quote', body: env(() => envelope(join_('```x``` ||s|| # h > q'))), expected: queued('\\`\\`\\`x\\`\\`\\` \\|\\|s\\|\\| \\# h \\> q') },
  { name: 'newlines in a name cannot add lines', body: env(() => envelope(join_('a\nb\r\nc'))), expected: queued('a b  c') },
  // Replays and clocks.
  { name: 'an envelope (first time)', body: () => JSON.stringify(replayed()), expected: queued('Replay') },
  { name: 'the same envelope replayed', body: () => JSON.stringify(replayed()), expected: { outcome: 'duplicate' } },
  { name: `ts ${WINDOW - 1} s in the past`, body: env(() => envelope(join_(), { ts: now() - (WINDOW - 1) })), expected: queued() },
  { name: `ts ${WINDOW + 1} s in the past`, body: env(() => envelope(join_(), { ts: now() - (WINDOW + 1) })), expected: { failed: RelayErrorCode.Stale } },
  { name: `ts ${WINDOW} s in the future`, body: env(() => envelope(join_(), { ts: now() + WINDOW })), expected: queued() },
  { name: `ts ${WINDOW + 2} s in the future`, body: env(() => envelope(join_(), { ts: now() + WINDOW + 2 })), expected: { failed: RelayErrorCode.Stale } },
  // Signature encodings.
  { name: 'signature in upper-case hex (the same bytes)', body: env(() => { const e = envelope(join_('Upper')); return { ...e, sig: e.sig.toUpperCase() }; }), expected: queued('Upper') },
  { name: 'signature in base64', body: env(() => { const e = envelope(join_()); return { ...e, sig: Buffer.from(e.sig, 'hex').toString('base64') }; }), expected: malformed },
  { name: 'signature of 127 hex characters', body: env(() => { const e = envelope(join_()); return { ...e, sig: e.sig.slice(1) }; }), expected: malformed },
  { name: 'signature with one bit flipped', body: env(() => { const e = envelope(join_()); return { ...e, sig: (e.sig[0] === '0' ? '1' : '0') + e.sig.slice(1) }; }), expected: { failed: RelayErrorCode.InvalidSignature } },
  { name: 'signature of zeros', body: env(() => ({ ...envelope(join_()), sig: '0'.repeat(128) })), expected: { failed: RelayErrorCode.InvalidSignature } },
  { name: 'non-canonical signature (S + L)', body: env(() => nonCanonical(envelope(join_()))), expected: { failed: RelayErrorCode.InvalidSignature } },
  { name: 'payload changed after signing', body: env(() => ({ ...envelope(join_('Alice')), payload: JSON.stringify(join_('Mallory')) })), expected: { failed: RelayErrorCode.InvalidSignature } },
  { name: 'another key under the relay\'s kid', body: env(() => envelope(join_(), { key: newKey('local') })), expected: { failed: RelayErrorCode.InvalidSignature } },
  { name: 'unknown kid', body: env(() => envelope(join_(), { kid: 'stranger', key: newKey('stranger') })), expected: { failed: RelayErrorCode.UnknownKey } },
  // Payload content.
  { name: 'guild not allowed', body: env(() => envelope(join_(undefined, { guild: { id: OTHER_GUILD, name: 'Other' } }))), expected: { failed: RelayErrorCode.GuildNotAllowed } },
  { name: 'payload not JSON', body: env(() => envelope('not json')), expected: malformed },
  { name: 'payload a JSON array', body: env(() => envelope('[]')), expected: malformed },
  { name: 'unsupported event type', body: env(() => envelope({ type: 'MESSAGE_CREATE', content: '@everyone' })), expected: { outcome: 'ignored' } },
  { name: 'before and after both null', body: env(() => envelope(join_(undefined, { before: null, after: null }))), expected: malformed },
  { name: 'user id not a snowflake', body: env(() => envelope(join_(undefined, { user: { ...user('x'), id: '1 OR 1=1' } }))), expected: malformed },
  { name: 'at not a timestamp', body: env(() => envelope(join_(undefined, { at: 'yesterday' }))), expected: malformed },
  // The ingest's own SigV4.
  { name: 'unsigned request', body: env(() => envelope(join_())), sigv4: false, expected: { http: 403 } },
  { name: 'request signed with a wrong secret', body: env(() => envelope(join_())), sigv4: 'wrong-secret', expected: { http: 403 } },
];

/** JSON as Python's `json.dumps` writes it by default: `", "` and `": "` separators, non-ASCII as `\\uXXXX`. */
function pythonJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\n */g, ' ').replace(/\[ /g, '[').replace(/ \]/g, ']').replace(/\{ /g, '{').replace(/ \}/g, '}')
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A join whose payload is exactly `bytes` long (an extra field pads it; Verify ignores it). */
function padded(bytes: number): string {
  const base = JSON.stringify({ ...join_(), pad: '' });
  return base.replace('"pad":""', `"pad":"${'p'.repeat(bytes - Buffer.byteLength(base))}"`);
}

async function post(body: string, sigv4: Case['sigv4']): Promise<{ status: number; body: any }> {
  const url = new URL('/events/sync', server.url);
  const st = server.settings;
  const headers: Record<string, string> = sigv4 === false
    ? { 'content-type': 'application/json' }
    : await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: st.region, credentials: { accessKeyId: st.accessKeyId, secretAccessKey: sigv4 === 'wrong-secret' ? 'x'.repeat(40) : st.secretAccessKey } });
  delete headers.host;
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Every line the sink has shown, across messages. */
const postedLines = () => server.sink.messages.flatMap((m) => (m.body as { content: string }).content.split('\n'));

it(`has at least 40 named cases (${CASES.length})`, () => {
  expect(CASES.length).toBeGreaterThanOrEqual(40);
  expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
});

describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
  it('gets its named outcome through the ingest, and posts only what it should', async () => {
    const body = c.body();
    await server.lanes!.pipe.idle();
    const before = postedLines().length;
    const answer = await post(body, c.sigv4);
    const e = c.expected;
    if ('http' in e) {
      expect(answer.status).toBe(e.http);
    } else {
      expect(answer.status).toBe(200);
      if ('failed' in e) expect(answer.body).toMatchObject({ status: 'FAILED', error: e.failed instanceof RegExp ? expect.stringMatching(e.failed) : e.failed });
      else expect({ status: answer.body.status, outcome: JSON.parse(answer.body.output ?? '{}').outcome }).toEqual({ status: 'SUCCEEDED', outcome: { queued: RelayOutcome.Queued, duplicate: RelayOutcome.Duplicate, ignored: RelayOutcome.Ignored }[e.outcome] });
    }
    await server.lanes!.pipe.idle();
    const posted = postedLines().slice(before);
    if ('outcome' in e && e.outcome === 'queued') {
      expect(posted).toHaveLength(1);
      if (e.line) expect(posted[0]).toContain(typeof e.line === 'string' ? e.line : '');
    } else {
      expect(posted).toEqual([]);
    }
  });

  if (!('http' in c.expected)) {
    it('gets the same outcome from the Verify handler', async () => {
      const input: unknown = JSON.parse(c.body());
      const e = c.expected;
      if ('failed' in e) await expect(verify(input)).rejects.toMatchObject({ name: e.failed instanceof RegExp ? expect.stringMatching(e.failed) : e.failed });
      else if ('outcome' in e && e.outcome === 'ignored') await expect(verify(input)).resolves.toMatchObject({ events: [{ kind: 'unsupported' }] });
      else await expect(verify(input)).resolves.toMatchObject({ events: [{ kind: 'voice.join' }] });
    });
  }
});

describe('after the whole matrix', () => {
  it('the relay is up and posts a valid event', async () => {
    expect((await post(JSON.stringify(envelope(join_('Still here'))), undefined)).body).toMatchObject({ status: 'SUCCEEDED' });
    await server.lanes!.pipe.idle();
    expect(postedLines().at(-1)).toContain('Still here');
  });

  it('nothing posted can ping, link or format, and every message disables mentions', () => {
    for (const message of server.sink.messages) expect((message.body as { allowed_mentions: unknown }).allowed_mentions).toEqual({ parse: [] });
    for (const line of postedLines()) {
      expect(line).not.toMatch(/(^|[^\\])@(everyone|here)/);
      expect(line).not.toMatch(/(^|[^\\])<@/);
      expect(line).not.toMatch(/https?:\/\//);
      expect(line).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B\uFEFF]/);
    }
  });

  it('no prototype was polluted', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).bot).toBeUndefined();
  });
});
