/**
 * cdk-nag's AwsSolutions rule pack on the whole app, through CDK's policy-validation plugins:
 * `cdk synth` fails on any finding that is not fixed or acknowledged (nag-acknowledgements.ts).
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

export function addSecurityChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
