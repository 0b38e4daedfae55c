import { VerifyEnv } from '../../lib/contracts/env';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { EventKind } from '../../lib/contracts/events';
import { loadVerifyConfig, verifyEnvelope as verifyWhole, type VerifiedEvent, type VerifyConfig } from '../../lib/verify/handler';
// The entry assigns module.exports (no ESM helpers in the bundle): required, as Lambda loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { handler } = require('../../lambda/verify/index') as { handler: ReturnType<typeof import('../../lib/verify/handler').createHandler> };
import { EVENT_AT, GUILD_ID, KEY, OTHER_GUILD_ID, newKey, signed, signedBatch, voiceEvent } from '../support/fixtures';
import { MAX_PAYLOAD_BYTES, signEnvelope } from '../../lib/contracts/envelope';

const ROTATED = newKey('next-key');
const env = {
  [VerifyEnv.PublicKeys]: JSON.stringify({ [KEY.kid]: KEY.publicKeyHex, [ROTATED.kid]: ROTATED.publicKeyHex }),
  [VerifyEnv.AllowedGuildIds]: GUILD_ID,
  [VerifyEnv.FreshnessSeconds]: '300',
};
const config: VerifyConfig = loadVerifyConfig(env);
const now = Date.now();
const nowSeconds = Math.floor(now / 1000);

/** A v1 envelope's one event, as the relay workflow's Map gets it. */
function verifyEnvelope(input: unknown, c: VerifyConfig, nowMs: number): VerifiedEvent {
  const out = verifyWhole(input, c, nowMs);
  expect(out).toMatchObject({ v: 1, events: [expect.anything()] });
  expect(out.events).toHaveLength(1);
  return out.events[0] as VerifiedEvent;
}

function rejection(code: string, message?: string) {
  return expect.objectContaining({ name: code, ...(message ? { message: expect.stringContaining(message) } : {}) });
}

describe('an event\'s time (at)', () => {
  const iso = (seconds: number) => new Date((nowSeconds + seconds) * 1000).toISOString();
  const at = (value: string) => signed(voiceEvent('join', { at: value }), { ts: nowSeconds });

  it('may lie within the freshness window after ts, and up to a day before it (a re-sent spooled event keeps its at)', () => {
    for (const offset of [0, 299, -3600, -24 * 3600]) expect(verifyEnvelope(at(iso(offset)), config, now)).toMatchObject({ kind: EventKind.VoiceJoin });
  });

  it.each([
    ['far in the future (a card would freeze until it expired)', '9999-12-31T23:59:59Z'],
    ['an hour after ts', iso(3600)],
    ['just past the window', iso(301)],
  ])('%s → Relay.Stale naming at', (_, value) => {
    expect(() => verifyEnvelope(at(value), config, now)).toThrow(rejection(RelayErrorCode.Stale, `at: ${value} is`));
  });

  it('more than a day before ts → Relay.Stale naming at', () => {
    expect(() => verifyEnvelope(at(iso(-24 * 3600 - 301)), config, now)).toThrow(rejection(RelayErrorCode.Stale, 'before ts; the most is 86700 s before'));
  });

  it.each([['2026-02-30T10:00:00Z'], ['2026-11-21T24:00:00Z'], ['0000-01-01T00:00:00Z'], ['2026-11-21T07:60:00Z'], ['2016-12-31T23:59:60Z'], ['2026-11-21T07:00:00+24:00'], ['2026-11-21 07:00:00Z']])('an impossible time (%s) → Relay.Malformed, not rolled over', (value) => {
    expect(() => verifyEnvelope(at(value), config, now)).toThrow(rejection(RelayErrorCode.Malformed, 'at must be an ISO 8601 timestamp of a real instant'));
  });

  it('reads an offset as the instant it names, and a 29 February only in a leap year', () => {
    expect(verifyEnvelope(at(iso(0).replace('Z', '+00:00')), config, now)).toMatchObject({ kind: EventKind.VoiceJoin });
    expect(() => verifyEnvelope(at('2027-02-29T00:00:00Z'), config, now)).toThrow(rejection(RelayErrorCode.Malformed));
  });

  it('bounds a heartbeat\'s at as well, when it has one', () => {
    const beat = (value?: string) => signed({ type: 'FORWARDER_HEARTBEAT', forwarder: 'f', ...(value ? { at: value } : {}) }, { ts: nowSeconds });
    expect(verifyEnvelope(beat(), config, now)).toMatchObject({ kind: EventKind.ForwarderHeartbeat });
    expect(() => verifyEnvelope(beat('9999-12-31T23:59:59Z'), config, now)).toThrow(rejection(RelayErrorCode.Stale, 'at: 9999'));
    expect(() => verifyEnvelope(beat('2026-13-01T00:00:00Z'), config, now)).toThrow(rejection(RelayErrorCode.Malformed, 'at must be'));
  });
});

describe('verifyEnvelope', () => {
  it.each([
    ['join', EventKind.VoiceJoin],
    ['leave', EventKind.VoiceLeave],
    ['move', EventKind.VoiceMove],
    ['mute', EventKind.VoiceUpdate],
  ] as const)('classifies a %s as %s and returns the normalized event', (kind, expected) => {
    const event = voiceEvent(kind);
    const envelope = signed(event);
    const out = verifyEnvelope(envelope, config, now);
    expect(out).toMatchObject({ id: envelope.id, kid: KEY.kid, kind: expected, type: 'VOICE_STATE_UPDATE', event });
  });

  it('fills template fields, with the channel concerned and Discord markup', () => {
    const out = verifyEnvelope(signed(voiceEvent('move')), config, now);
    expect('text' in out && out.text).toEqual({
      user: 'Alice', user_name: 'alice', user_id: '444444444444444444', user_mention: '<@444444444444444444>',
      guild: 'Test Guild', channel: 'Gaming', channel_mention: '<#333333333333333333>',
      from: 'General', from_mention: '<#222222222222222222>', to: 'Gaming', to_mention: '<#333333333333333333>',
      time: `<t:${Date.parse(EVENT_AT) / 1000}:t>`, at: EVENT_AT,
    });
  });

  it('escapes markdown, mentions and control characters in user text', () => {
    const event = voiceEvent('join', { user: { id: '444444444444444444', name: 'x', display_name: '**@everyone** <@1>\n# [x](http://e)', bot: false } });
    const out = verifyEnvelope(signed(event), config, now);
    expect('text' in out && out.text.user).toBe('\\*\\*\\@everyone\\*\\* \\<\\@1\\> \\# \\[x\\]\\(http\\://e\\)');
  });

  it('accepts any configured key (rotation)', () => {
    expect(verifyEnvelope(signed(voiceEvent('join'), { key: ROTATED }), config, now).kind).toBe(EventKind.VoiceJoin);
  });

  it('returns kind "unsupported" for a well-formed event of an unknown type', () => {
    expect(verifyEnvelope(signed({ type: 'GUILD_MEMBER_ADD' }), config, now)).toEqual(expect.objectContaining({ kind: 'unsupported', type: 'GUILD_MEMBER_ADD' }));
  });

  it('rejects an unknown kid with Relay.UnknownKey', () => {
    expect(() => verifyEnvelope(signed(voiceEvent('join'), { key: newKey('stranger') }), config, now)).toThrow(rejection(RelayErrorCode.UnknownKey, 'stranger'));
  });

  it('rejects a signature by another key under a known kid with Relay.InvalidSignature', () => {
    const forged = signed(voiceEvent('join'), { key: { ...newKey(), kid: KEY.kid } });
    expect(() => verifyEnvelope(forged, config, now)).toThrow(rejection(RelayErrorCode.InvalidSignature));
  });

  it.each(['id', 'ts', 'payload', 'sig'] as const)('rejects an envelope whose %s changed after signing with Relay.InvalidSignature', (field) => {
    const envelope = signed(voiceEvent('join'));
    const changed = {
      id: { id: `${envelope.id}x` },
      ts: { ts: envelope.ts - 1 },
      payload: { payload: envelope.payload.replace('Alice', 'Mallory') },
      sig: { sig: `${envelope.sig.slice(0, -1)}${envelope.sig.endsWith('0') ? '1' : '0'}` },
    }[field];
    expect(() => verifyEnvelope({ ...envelope, ...changed }, config, now)).toThrow(rejection(RelayErrorCode.InvalidSignature));
  });

  it.each([
    [-301, 'old'],
    [301, 'in the future'],
  ])('rejects ts %i s away with Relay.Stale', (offset, words) => {
    expect(() => verifyEnvelope(signed(voiceEvent('join'), { ts: nowSeconds + offset }), config, now)).toThrow(rejection(RelayErrorCode.Stale, words));
  });

  it.each([-300, 300])('accepts ts %i s away (inside the window)', (offset) => {
    expect(() => verifyEnvelope(signed(voiceEvent('join'), { ts: nowSeconds + offset }), config, now)).not.toThrow();
  });

  it.each([
    ['not JSON', '{"type":', 'not valid JSON'],
    ['an array', '[]', 'must be an object'],
    ['no type', '{}', 'type'],
    ['a bad snowflake', JSON.stringify(voiceEvent('join', { guild: { id: '12', name: 'g' } })), 'guild.id'],
    ['a numeric snowflake', JSON.stringify({ ...voiceEvent('join'), user: { ...voiceEvent('join').user, id: 444444444444444444 } }), 'user.id'],
    ['an empty name', JSON.stringify(voiceEvent('join', { guild: { id: GUILD_ID, name: '' } })), 'guild.name'],
    ['a 101-character name', JSON.stringify(voiceEvent('join', { guild: { id: GUILD_ID, name: 'x'.repeat(101) } })), 'guild.name'],
    ['no channel at all', JSON.stringify(voiceEvent('join', { after: null })), 'both be null'],
    ['a missing before', JSON.stringify({ ...voiceEvent('join'), before: undefined }), 'before and after'],
    ['a bad time', JSON.stringify(voiceEvent('join', { at: 'yesterday' })), 'at must be'],
    ['a non-boolean bot flag', JSON.stringify({ ...voiceEvent('join'), user: { ...voiceEvent('join').user, bot: 'no' } }), 'user.bot'],
  ])('rejects a payload with %s as Relay.Malformed', (_, payload, words) => {
    expect(() => verifyEnvelope(signed(payload), config, now)).toThrow(rejection(RelayErrorCode.Malformed, words));
  });

  it('rejects an event from a guild not in the allowlist with Relay.GuildNotAllowed', () => {
    const event = voiceEvent('join', { guild: { id: OTHER_GUILD_ID, name: 'Elsewhere' } });
    expect(() => verifyEnvelope(signed(event), config, now)).toThrow(rejection(RelayErrorCode.GuildNotAllowed, OTHER_GUILD_ID));
  });

  it('checks the signature before freshness, so a forged stale envelope is reported as forged', () => {
    const forged = { ...signed(voiceEvent('join'), { ts: nowSeconds - 10_000 }), payload: '{}' };
    expect(() => verifyEnvelope(forged, config, now)).toThrow(rejection(RelayErrorCode.InvalidSignature));
  });
});

describe('loadVerifyConfig', () => {
  it.each([
    [{}, 'RELAY_PUBLIC_KEYS is not set'],
    [{ [VerifyEnv.PublicKeys]: '[]' }, 'must be a JSON object'],
    [{ [VerifyEnv.PublicKeys]: '{"k":"abc"}' }, '64 hex'],
    [{ ...env, [VerifyEnv.AllowedGuildIds]: '1,2' }, 'not a snowflake'],
    [{ ...env, [VerifyEnv.FreshnessSeconds]: '-1' }, 'positive whole number'],
  ])('refuses unusable settings %j', (bad, message) => {
    expect(() => loadVerifyConfig(bad)).toThrow(message);
  });
});

describe('a batch (v2 envelope)', () => {
  const join = voiceEvent('join');
  const leave = voiceEvent('leave');

  it('verifies once and returns each event with its own id, in order', () => {
    const envelope = signedBatch([{ id: 'a-1', event: join }, { id: 'a-2', event: leave }, { id: 'a-3', event: { type: 'GUILD_MEMBER_ADD' } }], { id: 'batch-1' });
    const out = verifyWhole(envelope, config, now);
    expect(out).toMatchObject({ v: 2, id: 'batch-1', kid: KEY.kid });
    expect(out.events).toEqual([
      expect.objectContaining({ id: 'a-1', kind: EventKind.VoiceJoin, receivedAt: nowSeconds }),
      expect.objectContaining({ id: 'a-2', kind: EventKind.VoiceLeave }),
      expect.objectContaining({ id: 'a-3', kind: 'unsupported' }),
    ]);
  });

  it('turns away a bad event with its code and reason, and keeps the rest of the batch', () => {
    const foreign = voiceEvent('join', { guild: { id: OTHER_GUILD_ID, name: 'Other' } });
    const future = voiceEvent('join', { at: new Date(now + 3600_000).toISOString() });
    const out = verifyWhole(signedBatch([{ id: 'b-1', event: foreign }, { id: 'b-2', event: join }, { id: 'b-3', event: { type: 'VOICE_STATE_UPDATE' } }, { id: 'b-4', event: future }]), config, now);
    expect(out.events).toEqual([
      { id: 'b-1', kid: KEY.kid, rejected: { code: RelayErrorCode.GuildNotAllowed, reason: expect.stringContaining(OTHER_GUILD_ID) } },
      expect.objectContaining({ id: 'b-2', kind: EventKind.VoiceJoin }),
      { id: 'b-3', kid: KEY.kid, rejected: { code: RelayErrorCode.Malformed, reason: expect.any(String) } },
      { id: 'b-4', kid: KEY.kid, rejected: { code: RelayErrorCode.Stale, reason: expect.stringContaining('after ts') } },
    ]);
  });

  it.each([
    ['not an array', { id: 'x', event: join }, 'an array of 1-10'],
    ['empty', [], 'an array of 1-10'],
    ['eleven events', Array.from({ length: 11 }, (_, i) => ({ id: `e-${i}`, event: join })), 'an array of 1-10'],
    ['two events with one id', [{ id: 'same', event: join }, { id: 'same', event: leave }], 'payload[1].id'],
    ['an event without an id', [{ event: join }], 'payload[0].id'],
    ['an id with spaces', [{ id: 'a b', event: join }], 'payload[0].id'],
    ['an item that is not an object', [{ id: 'ok', event: join }, null], 'payload[1].id'],
  ])('refuses a whole batch that is %s (Relay.Malformed)', (_, items, words) => {
    const envelope = signEnvelope({ v: 2, id: 'bad-batch', kid: KEY.kid, ts: nowSeconds, payload: JSON.stringify(items) }, KEY.privateKey);
    expect(() => verifyWhole(envelope, config, now)).toThrow(rejection(RelayErrorCode.Malformed, words));
  });

  it('refuses a batch over the size limit, and a v1 signature presented as v2 (or back)', () => {
    const big = signedBatch([{ id: 'big', event: { type: 'X', pad: 'x'.repeat(MAX_PAYLOAD_BYTES) } }]);
    expect(() => verifyWhole(big, config, now)).toThrow(rejection(RelayErrorCode.TooLarge));
    const one = signed(JSON.stringify([{ id: 'a', event: join }]));
    expect(() => verifyWhole({ ...one, v: 2 }, config, now)).toThrow(rejection(RelayErrorCode.InvalidSignature));
    const batch = signedBatch([{ id: 'a', event: join }]);
    expect(() => verifyWhole({ ...batch, v: 1 }, config, now)).toThrow(rejection(RelayErrorCode.InvalidSignature));
    expect(() => verifyWhole({ ...batch, v: 3 }, config, now)).toThrow(rejection(RelayErrorCode.Malformed, 'v: must be 1'));
  });

  it('rejects the whole batch for what belongs to the envelope: its key, signature and ts', () => {
    expect(() => verifyWhole(signedBatch([{ id: 'a', event: join }], { ts: nowSeconds - 301 }), config, now)).toThrow(rejection(RelayErrorCode.Stale, 'ts:'));
    expect(() => verifyWhole(signedBatch([{ id: 'a', event: join }], { key: newKey('stranger') }), config, now)).toThrow(rejection(RelayErrorCode.UnknownKey));
  });
});

describe('handler', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  it('reads its settings from the environment and logs rejections without user text', async () => {
    Object.assign(process.env, env);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    await expect(handler(signed(voiceEvent('join')))).resolves.toMatchObject({ v: 1, events: [{ kind: EventKind.VoiceJoin }] });
    const evil = signed(voiceEvent('join', { guild: { id: OTHER_GUILD_ID, name: 'SECRET-NAME' } }), { id: 'evt-1' });
    await expect(handler(evil)).rejects.toMatchObject({ name: RelayErrorCode.GuildNotAllowed });
    await expect(handler({ ...evil, id: 'bad id with spaces' })).rejects.toMatchObject({ name: RelayErrorCode.Malformed });
    const lines = warn.mock.calls.map(([line]) => JSON.parse(line as string));
    expect(lines).toEqual([
      { level: 'WARN', message: 'envelope rejected', code: RelayErrorCode.GuildNotAllowed, id: 'evt-1' },
      { level: 'WARN', message: 'envelope rejected', code: RelayErrorCode.Malformed },
    ]);
    expect(JSON.stringify(warn.mock.calls)).not.toContain('SECRET-NAME');
    warn.mockRestore();
  });
});
