import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RelayConfigError, type ResolvedRelayConfig } from './relay-config';
import { validateRelayConfig } from './validate';

export const DEFAULT_CONFIG_PATH = 'config/relay.config.ts';

/**
 * A `.ts` config needs a TypeScript loader. Under tsx (the CDK app, npm start) and jest one is
 * active; from the built CLI (`dist/`, plain Node) tsx's require hook is registered here, once.
 */
function requireModule(absolute: string): unknown {
  const plainNode = '.js' in require.extensions && !('.ts' in require.extensions);
  if (/\.[cm]?ts$/.test(absolute) && plainNode) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('tsx/cjs/api') as { register: () => void }).register();
  }
  return require(absolute);
}

/**
 * Loads and validates a config file: `.json`, or a `.ts`/`.js` module whose default export is the
 * config.
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
      const mod = requireModule(absolute) as { default?: unknown };
      value = mod.default ?? mod;
    }
  } catch (error) {
    throw new RelayConfigError([{ path: '(file)', problem: `cannot be read: ${(error as Error).message.split('\n')[0]}`, fix: 'fix the syntax error in the file' }], path);
  }
  return validateRelayConfig(value, path);
}
