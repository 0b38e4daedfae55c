#!/usr/bin/env node
/** The CDK app: one RelayStack built from the validated config (`-c config=<file>` to choose it), checked by cdk-nag. */
import { App } from 'aws-cdk-lib';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../lib/config/load';
import { RelayConfigError } from '../lib/config/relay-config';
import { RelayStack } from '../lib/infra/relay-stack';
import { addSecurityChecks } from '../lib/infra/security-checks';

const app = new App();
addSecurityChecks(app);
const configPath: string = app.node.tryGetContext('config') ?? process.env.RELAY_CONFIG ?? DEFAULT_CONFIG_PATH;
try {
  const config = loadRelayConfigFile(configPath);
  new RelayStack(app, config.stackName, {
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  if (error instanceof RelayConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
