import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RelayConfigError, type ResolvedRelayConfig } from './relay-config';
import { validateRelayConfig } from './validate';

export const DEFAULT_CONFIG_PATH = 'config/relay.config.ts';

/**
 * Loads and validates a config file: `.json`, or a `.ts`/`.js` module whose default export is the
 * config (TypeScript is loaded through tsx, which runs the CDK app).
 */
export function loadRelayConfigFile(path: string = DEFAULT_CONFIG_PATH): ResolvedRelayConfig {
  const absolute = resolve(path);
  if (!existsSync(absolute)) {
    throw new RelayConfigError([{ path: '(file)', problem: `${path} does not exist`, fix: `create it (copy ${DEFAULT_CONFIG_PATH}) or pass -c config=<file>` }], path);
  }
  let value: unknown;
  try {
    if (absolute.endsWith('.json')) {
      value = JSON.parse(readFileSync(absolute, 'utf8'));
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(absolute) as { default?: unknown };
      value = mod.default ?? mod;
    }
  } catch (error) {
    throw new RelayConfigError([{ path: '(file)', problem: `cannot be read: ${(error as Error).message.split('\n')[0]}`, fix: 'fix the syntax error in the file' }], path);
  }
  return validateRelayConfig(value, path);
}
