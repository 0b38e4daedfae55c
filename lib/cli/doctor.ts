/**
 * `relay doctor`: checks a deployed relay (`--stack`) or the local one (`.relay/local.json`) hop by
 * hop and prints one line per check; exit 0 when every check passed. The checks are in
 * lib/doctor/; this module finds the relay and the key, and prints.
 */
import { createPublicKey } from 'node:crypto';
import { hostname } from 'node:os';
import { readPrivateKeyFile, KeyFileError } from '../client/keys';
import { publicKeyToHex } from '../contracts/envelope';
import { toForwarderName } from '../contracts/events';
import { CHANNEL_NAME_PATTERN, CHANNEL_NAME_RULE } from '../contracts/routes';
import { redactSecrets } from '../contracts/redact';
import type { KeyProblem } from '../doctor/checks-access';
import { runDoctor, type DoctorKey } from '../doctor/doctor';
import type { RelayInspector } from '../doctor/inspector';
import { LocalInspector } from '../doctor/local-inspector';
import { CHECK_IDS, renderReport, type CheckId } from '../doctor/results';
import { LOCAL_REGION, LOCAL_SETTINGS_FILE } from '../local/local-settings';
import { DEFAULT_STACK_NAME } from '../config/relay-config';
import { STACK_NAME_PATTERN } from '../contracts/outputs';
import { checkKeyId, closest, noPositionals, parseCommandArgs, wholeNumber } from './args';
import { ConfigError, ExitCode, UsageError } from './errors';
import { localProcessState, pick, readLocalDefaults, type LocalDefaults } from './target';

const OPTIONS = {
  stack: { type: 'string' }, region: { type: 'string' }, post: { type: 'string' }, json: { type: 'boolean' },
  url: { type: 'string' }, kid: { type: 'string' }, 'key-file': { type: 'string' },
  skip: { type: 'string', multiple: true }, wait: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

export async function doctor(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('doctor', argv, OPTIONS);
  noPositionals('doctor', positionals);
  const skip = (values.skip ?? []).map(checkIdOf);
  const waitSeconds = wholeNumber('doctor', 'wait', values.wait, 1, 600);
  if (values.post !== undefined && !CHANNEL_NAME_PATTERN.test(values.post)) throw new UsageError(`--post takes a channel name of your config (${CHANNEL_NAME_RULE}), got "${values.post}"`, 'doctor');
  let found: Awaited<ReturnType<typeof findRelay>>;
  try {
    found = await findRelay(values, readLocalDefaults());
  } catch (error) {
    // --json promises JSON on stdout: a relay that cannot be found is a report with no checks.
    if (values.json && (error instanceof ConfigError || error instanceof UsageError)) {
      const exitCode = error instanceof UsageError ? ExitCode.Usage : ExitCode.Config;
      out(redactSecrets(JSON.stringify({ relay: null, ok: false, exitCode, checks: [], error: { name: error.name, message: error.message } }, null, 2)));
    }
    throw error;
  }
  const { inspector, key } = found;
  try {
    const report = await runDoctor({
      inspector, ...key, post: values.post, skip, postTimeoutMs: waitSeconds === undefined ? undefined : waitSeconds * 1000,
      name: toForwarderName(`doctor-${hostname()}`),
    });
    // Causes can quote what Discord or AWS said: nothing secret leaves through them.
    if (values.json) out(redactSecrets(JSON.stringify(report, null, 2)));
    else for (const line of renderReport(report)) out(redactSecrets(line));
    return report.exitCode;
  } finally {
    inspector.close();
  }
}

/** Every other check needs these two: skipping them would leave nothing checked and report it passed. */
const REQUIRED_CHECKS: readonly string[] = ['credentials', 'relay'];

function checkIdOf(name: string): CheckId {
  if (REQUIRED_CHECKS.includes(name)) throw new UsageError(`--skip ${name}: every other check needs it, so it cannot be left out; checks you can skip: ${CHECK_IDS.filter((c) => !REQUIRED_CHECKS.includes(c)).join(', ')}`, 'doctor');
  if ((CHECK_IDS as string[]).includes(name)) return name as CheckId;
  const guess = closest(name, CHECK_IDS);
  throw new UsageError(`--skip takes a check name${guess ? ` (did you mean "${guess}"?)` : ''}; checks: ${CHECK_IDS.join(', ')}`, 'doctor');
}

/**
 * The relay to check: `--stack` (or RELAY_STACK) is a deployed one; otherwise an ingest URL that is
 * not the local relay's (`--url`, RELAY_URL) is checked as far as a URL allows; otherwise the local
 * relay of `.relay/local.json`.
 */
async function findRelay(values: Values, local: LocalDefaults): Promise<{ inspector: RelayInspector; key: KeyOptions }> {
  if (values.stack !== undefined && !STACK_NAME_PATTERN.test(values.stack)) {
    throw new UsageError(`--stack takes a CloudFormation stack name (a letter, then up to 127 letters, digits and dashes), got "${values.stack.slice(0, 40)}"`, 'doctor');
  }
  if (values.region !== undefined && !REGION_PATTERN.test(values.region)) {
    throw new UsageError(`--region takes an AWS region such as eu-west-1, got "${values.region.slice(0, 40)}"`, 'doctor');
  }
  const stackName = values.stack ?? (process.env.RELAY_STACK || undefined);
  const url = values.url ?? process.env.RELAY_URL;
  const s = local.settings;
  if (stackName || (url && url !== s?.url)) {
    // Loaded on demand: the AWS SDK clients are for a deployed relay only.
    const { AwsInspector } = await import('../doctor/aws-inspector');
    return { inspector: new AwsInspector({ stackName, url, region: values.region }), key: keyOf(values, undefined, undefined) };
  }
  if (!s?.url || !s.accessKeyId || !s.secretAccessKey) {
    throw new ConfigError(
      `no relay to check: pass --stack <name> for a deployed relay (the stack name cdk deploy printed; ${DEFAULT_STACK_NAME} by default), or start the local relay here (npm start), whose ${LOCAL_SETTINGS_FILE} relay doctor then reads`,
    );
  }
  const inspector = new LocalInspector({
    url: s.url, region: s.region ?? LOCAL_REGION, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey,
    settingsFile: local.file, process: localProcessState(s), stoppedAt: s.stoppedAt, interactionsUrl: s.interactions?.url,
  });
  return { inspector, key: keyOf(values, s.kid, s.privateKeyFile) };
}

/** eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-5 …: a region the SDK would otherwise turn into "Region not accepted" after a DNS wait. */
const REGION_PATTERN = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

/** The key from --kid/--key-file, RELAY_KID/RELAY_KEY_FILE or the local relay's, its id checked as Verify checks key ids. */
function keyOf(values: Values, localKid: string | undefined, localKeyFile: string | undefined): KeyOptions {
  const kid = pick(values.kid, 'kid', 'RELAY_KID', localKid);
  if (kid.value !== undefined) checkKeyId('doctor', kid.value, kid.source);
  return loadKey(kid.value, pick(values['key-file'], 'key-file', 'RELAY_KEY_FILE', localKeyFile).value);
}

type KeyOptions = { key?: DoctorKey; keyProblem?: KeyProblem };

/** The forwarder's key, or why it cannot be used (the probe check reports it; the other checks still run). */
function loadKey(kid: string | undefined, keyFile: string | undefined): KeyOptions {
  const fix = 'pass --kid <id> --key-file <file> (or set RELAY_KID and RELAY_KEY_FILE): the forwarder\'s own';
  if (!kid || !keyFile) return { keyProblem: { detail: `no ${!kid ? 'key id' : 'key file'} was given`, fix } };
  try {
    const privateKey = readPrivateKeyFile(keyFile);
    return { key: { kid, keyFile, privateKey, publicKeyHex: publicKeyToHex(createPublicKey(privateKey)) } };
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    return { keyProblem: { detail: error.problem, fix: error.fix ?? 'point --key-file at the private key relay keygen wrote (PKCS#8 PEM, mode 0600)', unusable: true } };
  }
}
