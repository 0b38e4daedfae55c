/** README's architecture diagram is the synthesized app's (scripts/diagram.ts), and the renderer draws what the template says. */
import { readFileSync } from 'node:fs';
import { renderMermaid, type DiagramTemplate } from '../lib/diagram/mermaid';
import { README, appDiagram, committedBlock, diagramBlock } from '../scripts/diagram';

it('README.md holds the diagram of the app as it synthesizes now (if not: npm run diagram)', () => {
  const committed = committedBlock(readFileSync(README, 'utf8'));
  expect(committed).toBeDefined();
  expect(committed).toBe(diagramBlock(appDiagram()));
});

const at = (path: string) => ({ 'aws:cdk:path': `S/${path}` });
const TEMPLATE: DiagramTemplate = {
  Resources: {
    FnRole1: { Type: 'AWS::IAM::Role', Metadata: at('FnRole/Resource') },
    Fn1: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['FnRole1', 'Arn'] } }, Metadata: at('Fn/Resource') },
    Table1: { Type: 'AWS::DynamoDB::Table', Metadata: at('Store/Table/Resource') },
    Sm1: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: { 'Fn::Join': ['', ['x', { Ref: 'Table1' }]] } }, Metadata: at('Flow/StateMachine/Resource') },
    SmPolicy1: {
      Type: 'AWS::IAM::Policy',
      Properties: { PolicyDocument: { Statement: [
        { Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': ['Fn1', 'Arn'] } },
        { Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':t/', { Ref: 'Table1' }]] } },
      ] } },
      Metadata: at('Flow/StateMachine/Role/DefaultPolicy/Resource'),
    },
    Alarm1: { Type: 'AWS::CloudWatch::Alarm', Properties: { Dimensions: [{ Value: { Ref: 'Sm1' } }] }, Metadata: at('Watch/A/Resource') },
    Alarm2: { Type: 'AWS::CloudWatch::Alarm', Metadata: at('Watch/B/Resource') },
  },
};

it('draws one node per construct, edges labelled by the grants along them, monitoring dotted', () => {
  expect(renderMermaid(TEMPLATE)).toBe([
    'flowchart LR',
    '  Fn["<b>Fn</b><br/>Lambda"]',
    '  Store["<b>Store</b><br/>DynamoDB table"]',
    '  Flow["<b>Flow</b><br/>state machine"]',
    '  Watch["<b>Watch</b><br/>2 alarms"]',
    '  Flow -->|"invoke"| Fn',
    '  Flow -->|"read, write"| Store',
    '  Watch -.-> Flow',
    '',
  ].join('\n'));
});

it('draws a Slack channel\'s proxy integration to Slack, a Discord one\'s to Discord', () => {
  const integration = (uri: string) => ({ Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationType: 'HTTP_PROXY', IntegrationUri: uri }, Metadata: at('Proxy/Api/Resource') });
  const drawn = renderMermaid({ Resources: {
    Discord1: integration('{{resolve:secretsmanager:hooks/general:SecretString:::}}?wait=true'),
    Edit1: integration('{{resolve:secretsmanager:hooks/general:SecretString:::}}/messages/{messageId}'),
    Slack1: integration('{{resolve:secretsmanager:hooks/team:SecretString:::}}'),
  } });
  expect(drawn).toContain('  slack(["Slack incoming webhooks"])');
  expect(drawn).toContain('  Proxy -->|"HTTP_PROXY"| slack');
  expect(drawn).toContain('  Proxy -->|"HTTP_PROXY ?wait=true"| discord');
  expect(renderMermaid({ Resources: { Discord1: integration('{{resolve:secretsmanager:x:SecretString:::}}?wait=true') } })).not.toContain('slack');
});
