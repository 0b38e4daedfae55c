/** `relay keygen`: a new Ed25519 signing key on disk (0600) and the config line for its public half. */
import { join } from 'node:path';
import { generateKeyFile } from '../client/keys';
import { STATE_DIR } from '../local/local-settings';
import { noPositionals, parseCommandArgs } from './args';
import { ExitCode, UsageError } from './errors';

export function keygen(argv: string[], out: (line: string) => void): number {
  const { values, positionals } = parseCommandArgs('keygen', argv, { kid: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  noPositionals('keygen', positionals);
  if (!values.kid) throw new UsageError('keygen needs --kid <name>, e.g. --kid forwarder-2026-11', 'keygen');
  const key = generateKeyFile(values.kid, values.out ?? join(STATE_DIR, 'keys', `${values.kid}.pem`));
  out(`private key: ${key.privateKeyFile} (mode 0600; keep it secret, never commit it)`);
  out(`public key:  ${key.publicKeyHex}`);
  out('add to forwarderKeys in your relay config, then deploy:');
  out(`  ${key.configLine}`);
  return ExitCode.Ok;
}
