/**
 * The app as `cdk synth` builds it — same cdk.json context, same stack — plus the local signing
 * key in forwarderKeys. Lambda bundling is skipped: locally the handler runs from source.
 */
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { ResolvedRelayConfig } from '../config/relay-config';
import { RelayStack } from '../infra/relay-stack';
import { NO_BUNDLING, cdkJsonContext } from '../project-files';
import type { CfnTemplate } from './synthesized-template';

export function synthesizeLocalTemplate(
  config: ResolvedRelayConfig,
  key: { kid: string; publicKeyHex: string },
  outdir: string,
  options: { directDelivery?: boolean } = {},
): CfnTemplate {
  if (config.forwarderKeys[key.kid] !== undefined && config.forwarderKeys[key.kid] !== key.publicKeyHex) {
    throw new Error(`the config already has a key "${key.kid}"; rename it, or delete .relay/local.json to use another local key id`);
  }
  const app = new App({ context: { ...cdkJsonContext(), ...NO_BUNDLING }, outdir: join(outdir, 'cdk.out') });
  const stack = new RelayStack(app, config.stackName, {
    config: { ...config, forwarderKeys: { ...config.forwarderKeys, [key.kid]: key.publicKeyHex } },
    directDelivery: options.directDelivery,
  });
  return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
}
