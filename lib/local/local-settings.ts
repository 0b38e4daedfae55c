/**
 * `.relay/local.json`: what the local relay writes on start and `relay send` reads for defaults.
 * It holds the local relay's own generated credentials (useless anywhere else); mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const STATE_DIR = '.relay';
export const LOCAL_SETTINGS_FILE = join(STATE_DIR, 'local.json');
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_KID = 'local';
/** The local ingest API's (and sink's) port. */
export const DEFAULT_LOCAL_PORT = 8787;
/** How long a stopping local relay waits for in-flight executions. */
export const STOP_GRACE_MS = 5000;

export interface LocalSettings {
  /** Base URL of the local ingest API. */
  readonly url: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly kid: string;
  readonly privateKeyFile: string;
  /** A guild the local config allows; `relay send` builders use it by default. */
  readonly guildId: string;
  /**
   * With `discordApp` in the config: the local interactions endpoint and the local application
   * key pair (its private half plays Discord: `relay interact` signs with it).
   */
  readonly interactions?: LocalInteractions;
  /** The running local relay's process id; removed when it stops. */
  readonly pid?: number;
  /** When the local relay stopped (ISO time); set when it stops, removed when it starts. */
  readonly stoppedAt?: string;
}

export interface LocalInteractions {
  /** `POST` signed interactions here (the ingest port). */
  readonly url: string;
  readonly applicationId: string;
  /** Hex of the local application key's public half (replaces the config's publicKey locally). */
  readonly publicKey: string;
  readonly privateKeyFile: string;
}

/** The local application key (stands in for the Discord application's). */
export const LOCAL_APP_KEY_FILE = 'keys/discord-app.pem';

export class LocalSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalSettingsError';
  }
}

/** Reads the settings file, or returns undefined when there is none (one that cannot be read is an error naming why). */
export function readLocalSettings(file: string = LOCAL_SETTINGS_FILE): Partial<LocalSettings> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied: it belongs to the user who ran the local relay; run as that user' : code ?? (error as Error).message;
    throw new LocalSettingsError(`cannot read ${file} (${why})`);
  }
  try {
    return JSON.parse(text) as Partial<LocalSettings>;
  } catch (error) {
    throw new LocalSettingsError(`${file} is not valid JSON (${(error as Error).message}); delete it and restart the local relay`);
  }
}

export function writeLocalSettings(settings: LocalSettings, file: string = LOCAL_SETTINGS_FILE): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created: an older, looser file is tightened too.
  chmodSync(file, 0o600);
}

/** Credentials shaped like IAM's (20-character key id, 40-character secret), for the local relay only. */
export function generateLocalCredentials(prefix = 'AKIA'): { accessKeyId: string; secretAccessKey: string } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16 - prefix.length + 4)].map((b) => alphabet[b % 32]).join('').slice(0, 20 - prefix.length);
  return { accessKeyId: `${prefix}${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}
