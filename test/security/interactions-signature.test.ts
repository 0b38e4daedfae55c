/**
 * Discord's request signature on the interactions endpoint, proven like the ingest's envelope:
 * fast-check properties over `isSignedByDiscord` and over the whole handler (no network, an
 * in-memory store). Any change of one byte of the signature, the timestamp or the body is a bare
 * 401 and the store is never called; a timestamp more than 300 s off is refused; a signature by
 * another key is refused. Signed with node:crypto and with tweetnacl, an independent Ed25519.
 * FUZZ_RUNS sets the cases per property.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { publicKeyFromHex } from '../../lib/contracts/envelope';
import { INTERACTION_MAX_SKEW_SECONDS, InteractionHeader, RELAY_SUBCOMMANDS } from '../../lib/contracts/interactions';
import type { InteractionRequest } from '../../lib/interactions/handler';
import { isSignedByDiscord } from '../../lib/interactions/signature';
import { commandInteraction, pingInteraction } from '../../lib/interactions/simulate';
import { discordSignature, signedRequest, testHandler } from '../support/interactions';

const RUNS = Number(process.env.FUZZ_RUNS ?? 0) || undefined;
const runs = (n: number) => ({ numRuns: RUNS ?? n, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) });

const NOW = 1_700_000_000_000;
const TS = String(NOW / 1000);
const GUILD = '123456789012345678';
const APP = '1111111111111111111';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const REFUSED = { statusCode: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'invalid request signature' }) };

const handlerAt = (nowMs: number = NOW) => testHandler({ publicKey, allowedGuildIds: [GUILD], now: () => nowMs });

/** Bodies as they come: commands Discord would send (each would write the store if accepted), pings, any JSON, any text. */
const command = fc.record({ subcommand: fc.constantFrom(...RELAY_SUBCOMMANDS), minutes: fc.integer({ min: 1, max: 1440 }), name: fc.string({ unit: 'grapheme', maxLength: 20 }) })
  .map(({ subcommand, minutes, name }) => {
    const interaction = commandInteraction({ subcommand, guildId: GUILD, applicationId: APP, manage: true, minutes: subcommand === 'pause' ? minutes : undefined });
    // A display name in any script: multi-byte UTF-8 in the body, so a changed byte may or may not leave it valid UTF-8.
    (interaction.member as { user: Record<string, unknown> }).user.global_name = name;
    return JSON.stringify(interaction);
  });
const body = fc.oneof(
  command,
  fc.constant(null).map(() => JSON.stringify(pingInteraction(APP))),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 300 }),
).map((text) => Buffer.from(text, 'utf8'));

/** One character of `text` with its code XORed by `mask`. */
const flipChar = (text: string, index: number, mask: number) => text.slice(0, index) + String.fromCharCode(text.charCodeAt(index) ^ mask) + text.slice(index + 1);
const isHexDigit = (c: string) => /^[0-9a-fA-F]$/.test(c);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const validUtf8 = (b: Buffer) => {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('isSignedByDiscord', () => {
  it('accepts the signature as made, and refuses any one byte of the signature changed', () => {
    fc.assert(
      fc.property(body, fc.nat(63), fc.integer({ min: 1, max: 255 }), (b, index, mask) => {
        const signature = discordSignature(TS, b, privateKey);
        expect(isSignedByDiscord(signature, TS, b, publicKey, NOW)).toBe(true);
        const bytes = Buffer.from(signature, 'hex');
        bytes[index] ^= mask;
        expect(isSignedByDiscord(bytes.toString('hex'), TS, b, publicKey, NOW)).toBe(false);
      }),
      runs(300),
    );
  });

  it('refuses any one character of the signature\'s hex changed, unless only its case changed (the same byte)', () => {
    let caseOnly = 0;
    fc.assert(
      fc.property(body, fc.nat(127), fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constant(0x20)), (b, index, mask) => {
        const signature = discordSignature(TS, b, privateKey);
        const flipped = flipChar(signature, index, mask);
        // Buffer.from(hex) reads 'A' as 'a': a case change decodes to the very same signature bytes.
        const same = isHexDigit(flipped[index]) && flipped[index].toLowerCase() === signature[index];
        if (same) caseOnly++;
        expect(isSignedByDiscord(flipped, TS, b, publicKey, NOW)).toBe(same);
      }),
      runs(300),
    );
    expect(caseOnly).toBeGreaterThan(0);
  });

  it('refuses any one byte of the timestamp or of the body changed', () => {
    fc.assert(
      fc.property(body, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (b, at, mask, inTimestamp) => {
        const signature = discordSignature(TS, b, privateKey);
        if (inTimestamp || b.length === 0) {
          expect(isSignedByDiscord(signature, flipChar(TS, at % TS.length, mask), b, publicKey, NOW)).toBe(false);
        } else {
          const changed = Buffer.from(b);
          changed[at % b.length] ^= mask;
          expect(isSignedByDiscord(signature, TS, changed, publicKey, NOW)).toBe(false);
        }
      }),
      runs(300),
    );
  });

  it(`accepts a timestamp within ${INTERACTION_MAX_SKEW_SECONDS} s of the clock, either way, and refuses one further off`, () => {
    const seen = { accepted: 0, refused: 0 };
    const offset = fc.oneof(fc.integer({ min: -INTERACTION_MAX_SKEW_SECONDS - 5, max: INTERACTION_MAX_SKEW_SECONDS + 5 }), fc.integer({ min: -1e8, max: 1e8 }));
    fc.assert(
      fc.property(body, offset, fc.integer({ min: 0, max: 999 }), (b, seconds, ms) => {
        const now = NOW + ms;
        const timestamp = String(Math.floor(now / 1000) + seconds);
        const fresh = Math.abs(Number(timestamp) - now / 1000) <= INTERACTION_MAX_SKEW_SECONDS;
        seen[fresh ? 'accepted' : 'refused']++;
        expect(isSignedByDiscord(discordSignature(timestamp, b, privateKey), timestamp, b, publicKey, now)).toBe(fresh);
      }),
      runs(300),
    );
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it.each([
    ['300 s in the past is accepted', -300, true],
    ['301 s in the past is refused', -301, false],
    ['300 s ahead is accepted', 300, true],
    ['301 s ahead is refused', 301, false],
  ] as const)('at the edge: a timestamp %s', (_, seconds, fresh) => {
    const timestamp = String(NOW / 1000 + seconds);
    const b = Buffer.from('{"type":1}');
    expect(isSignedByDiscord(discordSignature(timestamp, b, privateKey), timestamp, b, publicKey, NOW)).toBe(fresh);
  });

  it('refuses a signature by any other key', () => {
    fc.assert(
      fc.property(body, (b) => {
        const other = generateKeyPairSync('ed25519').privateKey;
        expect(isSignedByDiscord(discordSignature(TS, b, other), TS, b, publicKey, NOW)).toBe(false);
      }),
      runs(200),
    );
  });

  const b = Buffer.from('{"type":1}');
  const good = discordSignature(TS, b, privateKey);
  /** Each timestamp is signed as written, so only the format check can refuse it. */
  const signedAt = (timestamp: string): [string, string] => [discordSignature(timestamp, b, privateKey), timestamp];
  const cases: Array<[string, string | undefined, string | undefined, boolean]> = [
    ['lower-case hex, as Discord sends it', good, TS, true],
    // Accepted on purpose: hex is case-insensitive, these are the same 64 bytes and they are verified.
    ['upper-case hex (the same bytes)', good.toUpperCase(), TS, true],
    ['mixed-case hex (the same bytes)', good.replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c)), TS, true],
    ['upper-case hex of another key\'s signature', discordSignature(TS, b, generateKeyPairSync('ed25519').privateKey).toUpperCase(), TS, false],
    ['upper-case hex of a signature of another body', discordSignature(TS, Buffer.from('{"type":2}'), privateKey).toUpperCase(), TS, false],
    ['no signature header', undefined, TS, false],
    ['no timestamp header', good, undefined, false],
    ['neither header', undefined, undefined, false],
    ['an empty signature', '', TS, false],
    ['an empty timestamp', good, '', false],
    ['a signature of 127 hex characters', good.slice(0, 127), TS, false],
    ['a signature of 129 hex characters', `${good}0`, TS, false],
    ['a signature followed by a newline', `${good}\n`, TS, false],
    ['a signature with a 0x prefix', `0x${good.slice(2)}`, TS, false],
    ['a signature in base64', Buffer.from(good, 'hex').toString('base64'), TS, false],
    ['a signature of zeros', '0'.repeat(128), TS, false],
    ['a signature in hex with a non-hex character', `${good.slice(0, 127)}g`, TS, false],
    ['a non-numeric timestamp (signed)', ...signedAt('yesterday'), false],
    ['a negative timestamp (signed)', ...signedAt(`-${TS}`), false],
    ['a float timestamp (signed)', ...signedAt(`${TS}.0`), false],
    ['a timestamp in exponent form (signed, the right time)', ...signedAt('1.7e9'), false],
    ['a timestamp in milliseconds (signed)', ...signedAt(String(NOW)), false],
    ['a timestamp with a leading space (signed)', ...signedAt(` ${TS}`), false],
    ['a timestamp with a trailing newline (signed)', ...signedAt(`${TS}\n`), false],
    ['a timestamp with a plus sign (signed)', ...signedAt(`+${TS}`), false],
    ['a timestamp of 0 (signed)', ...signedAt('0'), false],
  ];
  it.each(cases.map(([name, ...rest]) => [`${name}: ${rest[2] ? 'accepted' : 'refused'}`, ...rest] as const))('%s', (_, signature, timestamp, accepted) => {
    expect(isSignedByDiscord(signature, timestamp, b, publicKey, NOW)).toBe(accepted);
  });
});

describe('the handler', () => {
  /** A body changed in one byte: `ascii` flips keep it ASCII (valid UTF-8), `high` flips set bit 7 of an ASCII byte (never valid UTF-8 after one). */
  const flip = fc.record({ at: fc.nat(), kind: fc.constantFrom('ascii', 'high', 'any'), mask: fc.integer({ min: 1, max: 127 }) });
  const change = (b: Buffer, f: { at: number; kind: string; mask: number }): Buffer => {
    const out = Buffer.from(b);
    const i = f.at % out.length;
    out[i] ^= f.kind === 'high' ? 0x80 : f.kind === 'ascii' ? f.mask : f.mask | 0x80 * (f.at & 1);
    return out;
  };

  it('answers 401 {"message":"invalid request signature"} to any one byte of the body changed, valid UTF-8 or not, and never calls the store', async () => {
    const seen = { valid: 0, broken: 0 };
    await fc.assert(
      fc.asyncProperty(command, flip, fc.boolean(), async (text, f, base64) => {
        const original = Buffer.from(text, 'utf8');
        const changed = change(original, f);
        seen[validUtf8(changed) ? 'valid' : 'broken']++;
        const { handle, touched } = handlerAt();
        const request = signedRequest(original, privateKey, NOW, { base64 });
        // As API Gateway would pass the changed bytes: exactly (base64), or decoded as text (broken sequences become U+FFFD).
        const forged: InteractionRequest = { ...request, body: base64 ? changed.toString('base64') : changed.toString('utf8') };
        expect(await handle(forged)).toEqual(REFUSED);
        expect(touched()).toEqual([]);
        // The same request unchanged is answered, and writes: the 401 above was the change's doing.
        expect((await handle(request)).statusCode).toBe(200);
        expect(touched().length).toBeGreaterThan(0);
      }),
      runs(200),
    );
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.broken).toBeGreaterThan(0);
  });

  it('answers 401 to any one byte of the signature or the timestamp header changed (a case change of the hex aside), and never calls the store', async () => {
    await fc.assert(
      fc.asyncProperty(command, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom(InteractionHeader.Signature, InteractionHeader.Timestamp), async (text, at, mask, header) => {
        const request = signedRequest(text, privateKey, NOW);
        const value = request.headers![header]!;
        const i = at % value.length;
        const flipped = flipChar(value, i, mask);
        fc.pre(!(header === InteractionHeader.Signature && isHexDigit(flipped[i]) && flipped[i].toLowerCase() === value[i]));
        const { handle, touched } = handlerAt();
        expect(await handle({ ...request, headers: { ...request.headers, [header]: flipped } })).toEqual(REFUSED);
        expect(touched()).toEqual([]);
      }),
      runs(300),
    );
  });

  it(`accepts a PING signed within ${INTERACTION_MAX_SKEW_SECONDS} s of the clock with exactly {"type":1}, and refuses one further off`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -2 * INTERACTION_MAX_SKEW_SECONDS, max: 2 * INTERACTION_MAX_SKEW_SECONDS }), fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== 'type'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        async (seconds, extra) => {
          const { handle, touched } = handlerAt();
          const ping = JSON.stringify({ ...extra, ...pingInteraction(APP) });
          const answer = await handle(signedRequest(ping, privateKey, NOW + seconds * 1000));
          if (Math.abs(seconds) <= INTERACTION_MAX_SKEW_SECONDS) expect(answer).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"type":1}' });
          else expect(answer).toEqual(REFUSED);
          expect(touched()).toEqual([]);
        }),
      runs(300),
    );
  });

  it('answers 401 to a command signed by another key, and never calls the store', async () => {
    await fc.assert(
      fc.asyncProperty(command, async (text) => {
        const { handle, touched } = handlerAt();
        expect(await handle(signedRequest(text, generateKeyPairSync('ed25519').privateKey, NOW))).toEqual(REFUSED);
        expect(touched()).toEqual([]);
      }),
      runs(200),
    );
  });

  const ping = JSON.stringify(pingInteraction(APP));
  const signed = signedRequest(ping, privateKey, NOW);
  const without = (name: string): InteractionRequest => ({ ...signed, headers: Object.fromEntries(Object.entries(signed.headers!).filter(([k]) => k !== name)) });
  const withHeader = (name: string, value: string): InteractionRequest => ({ ...signed, headers: { ...signed.headers, [name]: value } });
  const sig = signed.headers![InteractionHeader.Signature]!;
  const at = (timestamp: string) => signedRequest(ping, privateKey, NOW, { timestamp });
  const requests: Array<[string, InteractionRequest, number]> = [
    ['signed as Discord signs', signed, 200],
    ['the signature in upper-case hex (the same bytes, still verified)', withHeader(InteractionHeader.Signature, sig.toUpperCase()), 200],
    ['no signature header', without(InteractionHeader.Signature), 401],
    ['no timestamp header', without(InteractionHeader.Timestamp), 401],
    ['no headers at all', { body: ping }, 401],
    ['empty headers', { headers: {}, body: ping }, 401],
    ['an empty signature header', withHeader(InteractionHeader.Signature, ''), 401],
    ['an empty timestamp header', withHeader(InteractionHeader.Timestamp, ''), 401],
    ['a signature of 127 characters', withHeader(InteractionHeader.Signature, sig.slice(0, 127)), 401],
    ['a signature of 129 characters', withHeader(InteractionHeader.Signature, `${sig}0`), 401],
    ['the signature sent twice (API Gateway joins repeated headers with a comma)', withHeader(InteractionHeader.Signature, `${sig},${sig}`), 401],
    ['the headers in mixed case (API Gateway lower-cases them; nothing else is read)', { body: ping, headers: { 'X-Signature-Ed25519': sig, 'X-Signature-Timestamp': TS, 'content-type': 'application/json' } }, 401],
    ['a non-numeric timestamp, signed', at('now'), 401],
    ['a negative timestamp, signed', at(`-${TS}`), 401],
    ['a float timestamp, signed', at(`${TS}.5`), 401],
    ['a timestamp in exponent form, signed', at('1.7e9'), 401],
  ];
  it.each(requests.map(([name, ...rest]) => [`${name} → ${rest[1]}`, ...rest] as const))('%s', async (_, request, status) => {
    const { handle, touched } = handlerAt();
    const answer = await handle(request);
    expect(answer).toEqual(status === 200 ? { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"type":1}' } : REFUSED);
    expect(touched()).toEqual([]);
  });
});

describe('agrees with tweetnacl, an independent Ed25519 implementation', () => {
  // PKCS#8 DER header of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
  const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
  const pairs = Array.from({ length: 4 }, () => {
    const seed = randomBytes(32);
    const pair = nacl.sign.keyPair.fromSeed(seed);
    const nodeKey: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    return { pair, nodeKey, publicKey: publicKeyFromHex(Buffer.from(pair.publicKey).toString('hex')) };
  });

  it('accepts what tweetnacl signs over timestamp + body, refuses it with one bit of the body changed; tweetnacl accepts what node signs', () => {
    // tweetnacl is slow (about 50 ms a signature): a few bodies show the two implementations agree.
    fc.assert(
      fc.property(fc.constantFrom(...pairs), body, fc.nat(), ({ pair, nodeKey, publicKey: key }, b, at) => {
        const message = Buffer.concat([Buffer.from(TS, 'utf8'), b]);
        const theirs = Buffer.from(nacl.sign.detached(message, pair.secretKey)).toString('hex');
        expect(isSignedByDiscord(theirs, TS, b, key, NOW)).toBe(true);
        expect(theirs).toBe(discordSignature(TS, b, nodeKey)); // Ed25519 signatures are deterministic
        expect(nacl.sign.detached.verify(message, Buffer.from(discordSignature(TS, b, nodeKey), 'hex'), pair.publicKey)).toBe(true);
        const changed = Buffer.concat([b, Buffer.from(' ')]);
        changed[at % changed.length] ^= 1;
        expect(isSignedByDiscord(theirs, TS, changed, key, NOW)).toBe(false);
        expect(nacl.sign.detached.verify(Buffer.concat([Buffer.from(TS, 'utf8'), changed]), Buffer.from(theirs, 'hex'), pair.publicKey)).toBe(false);
      }),
      runs(4),
    );
  });

  it('the handler answers a PING tweetnacl signed, and refuses it signed by another tweetnacl key', async () => {
    const [{ pair, publicKey: key }, { pair: other }] = pairs;
    const { handle } = testHandler({ publicKey: key, allowedGuildIds: [GUILD], now: () => NOW });
    const ping = Buffer.from(JSON.stringify(pingInteraction(APP)));
    const request = (secretKey: Uint8Array): InteractionRequest => ({
      headers: { 'content-type': 'application/json', [InteractionHeader.Timestamp]: TS, [InteractionHeader.Signature]: Buffer.from(nacl.sign.detached(Buffer.concat([Buffer.from(TS), ping]), secretKey)).toString('hex') },
      body: ping.toString('utf8'),
    });
    expect(await handle(request(pair.secretKey))).toMatchObject({ statusCode: 200, body: '{"type":1}' });
    expect(await handle(request(other.secretKey))).toEqual(REFUSED);
  });
});
