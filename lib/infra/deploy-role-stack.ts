/**
 * The one-time stack an admin deploys (README "Deploy from GitHub Actions"): GitHub's OIDC provider
 * (created, or the account's existing one imported) and the role deploy.yml assumes.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { GitHubDeployRole, type GitHubDeployRoleProps } from './github-deploy-role';

export interface DeployRoleStackProps extends StackProps {
  readonly github: Omit<GitHubDeployRoleProps, 'oidcProvider'> & {
    /** ARN of the account's provider for token.actions.githubusercontent.com. @default - create one */
    readonly oidcProviderArn?: string;
  };
}

export class DeployRoleStack extends Stack {
  public readonly deployRole: GitHubDeployRole;

  constructor(scope: Construct, id: string, props: DeployRoleStackProps) {
    super(scope, id, { description: 'Discord Event Relay: the role GitHub Actions deploys with (deploy once, as an admin)', ...props });
    const { oidcProviderArn, ...github } = props.github;
    this.deployRole = new GitHubDeployRole(this, 'GitHubDeploy', {
      ...github,
      oidcProvider: oidcProviderArn ? iam.OidcProviderNative.fromOidcProviderArn(this, 'GitHubOidcProvider', oidcProviderArn) : undefined,
    });
    new CfnOutput(this, 'DeployRoleArn', { value: this.deployRole.role.roleArn, description: 'Set as the repository variable AWS_DEPLOY_ROLE_ARN' });
    new CfnOutput(this, 'TrustedSubjects', { value: this.deployRole.subjects.join(' '), description: 'The OIDC sub claims the role accepts' });
  }
}
