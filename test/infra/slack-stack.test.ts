/**
 * Slack channels in the synthesized stack (examples/slack.config.ts): the proxy's Slack route
 * (the secret's URL as is, no Discord `wait`, its kind in the route's metadata for local mode),
 * what a Slack route's Format state queues, and the Slack channels Coalesce is told about.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import slackConfig from '../../examples/slack.config';
import { CHANNEL_KIND_METADATA } from '../../lib/contracts/routes';
import { StateName, DeliveryStateName } from '../../lib/contracts/state-names';
import { WebhookProxyApi } from '../../lib/infra/webhook-proxy-api';
import { StateMachineId, stateMachineDefinition, webhookProxyRoutes, type CfnTemplate } from '../../lib/local/synthesized-template';
import { CDK_CONTEXT, synthRelayStack } from '../support/fixtures';
import { allStates } from '../support/workflow-states';

const { template } = synthRelayStack(slackConfig);
const json = template.toJSON() as CfnTemplate;

it('posts to a Slack channel at the secret\'s URL as it is: no ?wait, no query overwrite', () => {
  const integrations = Object.values(template.findResources('AWS::ApiGatewayV2::Integration')).map((r) => r.Properties);
  const uri = (name: string) => integrations.find((p) => JSON.stringify(p.IntegrationUri).includes(`webhooks/${name}`))!;
  expect(uri('team-slack').IntegrationUri).toMatch(/^\{\{resolve:secretsmanager:[^}]+\}\}$/);
  expect(Object.keys(uri('team-slack').RequestParameters)).toEqual(['overwrite:header.User-Agent', 'overwrite:header.Content-Type']);
  expect(uri('general').IntegrationUri).toMatch(/\}\}\?wait=true$/);
  template.hasResource('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: 'POST /channels/team' }, Metadata: Match.objectLike({ [CHANNEL_KIND_METADATA]: 'slack' }) });
  template.hasResource('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: 'POST /channels/general' }, Metadata: Match.objectLike({ [CHANNEL_KIND_METADATA]: 'discord' }) });
  expect(webhookProxyRoutes(json).map((r) => [r.channel, r.kind, r.urlSuffix])).toEqual(expect.arrayContaining([['team', 'slack', ''], ['general', 'discord', '?wait=true']]));
});

it('a Slack route queues its template and the event as Verify passed it; a Discord route its rendered line', () => {
  const relay = allStates(stateMachineDefinition(json));
  expect(relay[StateName.format('voice.join', 'team')].Parameters.lane).toMatchObject({ channel: 'team', slack: { template: slackConfig.routes[0].template, 'event.$': '$.event' } });
  expect(relay[StateName.format('voice.join', 'team')].Parameters.lane['line.$']).toBeUndefined();
  // The same event's copy for #general, a Discord channel, is its rendered line.
  expect(relay[StateName.format('voice.join', 'general')].Parameters.lane['line.$']).toMatch(/^States\.Format\(/);
  expect(relay[StateName.format('voice.move')].Parameters.lane['line.$']).toMatch(/^States\.Format\(/);
});

it('names Slack as the one that refused a Slack channel\'s message, Discord for the others', () => {
  const states = allStates(stateMachineDefinition(json, undefined, StateMachineId.Delivery));
  expect(states[DeliveryStateName.NameAnswerer].Choices).toEqual([{ Or: [{ Variable: '$.message.channel', StringEquals: 'team' }], Next: `${DeliveryStateName.NameAnswerer}: Slack` }]);
  expect(states[DeliveryStateName.NameAnswerer].Default).toBe(`${DeliveryStateName.NameAnswerer}: Discord`);
});

it('tells Coalesce which channels are Slack\'s (lanes-stack.test.ts: a stack without one says nothing)', () => {
  expect(allStates(stateMachineDefinition(json, undefined, StateMachineId.Delivery))[DeliveryStateName.Coalesce].Parameters).toMatchObject({ slackChannels: ['team'] });
});

it('refuses an editable Slack channel and a Slack route without the lanes, naming the construct', () => {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'V');
  new WebhookProxyApi(stack, 'Proxy', {
    channels: [{ name: 'team', kind: 'slack', editable: true, webhookUrlSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Hook', 'hooks/team') }],
    userAgent: 'DiscordBot (https://x, 1.0.0)',
  });
  expect(() => app.synth()).toThrow(/V\/Proxy.*channel "team" is a Slack channel: a Slack incoming webhook cannot edit a message/);
  expect(() => synthRelayStack(slackConfig, { directDelivery: true })).toThrow(/route goes to Slack channel "team", which needs the delivery lanes/);
});
