/** cdk-nag 3 (AwsSolutions) on the relay: nothing unacknowledged, and each acknowledgement on one resource with its reason. */
import { existsSync, readFileSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { RelayStack } from '../../lib/infra/relay-stack';
import { NagRule } from '../../lib/infra/nag-acknowledgements';
import { addSecurityChecks } from '../../lib/infra/security-checks';
import { validateRelayConfig } from '../../lib/config/validate';
import { ACCOUNT, CDK_CONTEXT, REGION, testConfig } from '../support/fixtures';

function checkedApp(config = testConfig()): { app: App; stack: RelayStack } {
  const app = new App({ context: CDK_CONTEXT });
  addSecurityChecks(app);
  const stack = new RelayStack(app, 'Relay', { config: validateRelayConfig(config), env: { account: ACCOUNT, region: REGION } });
  return { app, stack };
}

/** [construct path, rule, reason] of every acknowledgement (CDK records each as `{ [rule]: reason }` metadata). */
function acknowledgements(root: IConstruct): Array<[string, string, string]> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([rule, reason]) => [c.node.path, rule, reason] as [string, string, string])),
  );
}

const { app, stack } = checkedApp();

it('synthesizes with zero unacknowledged findings', () => {
  expect(() => app.synth()).not.toThrow();
});

it('acknowledges exactly nine findings, each on one resource, with a reason', () => {
  const acks = acknowledgements(stack);
  expect(acks.map(([path, rule]) => [path, rule]).sort()).toEqual([
    ['Relay/Delivery/StateMachine/Resource', NagRule.StateMachineLogsAll],
    ['Relay/Delivery/StateMachine/Resource', NagRule.StateMachineXRay],
    ['Relay/Delivery/StateMachine/Role/DefaultPolicy/Resource', NagRule.WildcardResource],
    ['Relay/Monitoring/AlarmTopic/Resource', NagRule.TopicWithoutKms],
    ['Relay/Operator/Policy/Resource', NagRule.WildcardResource],
    ['Relay/Operator/Policy/Resource', 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:cloudformation:eu-west-1:123456789012:stack/Relay/*]'],
    ['Relay/Relay/StateMachine/Resource', NagRule.StateMachineLogsAll],
    ['Relay/Relay/StateMachine/Resource', NagRule.StateMachineXRay],
    ['Relay/Relay/StateMachine/Role/DefaultPolicy/Resource', NagRule.WildcardResource],
  ]);
  for (const [, , reason] of acks) expect(reason.length).toBeGreaterThan(80);
});

it('is live: an unacknowledged finding fails the synth, naming the rule and the resource', () => {
  const bad = new App({ context: CDK_CONTEXT });
  addSecurityChecks(bad);
  const s = new Stack(bad, 'Bad', { env: { account: ACCOUNT, region: REGION } });
  new iam.Role(s, 'Wide', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')] });
  let message = '';
  try {
    bad.synth();
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toContain('Bad/Wide/Resource');
  expect(message).toMatch(/AwsSolutions-IAM4\[Policy::.*AWSLambdaBasicExecutionRole\]/);
});

// One more checked stack (cdk-nag is the slow part of a synth): live cards, a Slack channel and the
// Discord app, with botTokenSecretName so that the DiscordCommands custom resource and its function are checked too.
const CARDS = [{ event: 'voice.join', channel: 'general', mode: 'card' }, { event: 'voice.leave', channel: 'general', mode: 'card' }, { event: 'voice.move', channel: 'audit', template: '{user} moved' }] as const;
const discord = checkedApp(testConfig({
  channels: { general: { secretName: 'relay-test/webhooks/general' }, audit: { secretName: 'relay-test/webhooks/audit', kind: 'slack' } },
  routes: [...CARDS], discordApp: { applicationId: '1111111111111111111', publicKey: 'ab'.repeat(32), botTokenSecretName: 'relay-test/bot-token' },
}));

it('the checked stack has its Slack channel', () => {
  expect(discord.stack.webhookProxy.slackChannels).toEqual(['audit']);
});

it('a relay with live cards synthesizes clean too: one more acknowledgement, the card edit grant of the carded channel', () => {
  expect(() => discord.app.synth()).not.toThrow();
  const extra = acknowledgements(discord.stack).filter(([, rule]) => rule.includes('PATCH'));
  expect(extra.map(([path, rule]) => [path, rule])).toEqual([[
    'Relay/Delivery/StateMachine/Role/DefaultPolicy/Resource',
    expect.stringMatching(/^AwsSolutions::AwsSolutions-IAM5\[Resource::arn:aws:execute-api:eu-west-1:123456789012:<WebhookProxyApi[0-9A-F]{8}>\/\$default\/PATCH\/channels\/general\/messages\/\*\]$/),
  ]]);
});

describe('with the Discord app: the public interactions route and the DiscordCommands custom resource', () => {
  it('synthesizes with zero unacknowledged findings', () => {
    expect(discord.stack.discordApp?.commands).toBeDefined();
    expect(() => discord.app.synth()).not.toThrow();
  });

  it('acknowledges exactly twelve findings: the nine, the card edit grant, and two on the interactions endpoint (none on DiscordCommands)', () => {
    const acks = acknowledgements(discord.stack).map(([path, rule]) => [path, rule]);
    const base = acknowledgements(stack).map(([path, rule]) => [path, rule]);
    expect(acks.filter((a) => !base.some((b) => b.join() === a.join()) && !a[1].includes('PATCH')).sort()).toEqual([
      ['Relay/Interactions/Api/POST--interactions/Resource', 'AwsSolutions::AwsSolutions-APIG4'],
      ['Relay/Interactions/FunctionRole/DefaultPolicy/Resource', NagRule.WildcardResource],
    ]);
    expect(acks).toHaveLength(12);
    for (const [, , reason] of acknowledgements(discord.stack)) expect(reason.length).toBeGreaterThan(80);
  });

  it('the public route\'s APIG4 acknowledgement says why: no IAM from Discord, the Ed25519 signature checked first, the throttle, and where SECURITY.md explains it', () => {
    const [reason] = acknowledgements(discord.stack).filter(([path, rule]) => path.endsWith('POST--interactions/Resource') && rule.endsWith('APIG4')).map(([, , r]) => r);
    expect(reason).toMatch(/without AWS credentials, so it cannot use IAM/);
    expect(reason).toMatch(/Ed25519 signature by the application's key before it reads the body/);
    expect(reason).toContain('throttled (10/s, burst 20)');
    const section = /SECURITY\.md "([^"]+)"/.exec(reason)?.[1];
    expect(section).toBe('The interactions endpoint');
    expect(readFileSync('SECURITY.md', 'utf8')).toContain(`\n## ${section}\n`);
  });

  it('every test file an acknowledgement names as its proof exists', () => {
    const cited = [...new Set([...acknowledgements(stack), ...acknowledgements(discord.stack)].flatMap(([, , reason]) => reason.match(/test\/[\w/.-]+\.test\.ts/g) ?? []))];
    expect(cited).toContain('test/security/iam-statements.test.ts');
    expect(cited.filter((file) => !existsSync(file))).toEqual([]);
  });
});
