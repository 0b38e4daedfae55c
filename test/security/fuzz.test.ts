/**
 * Property-based fuzzing (fast-check) of the envelope parser, the Verify handler and the message
 * renderer: never a crash (only named `Relay.*` rejections), never an unescaped mention or
 * markdown character from user text, never over Discord's limits. FUZZ_RUNS sets the cases per
 * property (CI runs the default, 10,600 in all).
 */
import fc from 'fast-check';
import { ENVELOPE_VERSION, parseEnvelope, signEnvelope } from '../../lib/contracts/envelope';
import { RelayError, RelayErrorCode, VERIFY_REJECTION_CODES } from '../../lib/contracts/errors';
import { MAX_NAME_LENGTH, type VoiceStateUpdateEvent } from '../../lib/contracts/events';
import { ClaimState, DedupeAttribute } from '../../lib/contracts/lane';
import { DISCORD_CONTENT_LIMIT, escapeDiscordText, maxRenderedLength, parseTemplate, renderTemplate, renderVoiceFields } from '../../lib/contracts/template';
import { coalesce, type DiscordMessageBody, type OutgoingMessage } from '../../lib/delivery/coalesce';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../../lib/config/load';
import { verifyEnvelope, type VerifyConfig } from '../../lib/verify/handler';
import { GUILD_ID, KEY, voiceEvent } from '../support/fixtures';

const RUNS = Number(process.env.FUZZ_RUNS ?? 0) || undefined;
const runs = (n: number) => ({ numRuns: RUNS ?? n, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) });
const total: Record<string, number> = {};
const counted = <T extends unknown[]>(name: string, f: (...args: T) => void) => (...args: T) => {
  total[name] = (total[name] ?? 0) + 1;
  f(...args);
};

const MARKDOWN = new Set('\\*_~`|>#-[]()<:@');
/** Controls, bidi overrides and isolates, zero-width characters, BOM, tag characters (assigned ones). */
const INVISIBLE = /[\p{Cc}\u2028\u2029\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF\u{E0001}\u{E0020}-\u{E007F}]/u;

/** True when every markdown character of `text` is escaped by a backslash that is itself not escaped. */
function inert(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      if (!MARKDOWN.has(text[i + 1] ?? '')) return false;
      i++;
    } else if (MARKDOWN.has(text[i])) return false;
  }
  return true;
}

/** Names as attackers write them: every plane, mention and markdown syntax, invisible characters. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: MAX_NAME_LENGTH }),
  fc.string({ unit: fc.constantFrom('@', 'everyone', 'here', '<', '>', '#', ':', '&', '`', '*', '_', '~', '|', '[', ']', '(', ')', '\\', '-', '\n', ' ', 'https://x.y', '\u202E', '\u200B', '\u200D', '\uFEFF', '👩', '💻', '\ud800', 'a'), maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
);
const name = hostileText.filter((s) => s.length > 0 && s.length <= MAX_NAME_LENGTH);

it('the envelope parser takes any JSON value: an Envelope, or Relay.Malformed / Relay.TooLarge, nothing else', () => {
  const valid = signEnvelope({ v: ENVELOPE_VERSION, id: 'fuzz-1', kid: KEY.kid, ts: 1_700_000_000, payload: '{}' }, KEY.privateKey);
  const mutated = fc.record({ field: fc.constantFrom('v', 'id', 'kid', 'ts', 'payload', 'sig', '__proto__', 'extra'), value: fc.jsonValue() }).map(({ field, value }) => ({ ...valid, [field]: value }));
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), mutated, fc.anything()), counted('parser', (input: unknown) => {
      try {
        const e = parseEnvelope(input);
        expect(Object.keys(e)).toEqual(['v', 'id', 'kid', 'ts', 'payload', 'sig']);
      } catch (error) {
        expect(error).toBeInstanceOf(RelayError);
        expect([RelayErrorCode.Malformed, RelayErrorCode.TooLarge]).toContain((error as RelayError).code);
      }
    })),
    runs(4000),
  );
});

describe('the Verify handler', () => {
  const config: VerifyConfig = { publicKeys: new Map([[KEY.kid, KEY.publicKey]]), allowedGuildIds: new Set([GUILD_ID]), freshnessSeconds: 300 };
  const NOW = 1_700_000_000_000;
  const sign = (payload: string) => signEnvelope({ v: ENVELOPE_VERSION, id: 'fuzz-2', kid: KEY.kid, ts: NOW / 1000, payload }, KEY.privateKey);
  const kinds = fc.constantFrom<'join' | 'leave' | 'move' | 'mute'>('join', 'leave', 'move', 'mute');
  const event = fc.record({ kind: kinds, user: name, display: name, guild: name, channel: name }).map(({ kind, user, display, guild, channel }) => {
    const e = voiceEvent(kind, { guild: { id: GUILD_ID, name: guild }, user: { id: '444444444444444444', name: user, display_name: display, bot: false } });
    return { ...e, after: e.after && { ...e.after, channel_name: channel } } as VoiceStateUpdateEvent;
  });
  /** Signed payloads: voice events with hostile names, arbitrary JSON, arbitrary text. */
  const payload = fc.oneof(event.map((e) => JSON.stringify(e)), fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ unit: 'binary', maxLength: 200 }));

  it('verifies any signed payload to a normalized event or a named rejection; user text comes out inert', () => {
    fc.assert(
      fc.property(payload, counted('verify', (text: string) => {
        let result;
        try {
          result = verifyEnvelope(sign(text), config, NOW).events[0];
        } catch (error) {
          expect(error).toBeInstanceOf(RelayError);
          expect(VERIFY_REJECTION_CODES).toContain((error as RelayError).code);
          return;
        }
        if (!('text' in result)) return;
        for (const field of ['user', 'user_name', 'guild', 'channel', 'from', 'to'] as const) {
          expect({ field, inert: inert(result.text[field]) }).toEqual({ field, inert: true });
          expect(result.text[field]).not.toMatch(INVISIBLE);
          expect(result.text[field].isWellFormed()).toBe(true);
        }
      })),
      runs(3000),
    );
  });
});

describe('the message renderer', () => {
  const templates = loadRelayConfigFile(DEFAULT_CONFIG_PATH).routes.flatMap((r) => (r.template === undefined ? [] : [parseTemplate(r.template)]));

  it('escapes any text: inert, visible, well-formed, at most twice as long', () => {
    fc.assert(
      fc.property(hostileText, counted('escape', (text: string) => {
        const out = escapeDiscordText(text);
        expect(inert(out)).toBe(true);
        expect(out).not.toMatch(INVISIBLE);
        expect(out.isWellFormed()).toBe(true);
        expect(out.length).toBeLessThanOrEqual(Math.max(2 * text.length, 2 * '(blank)'.length));
      })),
      runs(2000),
    );
  });

  it('renders the configured templates and coalesces any batch within Discord\'s 2000 characters, mentions disabled', () => {
    const line = fc.record({ template: fc.constantFrom(...templates), display: name, channel: name, kind: fc.constantFrom<'join' | 'leave' | 'move'>('join', 'leave', 'move') })
      .map(({ template, display, channel, kind }) => {
        const e = voiceEvent(kind, { user: { id: '444444444444444444', name: 'u', display_name: display, bot: false } });
        const fields = renderVoiceFields({ ...e, before: e.before && { ...e.before, channel_name: channel } });
        expect(renderTemplate(template, fields).length).toBeLessThanOrEqual(maxRenderedLength(template));
        return renderTemplate(template, fields);
      });
    const batch = fc.array(fc.record({ line, delivered: fc.boolean() }), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(batch, counted('render', (items: Array<{ line: string; delivered: boolean }>) => {
        const result = coalesce(items.map(({ line: l, delivered }, i) => ({
          event: { id: `e${i}`, kind: 'voice.join', channel: 'general', line: l, receivedAt: 1 },
          claim: { Item: { [DedupeAttribute.State]: { S: delivered ? ClaimState.Delivered : ClaimState.Queued } } },
        })));
        for (const m of result.messages as Array<OutgoingMessage & { body: DiscordMessageBody }>) {
          expect(m.body.content.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
          expect(m.body.allowed_mentions).toEqual({ parse: [] });
          expect(m.body.content).not.toMatch(/(^|[^\\])@(everyone|here)/);
        }
        expect(result.messages.flatMap((m) => m.ids).length + result.skipped.length).toBe(items.length);
      })),
      runs(1600),
    );
  });
});

afterAll(() => {
  const all = Object.values(total).reduce((a, b) => a + b, 0);
  // The count the closing note quotes; a shrunk failure adds runs, never removes them.
  if (!RUNS) expect(all).toBeGreaterThanOrEqual(10_000);
  process.stdout.write(`fuzz: ${all} cases (${Object.entries(total).map(([k, v]) => `${k} ${v}`).join(', ')})\n`);
});
