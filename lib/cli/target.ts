/**
 * Which relay a command talks to, and where each setting came from: the flag, the environment, or
 * `.relay/local.json` (what `relay local` wrote in this folder). Knowing the source lets a failed
 * connection say why ("the local relay that wrote .relay/local.json has stopped").
 */
import { resolve } from 'node:path';
import { readPrivateKeyFile } from '../client/keys';
import { RelayClient, RelayClientError } from '../client/relay-client';
import { LOCAL_SETTINGS_FILE, LocalSettingsError, readLocalSettings, type LocalSettings } from '../local/local-settings';
import { isProcessAlive } from '../local/state-lock';
import { checkKeyId } from './args';
import { ConfigError, UnavailableError } from './errors';

export interface LocalDefaults {
  /** The settings, when `.relay/local.json` exists here. */
  readonly settings?: Partial<LocalSettings>;
  /** Its absolute path, for messages. */
  readonly file: string;
}

export interface TargetFlags {
  readonly url?: string;
  readonly kid?: string;
  readonly 'key-file'?: string;
  readonly region?: string;
}

export interface RelayTarget {
  readonly url: string;
  /** `--url`, `RELAY_URL` or `.relay/local.json`. */
  readonly urlSource: string;
  readonly kid: string;
  readonly keyFile: string;
  /** True when the URL is the local relay's from `.relay/local.json`. */
  readonly isLocalRelay: boolean;
  readonly local: LocalDefaults;
}

export function readLocalDefaults(cwd: string = process.cwd()): LocalDefaults {
  const file = resolve(cwd, LOCAL_SETTINGS_FILE);
  try {
    return { settings: readLocalSettings(file), file };
  } catch (error) {
    if (error instanceof LocalSettingsError) throw new ConfigError(error.message);
    throw error;
  }
}

/** "no .relay/local.json in /some/dir", for messages about a missing default. */
export function noLocalSettings(local: LocalDefaults): string {
  return `no ${LOCAL_SETTINGS_FILE} in ${resolve(local.file, '..', '..')} (\`relay local\` writes it; run relay from the folder where the local relay runs)`;
}

/** A setting from its flag, else its environment variable (when not empty), else `.relay/local.json`, with where it came from. */
export function pick(flag: string | undefined, flagName: string, envName: string, fromLocal: string | undefined): { value?: string; source: string } {
  if (flag !== undefined) return { value: flag, source: `--${flagName}` };
  if (process.env[envName]) return { value: process.env[envName], source: envName };
  return { value: fromLocal, source: LOCAL_SETTINGS_FILE };
}

export function resolveTarget(flags: TargetFlags, local: LocalDefaults): RelayTarget {
  const s = local.settings;
  const url = pick(flags.url, 'url', 'RELAY_URL', s?.url);
  const kid = pick(flags.kid, 'kid', 'RELAY_KID', s?.kid);
  const keyFile = pick(flags['key-file'], 'key-file', 'RELAY_KEY_FILE', s?.privateKeyFile);
  const missing = s ? '' : `; ${noLocalSettings(local)}`;
  if (!url.value) throw new ConfigError(`no relay URL: pass --url (the IngestUrl stack output) or set RELAY_URL${missing}`);
  if (!kid.value) throw new ConfigError(`no key id: pass --kid or set RELAY_KID${missing}`);
  checkKeyId('send', kid.value, kid.source);
  if (!keyFile.value) throw new ConfigError(`no private key: pass --key-file or set RELAY_KEY_FILE (make one with \`relay keygen\`)${missing}`);
  return { url: url.value, urlSource: url.source, kid: kid.value, keyFile: keyFile.value, isLocalRelay: s?.url !== undefined && url.value === s.url, local };
}

/** A RelayClient for the target; the local relay's generated credentials are used for its own URL only. */
export function clientFor(target: RelayTarget, flags: TargetFlags, timeoutMs?: number): RelayClient {
  const s = target.local.settings;
  const region = flags.region ?? (target.isLocalRelay ? s?.region : undefined);
  const credentials = target.isLocalRelay && s?.accessKeyId && s.secretAccessKey ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } : undefined;
  try {
    return new RelayClient({ url: target.url, kid: target.kid, privateKey: readPrivateKeyFile(target.keyFile), region, credentials, timeoutMs });
  } catch (error) {
    // The client decides; the CLI names its own flags.
    if (!(error instanceof RelayClientError)) throw error;
    if (error.option === 'url') throw new ConfigError(`the relay URL "${target.url}" (from ${target.urlSource}) is unusable: ${error.message}`);
    if (error.option === 'region') throw new ConfigError(`cannot tell the region from ${new URL(target.url).host}: pass --region <region> (or set AWS_REGION)`);
    throw error;
  }
}

/** What is known of the local relay that wrote these settings. */
export function localProcessState(s: Partial<LocalSettings>): 'running' | 'stopped' | 'unknown' {
  if (s.pid !== undefined) return isProcessAlive(s.pid) ? 'running' : 'stopped';
  return s.stoppedAt !== undefined ? 'stopped' : 'unknown';
}

/** What is known of the local relay behind `.relay/local.json`, for messages. */
function localRelayState(target: RelayTarget): 'running' | 'stopped' | 'unknown' {
  const s = target.local.settings;
  if (!target.isLocalRelay || !s) return 'unknown';
  return localProcessState(s);
}

/** Fails at once, before any retry, when the target is a local relay that is not running. */
export function checkLocalRelayRunning(target: RelayTarget): void {
  if (localRelayState(target) === 'stopped') {
    throw new UnavailableError(
      `no local relay is running: ${target.url} comes from ${target.local.file}, written by a local relay that has stopped. ` +
        'Start it with `npm start` (or `npx relay local`), or pass --url for another relay',
    );
  }
}

/** The client's "gave up" message, plus where the URL came from and whether a local relay runs. */
export function explainUnavailable(error: RelayClientError, target: RelayTarget): string {
  const state = localRelayState(target);
  const relay = state === 'running' ? '; the local relay that wrote it is running, so check its port' : state === 'stopped' ? '; no local relay is running (start it with `npm start`)' : '';
  return `${error.message}. The URL ${target.url} comes from ${target.urlSource === LOCAL_SETTINGS_FILE ? target.local.file : target.urlSource}${relay}`;
}

