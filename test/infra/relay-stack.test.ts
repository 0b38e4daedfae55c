import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import { DEFAULT_FRESHNESS_SECONDS } from '../../lib/contracts/envelope';
import { VerifyEnv } from '../../lib/contracts/env';
import { loadVerifyConfig } from '../../lib/verify/handler';
import { stateMachineDefinition, type CfnTemplate } from '../../lib/local/synthesized-template';
import { validateRelayConfig } from '../../lib/config/validate';
import { DEFAULT_USER_AGENT, RelayStack } from '../../lib/infra/relay-stack';
import { ACCOUNT, CDK_CONTEXT, GUILD_ID, KEY, REGION, synthRelayStack, testConfig } from '../support/fixtures';
import { allStates } from '../support/workflow-states';

// Bundled: one test reads the Verify bundle.
const { stack, template } = synthRelayStack(undefined, { bundle: true });
const json = template.toJSON() as CfnTemplate;
const text = JSON.stringify(json);

function logicalId(type: string, props: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found).toHaveLength(1);
  return found[0];
}

/** An execute-api ARN as CloudFormation renders it for an API in this stack. */
function executeApiArn(apiLogicalId: string, resource: string) {
  return { 'Fn::Join': ['', [`arn:${'aws'}:execute-api:${REGION}:${ACCOUNT}:`, { Ref: apiLogicalId }, resource]] };
}

const proxyApi = logicalId('AWS::ApiGatewayV2::Api', { Description: Match.stringLikeRegexp('webhook proxy') });
const ingestApi = logicalId('AWS::ApiGatewayV2::Api', { Description: Match.stringLikeRegexp('ingest') });
const byPrefix = (t: Template, type: string, prefix: string) => {
  const found = Object.keys(t.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0];
};
const stateMachine = byPrefix(template, 'AWS::StepFunctions::StateMachine', 'RelayStateMachine');
const verifyFunctionOf = (t: Template) => t.findResources('AWS::Lambda::Function')[byPrefix(t, 'AWS::Lambda::Function', 'VerifyFunction')];

describe('Verify function', () => {
  it('runs on Node 24, arm64, with the keys, guilds and window from the config', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: {
          [VerifyEnv.PublicKeys]: JSON.stringify({ [KEY.kid]: KEY.publicKeyHex }),
          [VerifyEnv.AllowedGuildIds]: GUILD_ID,
          [VerifyEnv.FreshnessSeconds]: '240',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
      LoggingConfig: { LogFormat: 'JSON', SystemLogLevel: 'WARN', LogGroup: { Ref: Match.anyValue() } },
    });
  });

  it('logs to a log group with the configured retention', () => {
    const fn = verifyFunctionOf(template);
    const logGroup = json.Resources[(fn.Properties.LoggingConfig.LogGroup as { Ref: string }).Ref];
    expect(logGroup.Properties).toMatchObject({ RetentionInDays: 14 });
  });

  it('is bundled without any runtime dependency beyond Node built-ins', () => {
    // The function's own asset, named by the hash in its S3Key: other bundles (Coalesce, Pace)
    // carry the same contract strings, and directory order differs between machines.
    const outdir = (stack.node.root as App).outdir;
    const s3Key = (verifyFunctionOf(template).Properties.Code as { S3Key: string }).S3Key;
    const assetDir = `asset.${s3Key.replace(/\.zip$/, '')}`;
    expect(readdirSync(outdir)).toContain(assetDir);
    const code = readFileSync(join(outdir, assetDir, 'index.js'), 'utf8');
    expect(code).toContain('Relay.InvalidSignature');
    const required = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1].replace(/^node:/, ''));
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(builtinModules).toContain(name);
  });
});

describe('webhook proxy API', () => {
  it('has one IAM-authorized POST route per channel', () => {
    for (const channel of ['general', 'audit']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        ApiId: { Ref: proxyApi }, RouteKey: `POST /channels/${channel}`, AuthorizationType: 'AWS_IAM',
      });
    }
    expect(Object.keys(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: proxyApi } } }))).toHaveLength(2);
  });

  it('proxies to the webhook URL held in Secrets Manager (dynamic reference by name, wait=true) with Discord headers', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      ApiId: { Ref: proxyApi },
      IntegrationType: 'HTTP_PROXY',
      IntegrationMethod: 'POST',
      IntegrationUri: '{{resolve:secretsmanager:relay-test/webhooks/general:SecretString:::}}?wait=true',
      // wait=true twice over: in the URI, and as a documented query-string overwrite in case API Gateway drops a static query.
      RequestParameters: {
        'overwrite:header.User-Agent': DEFAULT_USER_AGENT,
        'overwrite:header.Content-Type': 'application/json',
        'overwrite:querystring.wait': 'true',
      },
    });
    expect(DEFAULT_USER_AGENT).toMatch(/^DiscordBot \(https:\/\/\S+, \d+\.\d+\.\d+\)$/);
  });

  it('serves a throttled, access-logged $default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: proxyApi },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"callerArn":"\\$context.identity.userArn"') },
    });
  });

  it('grantPostToChannel grants exactly one channel', () => {
    expect(stack.resolve(stack.webhookProxy.arnForChannel('audit'))).toEqual(executeApiArn(proxyApi, '/$default/POST/channels/audit'));
    expect(() => stack.webhookProxy.arnForChannel('nope')).toThrow('no channel "nope"; known: general, audit');
  });
});

describe('no secret in the template', () => {
  it('contains no webhook URL, only dynamic references', () => {
    expect(text).not.toMatch(/discord(app)?\.com\/api\/webhooks|hooks\.slack\.com/i);
    expect(text.match(/\{\{resolve:secretsmanager:[^}]+\}\}/g)).toEqual([
      '{{resolve:secretsmanager:relay-test/webhooks/general:SecretString:::}}',
      '{{resolve:secretsmanager:relay-test/webhooks/audit:SecretString:::}}',
    ]);
  });

  it('contains no "undefined" and no JsonPath inside any execute-api ARN', () => {
    expect(text).not.toContain('undefined');
    const arns = JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy')).concat(Object.values(template.findResources('AWS::IAM::ManagedPolicy'))));
    expect(arns).not.toMatch(/execute-api[^"]*"[^\]]*(\$\.|States\.)/);
  });
});

describe('state machine', () => {
  it('is an Express workflow logging errors only, without execution data, to a retained log group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: false, Destinations: [Match.anyValue()] },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/TestRelay-relay', RetentionInDays: 14 });
  });

  it('the delivery workflow may invoke exactly the channels it posts to, on the $default stage; the relay workflow none', () => {
    const roleOf = (prefix: string) => (json.Resources[byPrefix(template, 'AWS::StepFunctions::StateMachine', prefix)].Properties!.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const invokableBy = (role: string) =>
      Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
        .filter((st) => [st.Action].flat().includes('execute-api:Invoke'))
        .flatMap((st) => [st.Resource].flat());
    expect(invokableBy(roleOf('RelayStateMachine'))).toEqual([]);
    const role = roleOf('DeliveryStateMachine');
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }));
    const invokable = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((st) => [st.Action].flat().includes('execute-api:Invoke'))
      .flatMap((st) => [st.Resource].flat());
    expect(invokable).toEqual(
      expect.arrayContaining([executeApiArn(proxyApi, '/$default/POST/channels/general'), executeApiArn(proxyApi, '/$default/POST/channels/audit')]),
    );
    expect(invokable).toHaveLength(2);
  });

  it('has a definition asl-validator accepts', () => {
    const definition = stateMachineDefinition(json);
    const result = aslValidator(structuredClone(definition));
    expect(result.errorsText?.()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('formats each line with States.Format over escaped fields (user text is never the format string)', () => {
    const states = allStates(stateMachineDefinition(json));
    const line = "States.Format('🔀 {} moved from {} to {} \\{it\\'s\\}', $.text.user, $.text.from, $.text.to)";
    const summary = { 'id.$': '$.id', 'kind.$': '$.kind', channel: 'audit', 'receivedAt.$': '$.receivedAt' };
    // With lanes the line goes only into the lane event Enqueue sends (direct delivery: state-machine-execution.test.ts).
    expect(states['Format voice.move'].Parameters).toEqual({ ...summary, lane: { ...summary, 'line.$': line } });
  });
});

describe('ingest API', () => {
  it.each([
    ['/events', 'StepFunctions-StartExecution'],
    ['/events/sync', 'StepFunctions-StartSyncExecution'],
  ])('POST %s is IAM-authorized and maps the body to Input (%s)', (path, subtype) => {
    const integration = logicalId('AWS::ApiGatewayV2::Integration', { ApiId: { Ref: ingestApi }, IntegrationSubtype: subtype });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationSubtype: subtype,
      RequestParameters: { StateMachineArn: { Ref: stateMachine }, Input: '$request.body' },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: ingestApi }, RouteKey: `POST ${path}`, AuthorizationType: 'AWS_IAM',
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integration }]] },
    });
  });

  it('invokes the state machine through roles that can do one thing each, trusted by API Gateway without the keys it does not send', () => {
    for (const action of ['states:StartExecution', 'states:StartSyncExecution']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: [{ Action: action, Effect: 'Allow', Resource: { Ref: stateMachine } }] },
      });
    }
    const trusts = Object.values(template.findResources('AWS::IAM::Role'))
      .map((r) => (r.Properties as { AssumeRolePolicyDocument: { Statement: Array<{ Principal: { Service?: string }; Condition?: unknown }> } }).AssumeRolePolicyDocument.Statement[0])
      .filter((s) => s.Principal.Service === 'apigateway.amazonaws.com');
    expect(trusts).toHaveLength(2);
    // API Gateway does not populate aws:SourceAccount (nor, as far as anyone has shown, aws:SourceArn) when it
    // assumes an integration role: a condition on either makes every POST /events answer 500.
    for (const t of trusts) expect(t).toEqual({ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } });
  });

  it('serves a throttled, access-logged $default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: ingestApi }, StageName: '$default', AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('offers a caller policy for exactly the two routes, attached to the configured callers', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [{
          Action: 'execute-api:Invoke', Effect: 'Allow',
          Resource: [executeApiArn(ingestApi, '/$default/POST/events'), executeApiArn(ingestApi, '/$default/POST/events/sync')],
        }],
      },
      Roles: ['relay-forwarder'],
      Users: ['relay-ci'],
    });
  });

  it('outputs the ingest URL, the state machine ARN, the caller policy ARN and the proxy URL', () => {
    template.hasOutput('IngestUrl', { Value: { 'Fn::GetAtt': [ingestApi, 'ApiEndpoint'] } });
    template.hasOutput('WebhookProxyUrl', { Value: { 'Fn::GetAtt': [proxyApi, 'ApiEndpoint'] } });
    template.hasOutput('StateMachineArn', { Value: { Ref: stateMachine } });
    template.hasOutput('CallerPolicyArn', { Value: { Ref: logicalId('AWS::IAM::ManagedPolicy', { Description: Match.stringLikeRegexp('sending signed events') }) } });
  });

  it('outputs what relay doctor reads: the operator policy, the lane queues, the pipe and the dedupe table', () => {
    template.hasOutput('OperatorPolicyArn', { Value: { Ref: logicalId('AWS::IAM::ManagedPolicy', { Description: Match.stringLikeRegexp('relay doctor') }) } });
    template.hasOutput('LaneQueueUrl', { Value: { Ref: byPrefix(template, 'AWS::SQS::Queue', 'LaneQueue') } });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: byPrefix(template, 'AWS::SQS::Queue', 'LaneDeadLetterQueue') } });
    template.hasOutput('LanePipeName', { Value: { Ref: byPrefix(template, 'AWS::Pipes::Pipe', 'LanePipe') } });
    template.hasOutput('DedupeTableName', { Value: { Ref: byPrefix(template, 'AWS::DynamoDB::Table', 'Dedupe') } });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', { Description: Match.stringLikeRegexp('relay doctor'), Roles: ['relay-operator'] });
  });
});

describe('stack validation', () => {
  it('refuses a caller from another account, naming the fix', () => {
    const config = validateRelayConfig(testConfig({ callers: ['arn:aws:iam::210987654321:role/elsewhere'] }));
    expect(() => new RelayStack(new App({ context: CDK_CONTEXT }), 'X', { config, env: { account: ACCOUNT, region: REGION } })).toThrow(
      /callers\[0\].*account 210987654321.*deploys to 123456789012.*Deploy the policy statement in that account/,
    );
    const operators = validateRelayConfig(testConfig({ operators: ['arn:aws:iam::210987654321:user/elsewhere'] }));
    expect(() => new RelayStack(new App({ context: CDK_CONTEXT }), 'X', { config: operators, env: { account: ACCOUNT, region: REGION } })).toThrow(/operators\[0\].*account 210987654321/);
  });
});

describe('defaults, each owned by the construct or step that uses it', () => {
  const { throttling: _t, logLevel: _l, logRetentionDays: _r, freshnessWindowSeconds: _f, ...minimal } = testConfig();
  const t = Template.fromStack(new RelayStack(new App({ context: CDK_CONTEXT }), 'Defaults', { config: validateRelayConfig(minimal), env: { account: ACCOUNT, region: REGION } }));

  it('throttles the ingest API at 50/100 and the webhook proxy at 5/10', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } });
  });

  it('keeps every log group a month and logs errors only', () => {
    const retentions = Object.values(t.findResources('AWS::Logs::LogGroup')).map((g) => (g as { Properties: { RetentionInDays?: number } }).Properties.RetentionInDays);
    expect(retentions.length).toBeGreaterThanOrEqual(4);
    expect(new Set(retentions)).toEqual(new Set([30]));
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }) });
  });

  it('leaves the freshness window to the Verify step (300 s)', () => {
    const variables = (verifyFunctionOf(t) as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables;
    expect(variables).not.toHaveProperty(VerifyEnv.FreshnessSeconds);
    expect(loadVerifyConfig(variables).freshnessSeconds).toBe(DEFAULT_FRESHNESS_SECONDS);
    expect(DEFAULT_FRESHNESS_SECONDS).toBe(300);
  });
});
