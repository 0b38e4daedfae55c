/**
 * A relay with card routes: the editable channel, the card states (valid ASL), the Render card
 * function, and every permission the delivery workflow gains — the edit grant is the patched
 * construct's prefix wildcard for a JsonPath path, pinned to the exact ARN.
 */
import aslValidator from 'asl-validator';
import { StateMachineId, stateMachineDefinition, type CfnTemplate } from '../../lib/local/synthesized-template';
import { DeliveryStateName as S } from '../../lib/contracts/state-names';
import { synthRelayStack, testConfig } from '../support/fixtures';
import { validateRelayConfig } from '../../lib/config/validate';
import { RelayConfigError } from '../../lib/config/relay-config';
import { allStates } from '../support/workflow-states';

const ROLE = '777777777777777777';
const config = testConfig({
  routes: [
    { event: 'voice.join', channel: 'general', mode: 'card', pingRoleId: ROLE, minMembers: 2 },
    { event: 'voice.leave', channel: 'general', mode: 'card' },
    { event: 'voice.move', channel: 'audit', template: '🔀 {user} moved from {from} to {to}', minMembers: 3 },
  ],
});
const { template } = synthRelayStack(config);
const json = template.toJSON() as CfnTemplate & { Resources: Record<string, { Type: string; Properties: any }> };
const idOf = (type: string, prefix: string) => Object.keys(template.findResources(type)).find((id) => id.startsWith(prefix))!;
const delivery = stateMachineDefinition(json, undefined, StateMachineId.Delivery) as { States: Record<string, any> };
const processor = delivery.States[S.PostEach].ItemProcessor.States as Record<string, any>;
const relay = stateMachineDefinition(json) as { States: Record<string, any> };

it('the delivery definition with card states is valid ASL', () => {
  const result = (aslValidator as unknown as (d: unknown) => { isValid: boolean; errors: unknown[] })(delivery);
  expect(result.errors).toEqual([]);
  expect(Object.keys(processor)).toEqual(expect.arrayContaining([S.CardOrMessage, S.ReadCard, S.RenderCard, S.Send, S.edit('general'), S.postCard('general'), S.KeepCard, S.SaveCard, S.ForgetCard, S.CardGone]));
  expect(delivery.States[S.PostEach].ItemProcessor.StartAt).toBe(S.CardOrMessage);
});

it('the edit is a PATCH with a dynamic path, its 404 caught before the refusals', () => {
  const edit = processor[S.edit('general')];
  expect(edit.Parameters).toMatchObject({ Method: 'PATCH', 'Path.$': "States.Format('/channels/general/messages/{}', $.message.card.messageId)", AuthType: 'IAM_ROLE' });
  expect(edit.Catch[0]).toMatchObject({ ErrorEquals: ['ApiGateway.404'], Next: S.WebhookOrCardGone });
  expect(edit.Catch.slice(1).flatMap((c: { ErrorEquals: string[] }) => c.ErrorEquals)).not.toContain('ApiGateway.404');
  expect(edit.ResultSelector).toEqual({ 'status.$': '$.StatusCode', 'headers.$': '$.Headers', 'messageId.$': '$.ResponseBody.id' });
  // Message posts keep their old answer: a missing id must never fail a posted message.
  expect(processor['Post to audit'].ResultSelector).toEqual({ 'status.$': '$.StatusCode', 'headers.$': '$.Headers' });
});

it('grants exactly: the Render card function, the channel\'s PATCH under /messages/ (prefix wildcard), the two posts, and card items in the table', () => {
  const role = json.Resources[idOf('AWS::IAM::Role', 'DeliveryStateMachineRole')];
  const policy = Object.values(json.Resources).find((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(idOf('AWS::IAM::Role', 'DeliveryStateMachineRole')))!;
  expect(role).toBeDefined();
  const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>;
  const api = idOf('AWS::ApiGatewayV2::Api', 'WebhookProxyApi');
  const route = (method: string, path: string) => ({ 'Fn::Join': ['', ['arn:aws:execute-api:eu-west-1:123456789012:', { Ref: api }, `/$default/${method}${path}`]] });
  const invoke = statements.filter((s) => s.Action === 'execute-api:Invoke').flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
  expect(invoke).toEqual(expect.arrayContaining([route('PATCH', '/channels/general/messages/*'), route('POST', '/channels/general'), route('POST', '/channels/audit')]));
  expect(invoke).toHaveLength(3);
  expect(invoke).not.toContainEqual(route('PATCH', '/*'));
  const lambdas = statements.filter((s) => s.Action === 'lambda:InvokeFunction').flatMap((s) => s.Resource as unknown[]);
  expect(lambdas).toContainEqual({ 'Fn::GetAtt': [idOf('AWS::Lambda::Function', 'CardFunction'), 'Arn'] });
  const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:')).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  // An ended card is remembered (PutItem), never deleted: no DeleteItem.
  expect(dynamo.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
});

it('the proxy gets the edit route for the carded channel only', () => {
  const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey as string);
  expect(keys.filter((k) => k.startsWith('PATCH'))).toEqual(['PATCH /channels/general/messages/{messageId}']);
});

it('card routes write card lane events; a message route with minMembers is gated by a Choice', () => {
  expect(allStates(relay)['Format voice.join'].Parameters.lane).toMatchObject({ 'voice.$': 'States.Array($.event.after)', card: { minMembers: 2, pingRoleId: ROLE } });
  expect(allStates(relay)['Format voice.leave'].Parameters.lane).toMatchObject({ 'voice.$': 'States.Array($.event.before)', card: {} });
  const gate = allStates(relay)['Enough people for voice.move?'];
  expect(gate.Choices[0]).toEqual({ And: [{ Variable: '$.event.after.occupants.count', IsPresent: true }, { Variable: '$.event.after.occupants.count', NumericLessThan: 3 }], Next: 'Too few for voice.move' });
  expect(gate.Default).toBe('Format voice.move');
});

describe('config', () => {
  const problems = (routes: unknown[]) => {
    try {
      validateRelayConfig({ ...testConfig(), routes });
      return [];
    } catch (e) {
      return (e as RelayConfigError).problems.map((p) => `${p.path}: ${p.problem}`);
    }
  };
  it.each([
    [[{ event: 'voice.join', channel: 'general', mode: 'cards' }], 'routes[0].mode: "cards" is not a route mode'],
    [[{ event: 'voice.update', channel: 'general', mode: 'card' }], 'routes[0].mode: a card follows who is in a channel; "voice.update" does not change that'],
    [[{ event: 'voice.join', channel: 'general', mode: 'card', template: 'x' }], 'routes[0].template: is not used by a card route (the card has its own text)'],
    [[{ event: 'voice.join', channel: 'general', template: 'x', pingRoleId: ROLE }], 'routes[0].pingRoleId: pings only on the first post of a card session'],
    [[{ event: 'voice.join', channel: 'general', mode: 'card', pingRoleId: '@everyone' }], 'routes[0].pingRoleId: "@everyone" is not a role id'],
    [[{ event: 'voice.join', channel: 'general', template: 'x', minMembers: 0 }], 'routes[0].minMembers: 0 is out of range'],
    [[{ event: 'voice.join', channel: 'general' }], 'routes[0].template: must be non-empty text'],
  ])('%j → %s', (routes, expected) => expect(problems(routes)).toContain(expected));

  it('a card route needs the lanes', () => {
    expect(() => synthRelayStack(config, { directDelivery: true })).toThrow(/card route, which needs the delivery lanes/);
  });
});

describe('issue 19: a deleted webhook, an ended session, per-channel settings', () => {
  it('an edit\'s 404 is a deleted webhook (10015: refused, dead-lettered) before it is a deleted card', () => {
    const choice = processor[S.WebhookOrCardGone];
    expect(choice.Choices[0]).toEqual({
      And: [{ Variable: '$.answer.Cause', IsPresent: true }, { Or: [{ Variable: '$.answer.Cause', StringMatches: '*10015*' }, { Variable: '$.answer.Cause', StringMatches: '*Unknown Webhook*' }] }],
      Next: S.DescribeRefusal,
    });
    expect(choice.Default).toBe(S.CardGone);
  });

  it('an ended card (or a deleted, ended one) is remembered with when it ended, not deleted', () => {
    for (const state of [S.ForgetCard, S.ForgetGoneCard]) {
      expect(processor[state]).toMatchObject({ Type: 'Task', Resource: expect.stringMatching(/:states:::dynamodb:putItem$/) });
      expect(processor[state].Parameters.Item).toEqual({ id: { 'S.$': '$.message.card.key' }, endedAt: { 'S.$': '$.message.card.endedAt' }, expiresAt: { 'N.$': '$.message.card.expiresAt' } });
    }
  });

  it('every card route of a channel writes the channel\'s settings, whichever route set them', () => {
    const cards = synthRelayStack(testConfig({ routes: [
      { event: 'voice.join', channel: 'general', mode: 'card', pingRoleId: ROLE },
      { event: 'voice.leave', channel: 'general', mode: 'card', minMembers: 2 },
      { event: 'voice.move', channel: 'general', mode: 'card' },
    ] }));
    const states = allStates(stateMachineDefinition(cards.template.toJSON() as CfnTemplate));
    for (const kind of ['voice.join', 'voice.leave', 'voice.move']) expect(states[`Format ${kind}`].Parameters.lane.card).toEqual({ minMembers: 2, pingRoleId: ROLE });
  });

  it('the config refuses two card routes of one channel with different settings, naming both', () => {
    const routes = [
      { event: 'voice.join' as const, channel: 'general', mode: 'card' as const, pingRoleId: ROLE },
      { event: 'voice.move' as const, channel: 'general', mode: 'card' as const, pingRoleId: '888888888888888888' },
    ];
    expect(() => validateRelayConfig(testConfig({ routes }))).toThrow(/routes\[1\]\.pingRoleId: differs from routes\[0\]\.pingRoleId for channel "general"/);
    expect(() => validateRelayConfig(testConfig({ routes: [routes[0], { ...routes[1], pingRoleId: ROLE }] }))).not.toThrow();
  });
});
