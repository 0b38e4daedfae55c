/** cdk-nag 3 (AwsSolutions) on the relay: nothing unacknowledged, and each acknowledgement on one resource with its reason. */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { RelayStack } from '../../lib/infra/relay-stack';
import { NagRule } from '../../lib/infra/nag-acknowledgements';
import { addSecurityChecks } from '../../lib/infra/security-checks';
import { validateRelayConfig } from '../../lib/config/validate';
import { ACCOUNT, CDK_CONTEXT, REGION, testConfig } from '../support/fixtures';

function checkedApp(): { app: App; stack: RelayStack } {
  const app = new App({ context: CDK_CONTEXT });
  addSecurityChecks(app);
  const stack = new RelayStack(app, 'Relay', { config: validateRelayConfig(testConfig()), env: { account: ACCOUNT, region: REGION } });
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

it('a relay with live cards synthesizes clean too: one more acknowledgement, the card edit grant of the carded channel', () => {
  const cards = new App({ context: CDK_CONTEXT });
  addSecurityChecks(cards);
  const config = testConfig({ routes: [{ event: 'voice.join', channel: 'general', mode: 'card' }, { event: 'voice.leave', channel: 'general', mode: 'card' }] });
  const relay = new RelayStack(cards, 'Relay', { config: validateRelayConfig(config), env: { account: ACCOUNT, region: REGION } });
  expect(() => cards.synth()).not.toThrow();
  const extra = acknowledgements(relay).filter(([, rule]) => rule.includes('PATCH'));
  expect(extra.map(([path, rule]) => [path, rule])).toEqual([[
    'Relay/Delivery/StateMachine/Role/DefaultPolicy/Resource',
    expect.stringMatching(/^AwsSolutions::AwsSolutions-IAM5\[Resource::arn:aws:execute-api:eu-west-1:123456789012:<WebhookProxyApi[0-9A-F]{8}>\/\$default\/PATCH\/channels\/general\/messages\/\*\]$/),
  ]]);
});
