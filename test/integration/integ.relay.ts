/**
 * The relay, proven in AWS (README "Prove it in the cloud"): an `IntegTest` of
 * @aws-cdk/integ-tests-alpha. It deploys a request catcher (a Lambda function URL standing in for
 * a Discord webhook, its URL in the channel's secret), the relay with a test config, and a sender;
 * then its assertions send a signed event and its duplicate through the real ingest API and check
 * the executions' outcomes, the dedupe record, and what reached the catcher: one post, the
 * escaped line, `allowed_mentions: {"parse":[]}`, Discord's User-Agent, and whether the SigV4
 * headers crossed the HTTP_PROXY integration (SECURITY.md expects that they do; a failure here
 * settles it the other way). Assertions are custom resources: a failed one fails the deployment.
 *
 * Run: `npm run integ` (deploys, asserts, runs relay doctor --post against the deployed relay,
 * destroys; needs credentials and a bootstrapped account).
 */
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { escapeDiscordText } from '../../lib/contracts/template';
import { validateRelayConfig } from '../../lib/config/validate';
import { RelayStack } from '../../lib/infra/relay-stack';
import { INTEG_CHANNEL, INTEG_KEY_ID, INTEG_OPERATOR_VARIABLE, INTEG_STACK, integTestKey } from './integ-settings';

const GUILD_ID = '123456789012345678';
const KEY_ID = INTEG_KEY_ID;
const EVENT_ID = 'integ-event-1';
const SECRET_NAME = 'relay-integ/webhooks/echo';
/** A name that would ping everyone and turn bold, were it not escaped. */
const DISPLAY_NAME = '@everyone **Integ**';

const fn = (stack: Stack, id: string, entry: string, environment: Record<string, string>) => new NodejsFunction(stack, id, {
  entry: join(__dirname, 'handlers', entry),
  runtime: lambda.Runtime.NODEJS_22_X,
  architecture: lambda.Architecture.ARM_64,
  timeout: Duration.seconds(30),
  environment,
});

const app = new App();
const key = integTestKey();

// 1. The catcher and the secret holding its URL (the relay resolves the secret at deploy).
const catcherStack = new Stack(app, 'RelayIntegCatcher');
const received = new dynamodb.TableV2(catcherStack, 'Received', {
  partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
  timeToLiveAttribute: 'expiresAt',
  removalPolicy: RemovalPolicy.DESTROY,
});
const catcher = fn(catcherStack, 'Catcher', 'catcher.ts', { TABLE_NAME: received.tableName });
received.grantWriteData(catcher);
// A test endpoint that anyone may call: it only records what it is sent, and lives for the test.
const catcherUrl = catcher.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
new secretsmanager.Secret(catcherStack, 'EchoWebhook', {
  secretName: SECRET_NAME,
  secretStringValue: SecretValue.unsafePlainText(`${catcherUrl.url}api/webhooks/1/integ`),
  removalPolicy: RemovalPolicy.DESTROY,
});

// 2. The relay, from a test config.
const operator = process.env[INTEG_OPERATOR_VARIABLE];
const relay = new RelayStack(app, INTEG_STACK, {
  config: validateRelayConfig({
    stackName: INTEG_STACK,
    channels: { [INTEG_CHANNEL]: { secretName: SECRET_NAME } },
    routes: [{ event: 'voice.join', channel: INTEG_CHANNEL, template: '🔊 **{user}** joined {channel}' }],
    forwarderKeys: { [KEY_ID]: key.publicHex },
    allowedGuildIds: [GUILD_ID],
    // relay doctor (run by npm run integ after the deploy) reads the stack as this role.
    operators: operator ? [operator] : [],
    logRetentionDays: 1,
  }),
});
relay.addDependency(catcherStack);

// 3. The sender, allowed to call the ingest API like any forwarder.
const driverStack = new Stack(app, 'RelayIntegDriver');
const sender = fn(driverStack, 'Sender', 'sender.ts', { INGEST_URL: relay.ingest.url, KEY_ID, PRIVATE_KEY_PEM: key.pem, GUILD_ID, DISPLAY_NAME });
relay.ingest.grantSend(sender);
driverStack.addDependency(relay);

const integ = new IntegTest(app, 'RelayIntegTest', {
  testCases: [catcherStack, relay, driverStack],
  stackUpdateWorkflow: false,
  cdkCommandOptions: { destroy: { args: { force: true } } },
});

// The event is queued; its copy is a duplicate (both SUCCEEDED, as /events/sync answers).
const send = integ.assertions.invokeFunction({ functionName: sender.functionName, payload: JSON.stringify({ id: EVENT_ID }) });
send.expect(ExpectedResult.objectLike({
  Payload: Match.serializedJson({
    first: Match.objectLike({ status: 'SUCCEEDED', output: Match.objectLike({ outcome: 'queued', channel: 'echo' }) }),
    duplicate: Match.objectLike({ status: 'SUCCEEDED', code: 'Relay.Duplicate' }),
  }),
}));

// The delivery workflow marked it delivered.
const claim = integ.assertions.awsApiCall('DynamoDB', 'getItem', {
  TableName: relay.lanes!.dedupe.table.tableName, Key: { id: { S: EVENT_ID } }, ConsistentRead: true,
});
claim.expect(ExpectedResult.objectLike({ Item: { id: { S: EVENT_ID }, state: { S: 'delivered' } } }))
  .waitForAssertions({ totalTimeout: Duration.minutes(3), interval: Duration.seconds(10) });

// Exactly one post reached the destination, inert, with Discord's headers, and the SigV4 question answered.
const posts = integ.assertions.awsApiCall('DynamoDB', 'scan', { TableName: received.tableName, ConsistentRead: true });
posts.expect(ExpectedResult.objectLike({
  Count: 1,
  Items: [Match.objectLike({
    query: { S: 'wait=true' },
    content: { S: `🔊 **${escapeDiscordText(DISPLAY_NAME)}** joined General` },
    allowedMentions: { S: '{"parse":[]}' },
    userAgent: { S: Match.stringLikeRegexp('^DiscordBot \\(') },
    authorization: { S: 'present' },
  })],
})).waitForAssertions({ totalTimeout: Duration.minutes(3), interval: Duration.seconds(10) });

send.next(claim).next(posts);
app.synth();
