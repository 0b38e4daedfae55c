/** DiscordCommands: the custom resource with its properties, a function that may read the one secret, and its props checked. */
import { createHash } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { relayCommandDefinitions } from '../../lib/contracts/interactions';
import { DiscordCommands, commandsHash, type DiscordCommandsProps } from '../../lib/infra/discord-commands';
import { addSecurityChecks } from '../../lib/infra/security-checks';
import { NO_BUNDLING, cdkJsonContext } from '../../lib/project-files';

const APP_ID = '1111111111111111111';
const GUILDS = ['111111111111111111', '222222222222222222'];

function build(props: Partial<DiscordCommandsProps> = {}, checks = false) {
  const app = new App({ context: { ...cdkJsonContext(__dirname), ...NO_BUNDLING } });
  if (checks) addSecurityChecks(app);
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const botTokenSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Token', 'discord-relay/bot-token');
  const commands = new DiscordCommands(stack, 'Commands', { applicationId: APP_ID, botTokenSecret, guildIds: GUILDS, ...props });
  return { app, stack, commands };
}

const { stack, commands } = build();
const template = Template.fromStack(stack);
const functionId = stack.getLogicalId(commands.function.node.defaultChild as never);

it('is a custom resource served by its function, with the registration\'s properties', () => {
  template.hasResourceProperties('Custom::DiscordCommands', {
    ServiceToken: { 'Fn::GetAtt': [functionId, 'Arn'] },
    ApplicationId: APP_ID,
    Scope: 'guild',
    GuildIds: GUILDS,
    SecretId: 'discord-relay/bot-token',
    CommandsHash: createHash('sha256').update(JSON.stringify(relayCommandDefinitions())).digest('hex'),
  });
  expect(commandsHash()).toMatch(/^[0-9a-f]{64}$/);
});

it('gives global commands no guild list, so a change of guilds does not re-register them', () => {
  const { stack: s } = build({ scope: 'global' });
  Template.fromStack(s).hasResourceProperties('Custom::DiscordCommands', { Scope: 'global', GuildIds: [] });
});

it('runs on the house function with 60 s to wait out Discord', () => {
  template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 60, Runtime: 'nodejs24.x', Architectures: ['arm64'] });
});

it('may read that one secret, and nothing else but its own log group', () => {
  const roleId = stack.getLogicalId(commands.function.role!.node.defaultChild as never);
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: roleId }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
      Effect: 'Allow', Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
      // The name plus Secrets Manager's random six-character suffix: this secret, no other.
      Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:discord-relay/bot-token-??????',
    })]) },
  });
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  const statements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }).Properties.PolicyDocument.Statement);
  expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => !a.startsWith('logs:')).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
  expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
});

it('passes cdk-nag\'s AwsSolutions checks with no acknowledgement', () => {
  const { app } = build({}, true);
  expect(() => app.synth()).not.toThrow();
});

it.each([
  ['guild scope with no guilds', { guildIds: [] }, 'scope "guild" needs at least one guild id in guildIds (or use scope "global")'],
  ['an application id that is not a snowflake', { applicationId: 'my-app' }, 'applicationId "my-app" is not an application id'],
  ['a guild id that is not a snowflake', { guildIds: ['12'] }, 'guildIds "12" is not a guild id (17-20 digits)'],
])('refuses %s, naming its path', (_, props, message) => {
  const { app } = build(props);
  expect(() => app.synth()).toThrow(`[S/Commands] ${message}`);
});

it('allows the global scope with no guilds', () => {
  expect(() => build({ scope: 'global', guildIds: [] }).app.synth()).not.toThrow();
});
