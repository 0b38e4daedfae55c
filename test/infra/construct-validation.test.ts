/** Construct props are checked with node.addValidation: synth fails naming the construct path and the fix. */
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { HeartbeatTable } from '../../lib/infra/heartbeat-table';
import { validateStateNames } from '../../lib/infra/state-name-limit';
import { RelayStateMachine } from '../../lib/infra/relay-state-machine';
import { WebhookProxyApi } from '../../lib/infra/webhook-proxy-api';

const UA = 'DiscordBot (https://example.com, 1.0)';

function stackWith(build: (stack: Stack) => void): () => void {
  const app = new App();
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  build(stack);
  return () => app.synth();
}

const secret = (stack: Stack, name: string) => secretsmanager.Secret.fromSecretNameV2(stack, `Secret-${name}`, `hooks/${name}`);
const fn = (stack: Stack) => lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:eu-west-1:123456789012:function:verify');

describe('WebhookProxyApi', () => {
  it('refuses a channel name that cannot be a path, a repeated channel and a User-Agent Discord rejects', () => {
    const synth = stackWith((stack) => new WebhookProxyApi(stack, 'Proxy', {
      channels: [{ name: 'general', webhookUrlSecret: secret(stack, 'a') }, { name: 'general', webhookUrlSecret: secret(stack, 'b') }],
      userAgent: 'curl/8',
    }));
    expect(synth).toThrow(/\[S\/Proxy\] channel "general" is listed twice/);
    expect(synth).toThrow(/\[S\/Proxy\] userAgent "curl\/8" must read "DiscordBot \(<url>, <version>\)"/);
  });

  it('refuses an empty channel list', () => {
    expect(stackWith((stack) => new WebhookProxyApi(stack, 'Proxy', { channels: [], userAgent: UA }))).toThrow(/\[S\/Proxy\] channels is empty/);
  });

  it('synthesizes valid props', () => {
    expect(stackWith((stack) => new WebhookProxyApi(stack, 'Proxy', { channels: [{ name: 'general', webhookUrlSecret: secret(stack, 'a') }], userAgent: UA }))).not.toThrow();
  });
});

describe('RelayStateMachine', () => {
  it('refuses a route to a channel the proxy lacks and two routes for one kind and channel, naming its path', () => {
    const synth = stackWith((stack) => {
      const webhookProxy = new WebhookProxyApi(stack, 'Proxy', { channels: [{ name: 'general', webhookUrlSecret: secret(stack, 'a') }], userAgent: UA });
      new RelayStateMachine(stack, 'Relay', {
        verifyFunction: fn(stack), webhookProxy, heartbeatTable: new HeartbeatTable(stack, 'Heartbeats').table,
        routes: [
          { event: 'voice.join', channel: 'genral', template: 'x' },
          { event: 'voice.leave', channel: 'general', template: 'x' },
          { event: 'voice.leave', channel: 'general', template: 'y' },
        ],
      });
    });
    expect(synth).toThrow(/\[S\/Relay\] the voice.join route names channel "genral", which the webhook proxy does not have \(known: general\)/);
    expect(synth).toThrow(/\[S\/Relay\] two routes for voice.leave to general; keep one route per event kind and channel/);
  });
});

describe('validateStateNames', () => {
  it('refuses a state name over Step Functions\' 80 characters, naming the state and the construct path', () => {
    const withName = (name: string) => stackWith((stack) => {
      const scope = new Construct(stack, 'Workflow');
      validateStateNames(scope);
      new sfn.StateMachine(scope, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(scope, name)) });
    });
    expect(withName('x'.repeat(80))).not.toThrow();
    expect(withName('x'.repeat(81))).toThrow(/\[S\/Workflow\] state "x{81}" has a name of 81 characters, over Step Functions' 80/);
  });
});
