/**
 * The cloud proof (integ.relay.ts) synthesizes here; deploying it is `npm run integ` with AWS
 * credentials, which this suite never has: it says so and checks what it can offline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerifyEnv } from '../../lib/contracts/env';
import { integDoctorArgs } from '../../scripts/integ';
import { INTEG_OPERATOR_VARIABLE, INTEG_STACK, integTestKey } from './integ-settings';

const ROOT = join(__dirname, '..', '..');
process.stdout.write('integ.relay.ts: synthesized only; deploying it (npm run integ) needs AWS credentials, which this run has not\n');

const out = mkdtempSync(join(tmpdir(), 'integ-'));
const OPERATOR = 'arn:aws:iam::123456789012:role/github-deploy-role';
execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'integ.relay.ts')], { cwd: ROOT, env: { ...process.env, CDK_OUTDIR: out, [INTEG_OPERATOR_VARIABLE]: OPERATOR }, stdio: 'pipe' });
const templates = Object.fromEntries(readdirSync(out).filter((f) => f.endsWith('.template.json')).map((f) => [f.replace('.template.json', ''), JSON.parse(readFileSync(join(out, f), 'utf8'))]));
type Resource = { Type: string; Properties: Record<string, any> };
const resources = (stack: string): Resource[] => Object.values(templates[stack].Resources as Record<string, Resource>);

it('is an IntegTest app: the catcher, the relay, the sender and the assertion stack', () => {
  expect(Object.keys(templates).sort()).toEqual(['RelayInteg', 'RelayIntegCatcher', 'RelayIntegDriver', expect.stringMatching(/^RelayIntegTestDefaultTestDeployAssert/)].sort());
  const manifest = JSON.parse(readFileSync(join(out, 'integ.json'), 'utf8'));
  expect(Object.values(manifest.testCases)[0]).toMatchObject({ stacks: ['RelayIntegCatcher', 'RelayInteg', 'RelayIntegDriver'], stackUpdateWorkflow: false });
});

it('asserts the outcomes, the dedupe record and the one post that reached the catcher', () => {
  const assertStack = Object.keys(templates).find((k) => k.startsWith('RelayIntegTestDefaultTestDeployAssert'))!;
  const calls = resources(assertStack).filter((r) => r.Type.startsWith('Custom::DeployAssert@')).map((r) => ({ api: `${r.Properties.service}.${r.Properties.api}`, expected: JSON.parse(r.Properties.expected) }));
  expect(calls.map((c) => c.api)).toEqual(['Lambda.invoke', 'DynamoDB.getItem', 'DynamoDB.scan']);
  const [send, claim, scan] = calls.map((c) => c.expected.$ObjectLike);
  expect(send.Payload.$SerializedJson.duplicate.$ObjectLike).toEqual({ status: 'SUCCEEDED', code: 'Relay.Duplicate' });
  expect(claim.Item.state).toEqual({ S: 'delivered' });
  expect(scan.Count).toBe(1);
  expect(scan.Items[0].$ObjectLike).toMatchObject({
    query: { S: 'wait=true' }, content: { S: '🔊 **\\@everyone \\*\\*Integ\\*\\*** joined General' }, allowedMentions: { S: '{"parse":[]}' }, authorization: { S: 'present' },
  });
});

it('the relay under test uses the catcher as its only webhook, and the sender may only call the ingest', () => {
  const proxy = resources('RelayInteg').filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration' && r.Properties.IntegrationType === 'HTTP_PROXY');
  expect(proxy.map((r) => r.Properties.IntegrationUri)).toEqual(['{{resolve:secretsmanager:relay-integ/webhooks/echo:SecretString:::}}?wait=true']);
  const senderPolicy = resources('RelayIntegDriver').find((r) => r.Type === 'AWS::IAM::Policy')!;
  expect(senderPolicy.Properties.PolicyDocument.Statement.map((s: { Action: unknown }) => s.Action)).toEqual(['execute-api:Invoke']);
});

it('npm run integ ends with relay doctor --post against this relay: its stack, its channel, its key, readable by the operator role given', () => {
  const args = integDoctorArgs('/tmp/k.pem');
  expect(args).toEqual(['doctor', '--stack', INTEG_STACK, '--post', 'echo', '--kid', 'integ-test', '--key-file', '/tmp/k.pem']);
  expect(Object.keys(templates)).toContain(args[2]);
  const relay = resources(INTEG_STACK);
  expect(relay.filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey)).toContain(`POST /channels/${args[4]}`);
  const verify = relay.find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[VerifyEnv.PublicKeys])!;
  expect(JSON.parse(verify.Properties.Environment.Variables[VerifyEnv.PublicKeys])).toEqual({ [args[6]]: integTestKey().publicHex });
  const operatorPolicy = relay.find((r) => r.Type === 'AWS::IAM::ManagedPolicy' && /relay doctor/.test(r.Properties.Description))!;
  expect(operatorPolicy.Properties.Roles).toEqual(['github-deploy-role']);
});
