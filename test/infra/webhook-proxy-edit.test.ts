/** The webhook proxy's edit route (live voice cards): PATCH /channels/<name>/messages/{messageId} → Edit Webhook Message. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { WebhookProxyApi } from '../../lib/infra/webhook-proxy-api';
import { webhookProxyRoutes, type CfnTemplate } from '../../lib/local/synthesized-template';
import { ACCOUNT, CDK_CONTEXT, REGION } from '../support/fixtures';

function proxy(editable: boolean) {
  const stack = new Stack(new App({ context: CDK_CONTEXT }), 'S', { env: { account: ACCOUNT, region: REGION } });
  const api = new WebhookProxyApi(stack, 'Proxy', {
    channels: [
      { name: 'general', webhookUrlSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'G', 'hooks/general'), editable },
      { name: 'audit', webhookUrlSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'A', 'hooks/audit') },
    ],
    userAgent: 'DiscordBot (https://example.com, 1.0.0)',
  });
  return { stack, api, template: Template.fromStack(stack) };
}

it('an editable channel gets PATCH /channels/<name>/messages/{messageId}, proxied to <webhook>/messages/{messageId} (no wait: Edit Webhook Message has none) with Discord\'s headers', () => {
  const { template } = proxy(true);
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'PATCH /channels/general/messages/{messageId}', AuthorizationType: 'AWS_IAM' });
  template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
    IntegrationType: 'HTTP_PROXY', IntegrationMethod: 'PATCH',
    IntegrationUri: '{{resolve:secretsmanager:hooks/general:SecretString:::}}/messages/{messageId}',
    RequestParameters: { 'overwrite:header.User-Agent': 'DiscordBot (https://example.com, 1.0.0)', 'overwrite:header.Content-Type': 'application/json' },
  });
  // Only the editable channel: audit keeps its POST route alone.
  expect(Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey).sort()).toEqual([
    'PATCH /channels/general/messages/{messageId}', 'POST /channels/audit', 'POST /channels/general',
  ]);
});

it('no edit route unless asked for', () => {
  const { template } = proxy(false);
  expect(Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey)).not.toContainEqual(expect.stringMatching(/^PATCH/));
});

it('names the ARN of every edit in a channel, and refuses one that is not editable', () => {
  const { stack, api } = proxy(true);
  expect(stack.resolve(api.arnForChannelEdits('general'))).toEqual({
    'Fn::Join': ['', [`arn:aws:execute-api:${REGION}:${ACCOUNT}:`, { Ref: expect.stringMatching(/^ProxyApi/) }, '/$default/PATCH/channels/general/messages/*']],
  });
  expect(() => api.arnForChannelEdits('audit')).toThrow(/channel "audit" is not editable; editable: general/);
});

it('local mode reads the edit route from the template, path variable and all', () => {
  const routes = webhookProxyRoutes(proxy(true).template.toJSON() as CfnTemplate);
  expect(routes).toContainEqual(expect.objectContaining({ channel: 'general', method: 'PATCH', path: '/channels/general/messages/{messageId}', secretName: 'hooks/general', urlSuffix: '/messages/{messageId}', queryOverwrites: {} }));
  expect(routes).toContainEqual(expect.objectContaining({ channel: 'general', method: 'POST', urlSuffix: '?wait=true', queryOverwrites: { wait: 'true' } }));
});
