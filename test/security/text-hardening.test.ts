/**
 * The signed bytes are the verified bytes; user text reaches Discord inert and visible; secrets
 * never leave in a cause. Each case here was a finding of the issue 10 probe, reproduced first.
 */
import { parseEnvelope, verifyEnvelopeSignature } from '../../lib/contracts/envelope';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { REDACTED, describeOutsideText, redactSecrets } from '../../lib/contracts/redact';
import { BLANK_NAME, ESCAPED_NAME_LENGTH, escapeDiscordText } from '../../lib/contracts/template';
import { MAX_NAME_LENGTH } from '../../lib/contracts/events';
import { paceAfter } from '../../lib/delivery/pace';
import { KEY, signed } from '../support/fixtures';

describe('signature malleability: lone surrogates', () => {
  // UTF-8 encodes every lone surrogate as EF BF BD, the bytes of U+FFFD.
  it.each([['\ud800'], ['\udfff'], ['x\udbffy'], ['\udc00\ud800']])('a payload holding %j is Relay.Malformed before any signature check', (text) => {
    const envelope = signed(`{"type":"X","n":"${text}"}`);
    expect(() => parseEnvelope(envelope)).toThrow(expect.objectContaining({ code: RelayErrorCode.Malformed, message: expect.stringMatching(/lone surrogate .* at index \d+/) }));
  });

  it('so one signature verifies one payload: the U+FFFD twin of a \\ud800 payload does not borrow its signature', () => {
    const withSurrogate = signed('{"type":"X","n":"\ud800"}');
    const twin = { ...withSurrogate, payload: '{"type":"X","n":"\ufffd"}' };
    // Same UTF-8 bytes: the signature alone cannot tell them apart, which is why parseEnvelope must.
    expect(verifyEnvelopeSignature(twin, KEY.publicKey)).toBe(true);
    expect(() => parseEnvelope(withSurrogate)).toThrow(expect.objectContaining({ code: RelayErrorCode.Malformed }));
    expect(parseEnvelope(twin).payload).toBe(twin.payload);
  });

  it('a well-formed pair (an emoji) is fine', () => {
    expect(parseEnvelope(signed('{"type":"X","n":"😀 \ud83d\ude00"}')).payload).toContain('😀');
  });
});

describe('Unicode spoofing in names', () => {
  it.each([
    ['right-to-left override', 'Alice\u202Enioj', 'Alicenioj'],
    ['bidi isolates and marks', '\u2066Bob\u2069\u200F\u200E\u061C', 'Bob'],
    ['zero-width space, non-joiner and word joiner', 'Ca\u200Brol\u200C\u2060', 'Carol'],
    ['byte-order marks', '\uFEFFDave\uFEFF', 'Dave'],
    ['tag characters', 'Eve\u{E0041}\u{E007F}', 'Eve'],
    ['a zero-width joiner between letters', 'Fr\u200Dank', 'Frank'],
  ])('%s are removed', (_, name, shown) => {
    expect(escapeDiscordText(name)).toBe(shown);
  });

  it('keeps the joiner inside an emoji sequence (👩‍💻, 🏳️‍🌈), after a skin tone too (👨🏽‍💻)', () => {
    expect(escapeDiscordText('👩\u200D💻 coder')).toBe('👩\u200D💻 coder');
    expect(escapeDiscordText('🏳\uFE0F\u200D🌈')).toBe('🏳\uFE0F\u200D🌈');
    expect(escapeDiscordText('👨\u{1F3FD}\u200D💻')).toBe('👨\u{1F3FD}\u200D💻');
    expect(escapeDiscordText('👩\u{1F3FF}\u200D🤝\u200D👨\u{1F3FB}')).toBe('👩\u{1F3FF}\u200D🤝\u200D👨\u{1F3FB}');
  });

  it('keeps a subdivision flag\'s tag letters (🏴󠁧󠁢󠁳󠁣󠁴󠁿), and removes tags anywhere else, even after a black flag', () => {
    const scotland = '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}';
    expect(escapeDiscordText(`${scotland} Fan`)).toBe(`${scotland} Fan`);
    expect(escapeDiscordText('🏴\u{E0041}\u{E0042}\u{E0043}hidden')).toBe('🏴hidden');
    expect(escapeDiscordText('x\u{E0067}\u{E0062}\u{E007F}')).toBe('x');
  });

  it.each([['\u3164'], ['\u3164\u3164 '], ['\u115F\u1160'], ['\uFFA0'], ['\u2800\u2800'], ['\u17B4 \u200B'], ['\u034F'], ['\uFE0F\uFE0E'], ['\u180B\u180F'], ['\u{E0100}']])('a name of blank-looking letters only (%j) reads "(blank)"', (name) => {
    expect(escapeDiscordText(name)).toBe(BLANK_NAME.replace(/[()]/g, '\\$&'));
  });

  it('keeps a blank-looking letter inside a name with visible text', () => {
    expect(escapeDiscordText('Ann\u3164')).toBe('Ann\u3164');
  });

  it('a lone surrogate becomes U+FFFD', () => {
    expect(escapeDiscordText('a\ud800b')).toBe('a\ufffdb');
  });

  it.each([['\u200B\u200B'], ['\u202E'], ['   '], ['\u0000\u0007']])('a name with nothing visible (%j) reads "(blank)"', (name) => {
    expect(escapeDiscordText(name)).toBe(BLANK_NAME.replace(/[()]/g, '\\$&'));
  });

  it('still escapes markdown and mentions after cleaning', () => {
    expect(escapeDiscordText('@every\u200Bone **x**')).toBe('\\@everyone \\*\\*x\\*\\*');
  });
});

describe('secrets in causes', () => {
  const webhook = 'https://discord.com/api/webhooks/123456789012345678/AbCdEf-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ';
  const botToken = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB';
  const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----';

  it.each([
    ['a Discord webhook URL', `{"message":"bad","url":"${webhook}"}`, 'AbCdEf-_0123456789'],
    ['a webhook URL on another host', 'posted to http://127.0.0.1:8080/api/webhooks/1/secret-token-value?wait=true', 'secret-token-value'],
    ['a bot token', `Authorization: Bot ${botToken}`, botToken],
    ['a PEM private key', `key was ${pem} oops`, 'MC4CAQAwBQYDK2VwBCIEIJ'],
    ['a token parameter', 'https://x.example/hook?token=hunter2hunter2&a=1', 'hunter2'],
  ])('%s is redacted', (_, text, secret) => {
    const out = redactSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it('keeps the webhook id (which webhook it was) and the rest of the text', () => {
    expect(redactSecrets(`{"url":"${webhook}"}`)).toBe(`{"url":"https://discord.com/api/webhooks/123456789012345678/${REDACTED}"}`);
  });

  it('redacts secrets the caller knows, and cuts only after redacting (no half token survives)', () => {
    expect(redactSecrets('the value s3cr3t-value-1 leaked', ['s3cr3t-value-1'])).toBe(`the value ${REDACTED} leaked`);
    const long = `${'x'.repeat(480)} ${webhook}`;
    const cut = describeOutsideText(long, 500);
    expect(cut.length).toBeLessThanOrEqual(500);
    expect(cut).not.toMatch(/AbCdEf/);
  });

  it('a refusal that echoes the webhook URL reaches the dead-letter reason redacted (Pace detail)', () => {
    const decision = paceAfter({ Error: 'ApiGateway.404', Cause: `{"message":"Unknown Webhook","echo":"${webhook}"}` });
    expect(decision.detail).toContain('Unknown Webhook');
    expect(decision.detail).not.toContain('AbCdEf');
  });
});

it('a template field\'s room for a name is twice the longest name (escaping doubles at most)', () => {
  expect(ESCAPED_NAME_LENGTH).toBe(2 * MAX_NAME_LENGTH);
  expect(escapeDiscordText('*'.repeat(MAX_NAME_LENGTH))).toHaveLength(ESCAPED_NAME_LENGTH);
});
