/** Runs every section's checker; the one entry point for validating a config. */
import { CHECKS, isRecord, type ProblemSink } from './checks';
import type { EventRoute } from '../contracts/routes';
import { DEFAULT_STACK_NAME, RelayConfigError, type ConfigProblem, type RelayConfig, type ResolvedRelayConfig, type RouteConfig } from './relay-config';

/**
 * Checks an untrusted config value and returns it with the config's own defaults filled in, or
 * throws a {@link RelayConfigError} listing every problem.
 */
export function validateRelayConfig(input: unknown, source?: string): ResolvedRelayConfig {
  if (!isRecord(input)) {
    throw new RelayConfigError([{ path: '(root)', problem: 'the config must be an object', fix: 'export an object of type RelayConfig' }], source);
  }
  const problems: ConfigProblem[] = [];
  const add: ProblemSink = (path, problem, fix) => void problems.push({ path, problem, fix });
  for (const check of CHECKS) check(input, add);
  if (problems.length > 0) throw new RelayConfigError(problems, source);

  const config = input as unknown as RelayConfig;
  return {
    ...config,
    stackName: config.stackName ?? DEFAULT_STACK_NAME,
    channels: Object.fromEntries(Object.entries(config.channels).map(([name, ch]) => [name, { secretName: ch.secretName, kind: ch.kind ?? 'discord' }])),
    routes: perChannel(config.routes),
    callers: config.callers ?? [],
    operators: config.operators ?? [],
  };
}

/** A route naming several channels becomes one route per channel, in order (what the constructs take). */
export function perChannel(routes: readonly RouteConfig[]): EventRoute[] {
  return routes.flatMap((r) => (typeof r.channel === 'string' ? [r.channel] : r.channel).map((channel) => ({ ...r, channel })));
}
