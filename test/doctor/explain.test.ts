/** What relay doctor says a refusal means: the words and the fix for each answer it can meet. */
import { attachCommand, describeSkew, explainAwsError, explainDeadLetter, explainForbidden, explainRejection, summarise, type ExplainContext } from '../../lib/doctor/explain';

const AWS: ExplainContext = { kind: 'aws', principal: 'arn:aws:iam::123456789012:user/ops/alice', outputs: { CallerPolicyArn: 'arn:aws:iam::123456789012:policy/C', LaneQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:lane.fifo' }, url: 'https://abc.execute-api.eu-west-1.amazonaws.com' };
const LOCAL: ExplainContext = { kind: 'local', outputs: {}, url: 'http://127.0.0.1:8787' };

it('attaches a policy to the role behind an assumed-role session, a role or a user', () => {
  expect(attachCommand('arn:aws:sts::1:assumed-role/relay-forwarder/i-0abc', 'P')).toBe('aws iam attach-role-policy --role-name relay-forwarder --policy-arn P');
  expect(attachCommand('arn:aws:iam::1:role/service-role/relay', 'P')).toBe('aws iam attach-role-policy --role-name relay --policy-arn P');
  expect(attachCommand('arn:aws:iam::1:user/ops/alice', 'P')).toBe('aws iam attach-user-policy --user-name alice --policy-arn P');
  expect(attachCommand(undefined, 'P')).toBe('attach P to the role or user behind these credentials');
});

it.each([
  ['Signature expired: 20261201T100000Z is now earlier than 20261201T100500Z', /clock is 400 s ahead/],
  ['The security token included in the request is invalid.', /expired or not valid/],
  ['Missing Authentication Token', /not this relay's ingest API/],
  ['Forbidden', /may not call the ingest routes/],
])('a 403 "%s" is explained', (message, cause) => {
  expect(explainForbidden(message, AWS, 400).cause).toMatch(cause);
});

describe('dead letters in words', () => {
  it.each([
    ['ApiGateway.404', 'Discord answered ApiGateway.404: {"message": "Unknown Webhook", "code": 10015}', /webhook of #general was deleted/],
    ['ApiGateway.404', 'Discord answered ApiGateway.404: {"message": "Unknown Message", "code": 10008}', /message to edit in #general is gone/],
    ['ApiGateway.404', 'Discord answered ApiGateway.404: {"message": "404: Not Found"}', /knows no webhook/],
    ['ApiGateway.401', 'Discord answered ApiGateway.401: {"message": "401: Unauthorized", "code": 0}', /SigV4 Authorization header/],
    ['ApiGateway.403', 'Discord answered ApiGateway.403: {"message":"Forbidden"}', /role may not call the webhook proxy/],
    ['ApiGateway.403', 'Discord answered ApiGateway.403: {"message": "Missing Access", "code": 50001}', /Discord forbade the post/],
    ['ApiGateway.400', 'Discord answered ApiGateway.400: {"message": "Invalid Form Body", "code": 50035}', /refused the message as invalid: Discord answered/],
    ['maxReceiveCount reached', 'the delivery workflow kept failing on this batch', /failed on this batch on every try/],
    ['Relay.Malformed', 'batch[1]: lane event slack is malformed', /lane held an event the delivery workflow cannot read \(batch\[1\]: lane event slack is malformed\)/],
    // A Slack channel's answers: plain-text reasons.
    ['ApiGateway.404', 'Discord answered ApiGateway.404: no_service', /Slack knows no incoming webhook at #general's URL \(404 no_service/],
    ['ApiGateway.404', 'Discord answered ApiGateway.404: channel_not_found', /Slack channel of #general's webhook is gone/],
    ['ApiGateway.410', 'Discord answered ApiGateway.410: channel_is_archived', /is archived \(410 channel_is_archived\)/],
    ['ApiGateway.403', 'Discord answered ApiGateway.403: action_prohibited', /a Slack admin restricts posting/],
    ['ApiGateway.400', 'Discord answered ApiGateway.400: no_text', /Slack refused the message as invalid \(400 no_text\)/],
    ['SQS.InternalError', 'the relay workflow could not queue it: We encountered an internal error.', /relay workflow kept this event here because its claim or its send to the lane failed after the retries \(SQS.InternalError\), not because Discord refused it/],
  ])('%s (%s)', (error, reason, cause) => {
    expect(explainDeadLetter(error, reason, 'general', AWS).cause).toMatch(cause);
  });

  it('says how to redrive: the SQS move task on AWS (with the lane ARN), the local redrive locally', () => {
    const reason = 'Discord answered ApiGateway.404: {"code": 10015}';
    expect(explainDeadLetter('ApiGateway.404', reason, 'general', AWS).fix).toContain('--destination-arn arn:aws:sqs:eu-west-1:123456789012:lane.fifo');
    expect(explainDeadLetter('ApiGateway.404', reason, 'general', LOCAL).fix).toContain('curl -X POST http://127.0.0.1:8787/_lanes/redrive');
    expect(explainDeadLetter('ApiGateway.404', reason, 'general', LOCAL).fix).toContain('RELAY_WEBHOOK_GENERAL');
    expect(explainDeadLetter('DynamoDB.InternalServerErrorException', 'the relay workflow could not queue it: down', 'general', LOCAL).fix).toMatch(/^once DynamoDB and SQS answer again .*curl -X POST http:\/\/127\.0\.0\.1:8787\/_lanes\/redrive/);
  });
});

it('measures the clock against the relay\'s, and keeps one line of an answer', () => {
  expect(describeSkew(undefined)).toMatch(/no Date/);
  expect(describeSkew(1)).toBe('within a second of the relay\'s');
  expect(describeSkew(-42)).toBe('42 s behind the relay\'s (its Date header)');
  expect(summarise('{"message":"Internal Server Error"}')).toBe('Internal Server Error');
  expect(summarise(`a\n${'x'.repeat(300)}`)).toHaveLength(198);
});

it('an AWS error without a region or a network names that, not the service', () => {
  expect(explainAwsError(new Error('Region is missing'), 'sts:GetCallerIdentity', AWS)).toMatchObject({ status: 'fail', cause: 'no AWS region is set', fix: expect.stringContaining('--region') });
  expect(explainAwsError(Object.assign(new Error('getaddrinfo ENOTFOUND sts.eu-west-1.amazonaws.com'), { name: 'Error' }), 'sts:GetCallerIdentity', AWS)).toMatchObject({ status: 'fail', cause: 'this machine cannot reach AWS' });
  expect(explainAwsError(Object.assign(new Error('x'), { name: 'AccessDeniedException' }), 'pipes:DescribePipe', AWS)).toMatchObject({ status: 'fail', fix: expect.stringContaining('attach-user-policy --user-name alice') });
});

it('a region AWS does not know fails the check, and an error nobody explained fails it too: it is never a quiet pass', () => {
  const region = new Error('Region not accepted: region="moon-1" is not a valid hostname component.');
  expect(explainAwsError(region, 'sts:GetCallerIdentity', AWS)).toMatchObject({ status: 'fail', cause: 'the AWS region is not one AWS knows', fix: expect.stringContaining('--region') });
  expect(explainAwsError(Object.assign(new Error('odd'), { name: 'SomethingNew' }), 'sqs:GetQueueAttributes', AWS)).toMatchObject({ status: 'fail', cause: 'sqs:GetQueueAttributes failed, so this check could not be made' });
  expect(explainAwsError(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }), 'pipes:DescribePipe', AWS)).toMatchObject({ status: 'warn' });
});

it('a key the local relay does not know is fixed by restarting it, a deployed relay\'s by deploying', () => {
  const key = { kid: 'k1', publicKeyHex: 'ab'.repeat(32) };
  expect(explainRejection('Relay.UnknownKey', undefined, { ...LOCAL, ...key }).fix).toMatch(/forwarderKeys .*restart the local relay \(Ctrl-C, npm start\)/);
  expect(explainRejection('Relay.UnknownKey', undefined, { ...AWS, ...key }).fix).toMatch(/forwarderKeys .*deploy \(npx cdk deploy\)/);
});
