import { createPrivateKey, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import {
  MAX_PAYLOAD_BYTES,
  parseEnvelope,
  publicKeyFromHex,
  publicKeyToHex,
  signingString,
  verifyEnvelopeSignature,
} from '../../lib/contracts/envelope';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { KEY, newKey, signed } from '../support/fixtures';
import { verify } from 'node:crypto';

// RFC 8032 §7.1, Ed25519 test vectors TEST 1, 2, 3 and SHA(abc): secret seed, public key, message, signature.
const RFC8032_VECTORS = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ['833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42', 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'],
] as const;

// PKCS#8 DER header of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

describe('Ed25519 with node:crypto against RFC 8032 §7.1', () => {
  it.each(RFC8032_VECTORS)('vector with public key %#: derives the key, signs and verifies as published', (seed, pub, msg, sig) => {
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(seed, 'hex')]), format: 'der', type: 'pkcs8' });
    const publicKey = publicKeyFromHex(pub);
    expect(publicKeyToHex(publicKey)).toBe(pub);
    expect(publicKeyToHex(createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })))).toBe(pub);
    expect(verify(null, Buffer.from(msg, 'hex'), publicKey, Buffer.from(sig, 'hex'))).toBe(true);
    const flipped = Buffer.from(sig, 'hex');
    flipped[5] ^= 1;
    expect(verify(null, Buffer.from(msg, 'hex'), publicKey, flipped)).toBe(false);
  });
});

describe('envelope signatures agree with tweetnacl (an independent implementation)', () => {
  it('verifies what tweetnacl signs, and tweetnacl verifies what we sign, over random envelopes (tweetnacl is slow: a few suffice)', () => {
    for (let i = 0; i < 8; i++) {
      const seed = randomBytes(32);
      const pair = nacl.sign.keyPair.fromSeed(seed);
      const publicKeyHex = Buffer.from(pair.publicKey).toString('hex');
      const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
      const key = { kid: 'k', privateKey, publicKey: publicKeyFromHex(publicKeyHex), publicKeyHex };
      const envelope = signed(randomBytes(1 + (i * 7) % 300).toString('base64'), { key });
      const message = Buffer.from(signingString(envelope), 'utf8');
      expect(nacl.sign.detached.verify(message, Buffer.from(envelope.sig, 'hex'), pair.publicKey)).toBe(true);
      const naclSig = Buffer.from(nacl.sign.detached(message, pair.secretKey)).toString('hex');
      expect(naclSig).toBe(envelope.sig); // Ed25519 is deterministic
      const tampered = { ...envelope, payload: `${envelope.payload} ` };
      expect(verifyEnvelopeSignature(tampered, key.publicKey)).toBe(false);
      expect(nacl.sign.detached.verify(Buffer.from(signingString(tampered)), Buffer.from(envelope.sig, 'hex'), pair.publicKey)).toBe(false);
    }
  });
});

describe('signingString', () => {
  it('is v.id.kid.ts.payload with the payload byte for byte', () => {
    expect(signingString({ v: 1, id: 'a:b', kid: 'k1', ts: 1763700000, payload: '{"x": "é"}' })).toBe('1.a:b.k1.1763700000.{"x": "é"}');
  });

  it('a signature does not survive a change to any signed field', () => {
    const envelope = signed({ type: 'X' });
    expect(verifyEnvelopeSignature(envelope, KEY.publicKey)).toBe(true);
    for (const change of [{ id: `${envelope.id}x` }, { kid: 'other' }, { ts: envelope.ts + 1 }, { payload: `${envelope.payload} ` }]) {
      expect(verifyEnvelopeSignature({ ...envelope, ...change }, KEY.publicKey)).toBe(false);
    }
    expect(verifyEnvelopeSignature(envelope, newKey().publicKey)).toBe(false);
  });
});

describe('parseEnvelope', () => {
  const good = signed({ type: 'X' });

  it('accepts a well-formed envelope and returns only its six fields', () => {
    expect(parseEnvelope({ ...good, extra: 1 })).toEqual(good);
  });

  it.each([
    [null, 'the envelope must be a JSON object'],
    [[], 'the envelope must be a JSON object'],
    ['{"v":1}', 'the envelope must be a JSON object'],
    [{ ...good, v: 3 }, 'v: must be 1 (one event) or 2 (a batch)'],
    [{ ...good, id: '' }, 'id:'],
    [{ ...good, id: 'has space' }, 'id:'],
    [{ ...good, id: 'x'.repeat(129) }, 'id:'],
    [{ ...good, kid: 'a/b' }, 'kid:'],
    [{ ...good, ts: 1.5 }, 'ts:'],
    [{ ...good, ts: '1763700000' }, 'ts:'],
    [{ ...good, payload: { type: 'X' } }, 'payload: must be the event as a JSON string'],
    [{ ...good, sig: good.sig.slice(2) }, 'sig:'],
    [{ ...good, sig: `${good.sig.slice(2)}zz` }, 'sig:'],
  ])('rejects %j as Relay.Malformed naming the field', (input, message) => {
    expect(() => parseEnvelope(input)).toThrow(expect.objectContaining({ name: RelayErrorCode.Malformed, message: expect.stringContaining(message) }));
  });

  it('rejects a payload over the byte limit as Relay.TooLarge, counting UTF-8 bytes', () => {
    const atLimit = '€'.repeat(Math.floor(MAX_PAYLOAD_BYTES / 3));
    expect(() => parseEnvelope({ ...good, payload: atLimit })).not.toThrow();
    expect(() => parseEnvelope({ ...good, payload: `${atLimit}€€` })).toThrow(expect.objectContaining({ name: RelayErrorCode.TooLarge }));
  });
});
