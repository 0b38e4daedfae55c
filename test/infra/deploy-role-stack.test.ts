/**
 * The DeployRole stack: the GitHub OIDC provider and a role trusted only for one repository's
 * environments (aud sts.amazonaws.com, exact sub), able only to assume the CDK bootstrap roles.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DeployRoleStack, type DeployRoleStackProps } from '../../lib/infra/deploy-role-stack';
import { githubSubject } from '../../lib/infra/github-deploy-role';
import { addSecurityChecks } from '../../lib/infra/security-checks';
import { ACCOUNT, CDK_CONTEXT, REGION } from '../support/fixtures';

const IMMUTABLE = { repository: 'octo-org/discord-event-relay', subjectFormat: 'immutable', ownerId: '9919', repositoryId: '123456789' } as const;

function synth(github: DeployRoleStackProps['github'], checked = true): Template {
  const app = new App({ context: CDK_CONTEXT });
  if (checked) addSecurityChecks(app);
  const stack = new DeployRoleStack(app, 'Deploy', { github, env: { account: ACCOUNT, region: REGION } });
  return Template.fromStack(stack);
}

function trust(template: Template): unknown[] {
  const roles = Object.values(template.findResources('AWS::IAM::Role'));
  expect(roles).toHaveLength(1);
  return (roles[0].Properties.AssumeRolePolicyDocument as { Statement: unknown[] }).Statement;
}

describe('subjects', () => {
  it('immutable: owner and repository carry their numeric ids', () => {
    expect(githubSubject(IMMUTABLE, 'production')).toBe('repo:octo-org@9919/discord-event-relay@123456789:environment:production');
  });
  it('name: the older name-only form', () => {
    expect(githubSubject({ repository: 'octo-org/relay', subjectFormat: 'name' }, 'production')).toBe('repo:octo-org/relay:environment:production');
  });
});

describe('trust', () => {
  it('is exactly: GitHub tokens with aud sts.amazonaws.com and the production environment of the repository', () => {
    const template = synth(IMMUTABLE);
    const [provider] = Object.keys(template.findResources('AWS::IAM::OIDCProvider'));
    expect(trust(template)).toEqual([{
      Action: 'sts:AssumeRoleWithWebIdentity',
      Effect: 'Allow',
      Principal: { Federated: { Ref: provider } },
      Condition: {
        StringEquals: {
          'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
          'token.actions.githubusercontent.com:sub': 'repo:octo-org@9919/discord-event-relay@123456789:environment:production',
        },
      },
    }]);
    template.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
    template.hasResourceProperties('AWS::IAM::Role', { MaxSessionDuration: 3600 });
  });

  it('lists each configured environment, in the name-only format when chosen, and uses no wildcard match', () => {
    const [statement] = trust(synth({ repository: 'octo-org/relay', subjectFormat: 'name', environments: ['staging', 'production'] })) as Array<{ Condition: Record<string, Record<string, unknown>> }>;
    expect(Object.keys(statement.Condition)).toEqual(['StringEquals']);
    expect(statement.Condition.StringEquals['token.actions.githubusercontent.com:sub']).toEqual([
      'repo:octo-org/relay:environment:staging',
      'repo:octo-org/relay:environment:production',
    ]);
  });

  it('imports an existing provider instead of creating a second one', () => {
    const arn = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
    const template = synth({ ...IMMUTABLE, oidcProviderArn: arn });
    template.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    expect(trust(template)).toEqual([expect.objectContaining({ Principal: { Federated: arn } })]);
  });
});

describe('permissions', () => {
  it('can only assume the CDK bootstrap roles of its own account and region', () => {
    const template = synth(IMMUTABLE);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([{
      Sid: 'AssumeCdkBootstrapRoles',
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:role/cdk-hnb659fds-*-${ACCOUNT}-${REGION}`]] },
    }]);
    // No managed policies, no inline policies, nothing else in the stack.
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent(), Policies: Match.absent() });
    expect(Object.values(template.toJSON().Resources).map((r) => (r as { Type: string }).Type).sort()).toEqual(['AWS::IAM::OIDCProvider', 'AWS::IAM::Policy', 'AWS::IAM::Role']);
  });

  it('passes cdk-nag with its one wildcard acknowledged; without the acknowledgement the synth fails on it', () => {
    const app = new App({ context: CDK_CONTEXT });
    addSecurityChecks(app);
    new DeployRoleStack(app, 'Deploy', { github: IMMUTABLE, env: { account: ACCOUNT, region: REGION } });
    expect(() => app.synth()).not.toThrow();
    const bare = new App({ context: CDK_CONTEXT });
    addSecurityChecks(bare);
    const other = new Stack(bare, 'Bare', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.Role(other, 'R', { assumedBy: new iam.AccountRootPrincipal() });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [`arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-*-${ACCOUNT}-${REGION}`] }));
    expect(() => bare.synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:iam::\d+:role\/cdk-hnb659fds-\*/);
  });

  it('outputs the role ARN and the subjects it trusts', () => {
    const outputs = synth(IMMUTABLE).toJSON().Outputs;
    expect(outputs.DeployRoleArn.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^GitHubDeployRole/), 'Arn'] });
    expect(outputs.TrustedSubjects.Value).toBe('repo:octo-org@9919/discord-event-relay@123456789:environment:production');
  });
});

describe('validation names the construct and the fix', () => {
  it.each([
    [{ ...IMMUTABLE, repository: 'no-slash' }, /repository "no-slash" must be owner\/name/],
    [{ repository: 'o/r', subjectFormat: 'immutable' as const }, /needs ownerId and repositoryId/],
    [{ ...IMMUTABLE, environments: ['prod*'] }, /environment "prod\*" may hold only/],
    [{ ...IMMUTABLE, environments: ['a:ref:refs/heads/main'] }, /may hold only/],
    [{ ...IMMUTABLE, environments: [] }, /environments is empty/],
  ])('%j', (github, message) => {
    const app = new App({ context: CDK_CONTEXT });
    new DeployRoleStack(app, 'Deploy', { github, env: { account: ACCOUNT, region: REGION } });
    expect(() => app.synth()).toThrow(message);
    expect(() => app.synth()).toThrow(/Deploy\/GitHubDeploy/);
  });
});

