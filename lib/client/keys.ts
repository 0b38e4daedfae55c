/**
 * Ed25519 signing keys on disk: PKCS#8 PEM (what node:crypto exports), mode 0600, refused when
 * group- or world-readable, as ssh does.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KEY_ID_PATTERN, publicKeyToHex } from '../contracts/envelope';

export class KeyFileError extends Error {
  /** What is wrong, without the fix. */
  readonly problem: string;

  /** `fix`, when there is a command that mends it, is appended as "; run: <fix>". */
  constructor(problem: string, readonly fix?: string) {
    super(fix ? `${problem}; run: ${fix}` : problem);
    this.name = 'KeyFileError';
    this.problem = problem;
  }
}

export interface GeneratedKey {
  readonly kid: string;
  readonly privateKeyFile: string;
  readonly publicKeyHex: string;
  /** The line to paste into `forwarderKeys` of the relay config. */
  readonly configLine: string;
}

/** Creates a new key pair and writes the private key to `file` (0600); never overwrites. */
export function generateKeyFile(kid: string, file: string): GeneratedKey {
  if (!KEY_ID_PATTERN.test(kid)) throw new KeyFileError(`key id "${kid}" must be 1-64 characters of [A-Za-z0-9._-]`);
  if (existsSync(file)) throw new KeyFileError(`${file} already exists; choose another --out, or remove it if you mean to replace the key`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx' + mode: created with 0600 from the start, never briefly readable by others.
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
  const publicKeyHex = publicKeyToHex(publicKey);
  return { kid, privateKeyFile: file, publicKeyHex, configLine: `'${kid}': '${publicKeyHex}',` };
}

/** Parses a PKCS#8 PEM Ed25519 private key. */
export function parsePrivateKey(pem: string | Buffer, source = 'the private key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new KeyFileError(`${source} is not a PEM private key (a PKCS#8 "BEGIN PRIVATE KEY" block, as \`relay keygen\` writes)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFileError(`${source} is a ${key.asymmetricKeyType} key; the relay needs an Ed25519 key (\`relay keygen\`)`);
  }
  return key;
}

/** Reads a secret file (key, token), refusing one that others can read, as ssh does. */
export function readSecretFile(file: string, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new KeyFileError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new KeyFileError(`${what} ${file} is a directory; name the file inside it`);
    const mode = stat.mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new KeyFileError(`${what} ${file} is readable by others (mode ${mode.toString(8).padStart(4, '0')})`, `chmod 600 ${file}`);
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a private key file, refusing one that others can read. */
export function readPrivateKeyFile(file: string): KeyObject {
  return parsePrivateKey(readSecretFile(file, 'key file'), `key file ${file}`);
}
