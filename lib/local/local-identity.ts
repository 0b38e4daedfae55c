/**
 * The local relay's keys and credentials: the signing key and the caller's credentials are made on
 * first start and reused on every later start (so `.relay/local.json` and old clients keep
 * working); the state machine role's credentials are new every start.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyFile, readPrivateKeyFile } from '../client/keys';
import { publicKeyToHex } from '../contracts/envelope';
import { LOCAL_APP_KEY_FILE, LOCAL_KID, generateLocalCredentials, readLocalSettings } from './local-settings';
import type { LocalCredential } from './sigv4-verifier';

export interface LocalIdentity {
  readonly kid: string;
  readonly privateKeyFile: string;
  readonly publicKeyHex: string;
  /** What `relay send` signs with (written to local.json). */
  readonly caller: LocalCredential;
  /** The state machine's own role, for the webhook proxy. */
  readonly role: LocalCredential;
}

export function loadLocalIdentity(stateDir: string, settingsFile: string): LocalIdentity {
  const previous = readLocalSettings(settingsFile) ?? {};
  const kid = previous.kid ?? LOCAL_KID;
  const privateKeyFile = previous.privateKeyFile ?? join(stateDir, 'keys', `${kid}.pem`);
  const publicKeyHex = existsSync(privateKeyFile) ? publicKeyToHex(readPrivateKeyFile(privateKeyFile)) : generateKeyFile(kid, privateKeyFile).publicKeyHex;
  const caller = previous.accessKeyId && previous.secretAccessKey
    ? { accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey }
    : generateLocalCredentials('AKIA');
  return { kid, privateKeyFile, publicKeyHex, caller, role: { ...generateLocalCredentials('ASIA'), sessionToken: randomUUID() } };
}

/** The local application key (the private half plays Discord), made on first use and kept. */
export function loadLocalAppKey(stateDir: string): { privateKeyFile: string; publicKeyHex: string } {
  const privateKeyFile = join(stateDir, LOCAL_APP_KEY_FILE);
  const publicKeyHex = existsSync(privateKeyFile) ? publicKeyToHex(readPrivateKeyFile(privateKeyFile)) : generateKeyFile('discord-app', privateKeyFile).publicKeyHex;
  return { privateKeyFile, publicKeyHex };
}
