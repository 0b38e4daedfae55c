#!/usr/bin/env node
/**
 * The CDK app, built from the validated config (`-c config=<file>` to choose it) and checked by
 * cdk-nag: the RelayStack, and with `github` in the config the DeployRole stack an admin deploys once.
 */
import { App } from 'aws-cdk-lib';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../lib/config/load';
import { RelayConfigError } from '../lib/config/relay-config';
import { DeployRoleStack } from '../lib/infra/deploy-role-stack';
import { RelayStack } from '../lib/infra/relay-stack';
import { addSecurityChecks } from '../lib/infra/security-checks';

const app = new App();
addSecurityChecks(app);
const configPath: string = app.node.tryGetContext('config') ?? process.env.RELAY_CONFIG ?? DEFAULT_CONFIG_PATH;
try {
  const config = loadRelayConfigFile(configPath);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  new RelayStack(app, config.stackName, { config, env });
  if (config.github) new DeployRoleStack(app, `${config.stackName}DeployRole`, { github: config.github, env });
} catch (error) {
  if (error instanceof RelayConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
