/**
 * What a refusal means and what to do about it: the ingest's HTTP answers, the relay's `Relay.*`
 * codes, Discord's answers as dead-letter reasons, and AWS SDK errors. Each explanation names the
 * fix in the user's terms (a command, a config line, a register row), for a deployed relay or the
 * local one.
 */
import { RelayErrorCode } from '../contracts/errors';
import { QUEUE_FAILURE_REASON } from '../contracts/lane';
import { LocalRelayPath, sinkWebhookPath, webhookVariableFor } from '../contracts/local-relay';
import { StackOutput } from '../contracts/outputs';
import { fail, warn, type Finding } from './results';
import { REGISTER } from './register';

export interface ExplainContext {
  readonly kind: 'aws' | 'local';
  /** The IAM principal the requests are signed as. */
  readonly principal?: string;
  /** Stack outputs (empty for the local relay). */
  readonly outputs: Readonly<Record<string, string>>;
  readonly url: string;
  readonly kid?: string;
  readonly keyFile?: string;
  /** The key file's public key, as forwarderKeys holds it (64 hex). */
  readonly publicKeyHex?: string;
}

/** `aws iam attach-…-policy` for the role or user behind an STS or IAM ARN. */
export function attachCommand(principal: string | undefined, policyArn: string): string {
  const role = /:assumed-role\/([^/]+)\//.exec(principal ?? '')?.[1] ?? /:role\/(?:.*\/)?([^/]+)$/.exec(principal ?? '')?.[1];
  if (role) return `aws iam attach-role-policy --role-name ${role} --policy-arn ${policyArn}`;
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(principal ?? '')?.[1];
  if (user) return `aws iam attach-user-policy --user-name ${user} --policy-arn ${policyArn}`;
  return `attach ${policyArn} to the role or user behind these credentials`;
}

const policyOf = (ctx: ExplainContext, output: typeof StackOutput.CallerPolicyArn | typeof StackOutput.OperatorPolicyArn) => ctx.outputs[output] ?? `<${output} stack output>`;

/** A 403 from the ingest: which of API Gateway's IAM refusals it is. */
export function explainForbidden(message: string, ctx: ExplainContext, skewSeconds?: number): Finding {
  const said = `403 ${message}`;
  if (/signature expired|not yet current|request time|too skewed/i.test(message)) {
    return fail(said, `SigV4 signatures hold for 5 minutes, and this machine's clock is ${describeSkew(skewSeconds)}`, syncClockFix());
  }
  if (/security token .* invalid|token .* expired|expiredtoken/i.test(message)) {
    return fail(said, 'the AWS credentials were refused: expired or not valid in this partition', ctx.kind === 'local'
      ? 'restart the local relay (npm start) so that .relay/local.json holds its current credentials'
      : 'renew them (aws sso login, or new access keys) and run again');
  }
  if (/signature .* does not match|signature does not match/i.test(message)) {
    return fail(said, 'the request signature does not match: the secret key is wrong, or the region or URL differs from what was signed',
      'check the credentials and pass --region when the URL does not name it');
  }
  if (/missing authentication token/i.test(message)) {
    return fail(said, `API Gateway knows no such route: ${ctx.url} is not this relay's ingest API`, 'use the stack output IngestUrl (or --stack, which reads it)');
  }
  return fail(said, `this identity${ctx.principal ? ` (${ctx.principal})` : ''} may not call the ingest routes`, ctx.kind === 'local'
    ? 'sign with the local relay\'s credentials from .relay/local.json (relay doctor does when it checks the local relay)'
    : `attach the caller policy (stack output CallerPolicyArn, or OperatorPolicyArn to run relay doctor):\n${attachCommand(ctx.principal, policyOf(ctx, StackOutput.CallerPolicyArn))}`);
}

/** An ingest answer other than 200 and 403, or none at all. */
export function explainIngestFailure(status: number | undefined, text: string, network: string | undefined, ctx: ExplainContext): Finding {
  if (status === undefined) {
    return fail(`no answer from ${hostOf(ctx.url)}: ${network}`, ctx.kind === 'local' ? 'the local relay is not listening there' : 'the URL is wrong, or this machine cannot reach AWS',
      ctx.kind === 'local' ? 'start it with npm start (in the folder of .relay/local.json)' : 'check the URL (stack output IngestUrl) and the network, proxy and firewall');
  }
  const said = `${status} ${summarise(text)}`;
  if (status === 500) {
    return fail(said, 'API Gateway could not start the relay workflow: it could not assume the route\'s invoke role, or that role may not start the state machine',
      'deploy this version of the relay (its invoke roles trust API Gateway without aws:SourceAccount/aws:SourceArn, which API Gateway does not send); if it persists, the ingest access log names it in integrationErrorMessage',
      REGISTER.IngestTrust);
  }
  if (status === 429) return fail(said, 'the ingest stage throttle is exhausted', 'wait and run again, or raise throttling.ingest in the config');
  if (status === 404) return fail(said, `${ctx.url} has no ingest route here`, 'use the stack output IngestUrl (or --stack, which reads it)');
  if (status === 413) return fail(said, 'the request was too large', 'this is a bug in relay doctor: report it');
  if (status >= 500) return fail(said, 'API Gateway or Step Functions did not answer in time, or is unavailable', 'run again in a minute; if it persists, look at the Ingest5xx alarm and the ingest access log');
  return fail(said, 'the ingest refused the request', 'check the URL (stack output IngestUrl)');
}

/** A `Relay.*` code the relay answered a signed probe with. */
export function explainRejection(code: string | undefined, cause: string | undefined, ctx: ExplainContext, skewSeconds?: number): Finding {
  const said = `${code ?? 'FAILED'}${cause ? `: ${summarise(cause)}` : ''}`;
  const keyLine = ctx.publicKeyHex ? `'${ctx.kid}': '${ctx.publicKeyHex}',` : undefined;
  // The local relay reads the config when it starts; a deployed one when it is deployed.
  const apply = ctx.kind === 'local' ? 'restart the local relay (Ctrl-C, npm start)' : 'deploy (npx cdk deploy)';
  switch (code) {
    case RelayErrorCode.UnknownKey:
      return fail(said, `the relay does not accept key id "${ctx.kid}"`, keyLine
        ? `add this line to forwarderKeys in your relay config, then ${apply}:\n  ${keyLine}`
        : `add the key's public half to forwarderKeys (relay keygen prints the line), then ${apply}`);
    case RelayErrorCode.InvalidSignature:
      return fail(said, `the relay holds another public key under "${ctx.kid}" than ${ctx.keyFile ?? 'the key file'}'s`, keyLine
        ? `set forwarderKeys to this key file's public key and ${apply}, or point --key-file at the key that matches:\n  ${keyLine}`
        : 'point --key-file at the private key whose public half is in forwarderKeys');
    case RelayErrorCode.Stale:
      return fail(said, `this machine's clock is ${describeSkew(skewSeconds)}`, syncClockFix());
    case RelayErrorCode.Malformed:
      return fail(said, 'the relay refused the probe\'s payload: it is older than this relay doctor', ctx.kind === 'local'
        ? 'restart the local relay from this checkout (Ctrl-C, npm start)'
        : 'deploy this version (npx cdk deploy), or use the relay doctor of the version deployed');
    case RelayErrorCode.Internal:
      return fail(said, 'the relay workflow failed on its own (an AWS fault or a bug)', ctx.kind === 'local' ? 'the local relay\'s terminal has the line' : 'the relay workflow\'s log group (/aws/vendedlogs/states/<stack>-relay) names the state and error');
    default:
      return fail(said, 'the relay refused the probe', 'see the code in README "The envelope"');
  }
}

/** "412 s ahead of the relay's", from the server's Date header. */
export function describeSkew(skewSeconds: number | undefined): string {
  if (skewSeconds === undefined) return 'off (the relay sent no Date to measure it against)';
  if (Math.abs(skewSeconds) <= 1) return 'within a second of the relay\'s';
  return `${Math.abs(skewSeconds)} s ${skewSeconds > 0 ? 'ahead of' : 'behind'} the relay's (its Date header)`;
}

function syncClockFix(): string {
  return 'set the clock from NTP (Linux: timedatectl set-ntp true; check with timedatectl status) and run again';
}

/** A dead letter's reason in words: what Discord (or the proxy) said, and what to do. */
export function explainDeadLetter(error: string, reason: string, channel: string | undefined, ctx: ExplainContext): { cause: string; fix: string; register?: string } {
  const where = channel ? `#${channel}` : 'the channel';
  const redrive = ctx.kind === 'local'
    ? `then move the dead letters back: curl -X POST ${ctx.url}${LocalRelayPath.Redrive}`
    : `then redrive them: aws sqs start-message-move-task --source-arn <DeadLetterQueue ARN> --destination-arn ${ctx.outputs[StackOutput.LaneQueueArn] ?? `<${StackOutput.LaneQueueArn}>`}`;
  if (reason.startsWith(QUEUE_FAILURE_REASON)) {
    return {
      cause: `the relay workflow kept this event here because its claim or its send to the lane failed after the retries (${error}), not because Discord refused it`,
      fix: `once DynamoDB and SQS answer again (the relay workflow's log names the failure), ${redrive.replace(/^then /, '')}; a copy the forwarder sent meanwhile is not posted twice`,
    };
  }
  if (error === RelayErrorCode.Malformed) {
    return {
      cause: `the lane held an event the delivery workflow cannot read (${summarise(reason)}): one written to the lane by hand, or queued for a channel whose kind has changed since`,
      fix: 'delete it from the dead-letter queue, or send the event again through the relay (a redrive puts it back exactly as it is)',
    };
  }
  const status = /^ApiGateway\.(\d{3})$/.exec(error)?.[1];
  const slack = status && explainSlackRefusal(status, reason, where, ctx, redrive);
  if (slack) return slack;
  if (status === '404' && /10015|unknown webhook/i.test(reason)) {
    return {
      cause: `the webhook of ${where} was deleted (Discord 10015 Unknown Webhook)`,
      fix: ctx.kind === 'local'
        ? `restore it (curl -X PUT ${ctx.url}${sinkWebhookPath(channel ?? '<channel>')}) or give a real one (${webhookVariableFor(channel ?? '<channel>')}), ${redrive}`
        : `create a new webhook in Discord (channel settings → Integrations → Webhooks), put its URL in the channel's secret (aws secretsmanager put-secret-value), npx cdk deploy, ${redrive}`,
      register: REGISTER.DiscordCodes,
    };
  }
  if (status === '404' && /10008|unknown message/i.test(reason)) {
    return { cause: `the message to edit in ${where} is gone (Discord 10008 Unknown Message)`, fix: 'nothing: a deleted card is posted anew by the next event', register: REGISTER.DiscordCodes };
  }
  if (status === '404') return { cause: `Discord knows no webhook at ${where}'s URL`, fix: `check the URL in the channel's secret (it must be https://discord.com/api/webhooks/<id>/<token>), ${redrive}`, register: REGISTER.DiscordCodes };
  if (status === '401') {
    return {
      cause: 'Discord refused the request as unauthorized: most likely API Gateway forwarded the SigV4 Authorization header to Discord, which reads an Authorization on webhook calls and cannot parse this one',
      fix: 'report it with this output (it settles register rows "proxy headers" and "Discord Authorization"); until a fix, posts through the proxy cannot succeed',
      register: REGISTER.DiscordAuthorization,
    };
  }
  if (status === '403' && /not authorized|forbidden|explicit deny/i.test(reason) && !/"code"\s*:/.test(reason)) {
    return { cause: `the delivery workflow's role may not call the webhook proxy's route for ${where} (an IAM refusal by API Gateway, not Discord)`, fix: 'deploy this version (its grant names each channel\'s route); an SCP or permission boundary may deny execute-api:Invoke', register: REGISTER.InvokeArn };
  }
  if (status === '403') return { cause: `Discord forbade the post to ${where} (missing access, or Cloudflare blocking this address)`, fix: `check the webhook still belongs to ${where}; after many refused requests wait an hour (Discord's invalid-request limit), ${redrive}`, register: REGISTER.DiscordRateLimits };
  if (status === '400') return { cause: `Discord refused the message as invalid: ${summarise(reason)}`, fix: `fix the route's template or the event (README "Configure"), ${redrive}` };
  if (status === '413') return { cause: 'Discord refused the message as too large', fix: `shorten the route's template, ${redrive}` };
  if (error === 'Relay.NoRoute') return { cause: `the webhook proxy has no route for ${where}`, fix: 'add the channel to channels in the config and deploy' };
  if (error === 'maxReceiveCount reached') return { cause: 'the delivery workflow failed on this batch on every try (5 receives)', fix: `look at the DeliveryExecutionsFailed alarm and the delivery workflow's log group, ${redrive}` };
  return { cause: `Discord (or the proxy) answered ${error}: ${summarise(reason)}`, fix: redrive.replace(/^then /, '') };
}

/** Slack's answers (a plain-text reason such as `no_service`) to a Slack channel's post, in words; undefined for anything else. */
function explainSlackRefusal(status: string, reason: string, where: string, ctx: ExplainContext, redrive: string): { cause: string; fix: string; register: string } | undefined {
  const code = /(?:^|[\s:])(no_service|channel_not_found|channel_is_archived|action_prohibited|invalid_payload|no_text|invalid_token|no_team)$/.exec(reason.trim())?.[1];
  if (!code) return undefined;
  const register = REGISTER.SlackAnswers;
  const newWebhook = ctx.kind === 'local'
    ? `restore it (curl -X PUT ${ctx.url}${sinkWebhookPath(where.replace(/^#/, ''))}) or give a real one, ${redrive}`
    : `add a new incoming webhook for the channel in your Slack app (api.slack.com/apps → Incoming Webhooks), put its URL in the channel's secret (aws secretsmanager put-secret-value), npx cdk deploy, ${redrive}`;
  switch (code) {
    case 'no_service': case 'invalid_token': case 'no_team':
      return { cause: `Slack knows no incoming webhook at ${where}'s URL (${status} ${code}: it was removed, or its app uninstalled)`, fix: newWebhook, register };
    case 'channel_not_found':
      return { cause: `the Slack channel of ${where}'s webhook is gone (${status} channel_not_found)`, fix: newWebhook, register };
    case 'channel_is_archived':
      return { cause: `the Slack channel of ${where}'s webhook is archived (${status} channel_is_archived)`, fix: `unarchive it in Slack, or give ${where} a webhook of another channel, ${redrive}`, register };
    case 'action_prohibited':
      return { cause: `a Slack admin restricts posting to ${where}'s channel (${status} action_prohibited)`, fix: `ask a workspace admin to allow the app to post there, ${redrive}`, register };
    default:
      return { cause: `Slack refused the message as invalid (${status} ${code})`, fix: `fix the route's template (README "Slack channels"), ${redrive}`, register };
  }
}

/** An AWS SDK error on a read the doctor makes: access, credentials, or missing resources. */
export function explainAwsError(error: unknown, action: string, ctx: ExplainContext): Finding {
  const e = error as Error & { name: string; Code?: string };
  const name = e.name ?? e.Code ?? 'Error';
  const said = `${action}: ${name}${e.message ? `: ${summarise(e.message)}` : ''}`;
  if (/AccessDenied|UnauthorizedOperation|AuthorizationError|Forbidden/i.test(name)) {
    return fail(said, `this identity may not call ${action}`, `attach the operator policy:\n${attachCommand(ctx.principal, policyOf(ctx, StackOutput.OperatorPolicyArn))}`);
  }
  if (/ExpiredToken|InvalidClientTokenId|UnrecognizedClient|CredentialsProviderError|TokenRefreshRequired/i.test(name)) {
    return fail(said, 'the AWS credentials were refused or are missing', 'renew them (aws sso login, aws configure, or AWS_PROFILE) and run again');
  }
  if (/region is missing/i.test(e.message ?? '')) return fail(said, 'no AWS region is set', 'pass --region <region>, or set AWS_REGION (or a region in your AWS profile)');
  if (/region not accepted|invalid region|not a valid hostname component/i.test(e.message ?? '')) {
    return fail(said, 'the AWS region is not one AWS knows', 'pass --region with a region such as eu-west-1, or fix AWS_REGION (or the region in your AWS profile)');
  }
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|getaddrinfo/i.test(`${name} ${e.message}`)) return fail(said, 'this machine cannot reach AWS', 'check the network, proxy (HTTPS_PROXY) and firewall');
  if (/Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalFailure|InternalError/i.test(name)) {
    return warn(said, `AWS was busy or failing on ${action}`, 'run again in a minute; if it persists, check the AWS Health Dashboard for this region');
  }
  // An error nobody explained is not a pass in disguise: the check could not be made.
  return fail(said, `${action} failed, so this check could not be made`, 'run again; if it persists, report it with this output');
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** One line, at most 200 characters, of a text that may be JSON with a `message`. */
export function summarise(text: string): string {
  let t = text;
  try {
    const o = JSON.parse(text) as { message?: unknown; Message?: unknown };
    const m = o.message ?? o.Message;
    if (typeof m === 'string') t = m;
  } catch {
    // not JSON
  }
  t = t.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 197)}…` : t || '(empty)';
}
