/**
 * The app as `cdk synth` builds it — same cdk.json context, same stack, same config (the local
 * signing key is given to the local Verify step's environment, not to the template). Lambda
 * bundling is skipped: locally the handlers run from source. A start with the same inputs as a
 * previous one reads the template synthesized then (template-cache.ts).
 */
import { join } from 'node:path';
import type { ResolvedRelayConfig } from '../config/relay-config';
import { NO_BUNDLING, cdkJsonContext } from '../project-files';
import type { CfnTemplate } from './synthesized-template';
import { TemplateCache } from './template-cache';

/** The template, and the check that the local key id does not clash with one of the config's. */
export async function synthesizeLocalTemplate(
  config: ResolvedRelayConfig,
  key: { kid: string; publicKeyHex: string },
  outdir: string,
  options: { directDelivery?: boolean } = {},
): Promise<CfnTemplate> {
  if (config.forwarderKeys[key.kid] !== undefined && config.forwarderKeys[key.kid] !== key.publicKeyHex) {
    throw new Error(`the config already has a key "${key.kid}"; rename it, or delete .relay/local.json to use another local key id`);
  }
  const context = { ...cdkJsonContext(), ...NO_BUNDLING };
  const cache = TemplateCache.for({ config, context, directDelivery: options.directDelivery ?? false });
  const cached = cache?.read<CfnTemplate>();
  if (cached) return cached;
  // Loaded only to synthesize: aws-cdk-lib takes seconds to load.
  const [{ App }, { RelayStack }] = await Promise.all([import('aws-cdk-lib'), import('../infra/relay-stack')]);
  const app = new App({ context, outdir: join(outdir, 'cdk.out') });
  const stack = new RelayStack(app, config.stackName, { config, directDelivery: options.directDelivery });
  const template = app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  cache?.write(template);
  return template;
}
