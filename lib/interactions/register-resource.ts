/**
 * The deploy's `/relay` registration: a Lambda-backed CloudFormation custom resource. Create and
 * Update overwrite the application's commands with the relay's; Delete overwrites them with none,
 * so the commands go with the stack. A refusal by Discord fails the deploy with Discord's
 * message; a failed cleanup on Delete is reported but never blocks the stack's deletion. The bot
 * token is read from Secrets Manager per invocation and is never logged or answered.
 */
import { send } from '../client/http';
import { COMMAND_SCOPES, type CommandScope } from '../contracts/interactions';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { redactSecrets } from '../contracts/redact';
import { awsJsonClient, credentialsFromEnv, Services } from './aws-json';
import { botTokenProblem, registerCommands, type RegistrationResult } from './register';

/** Overrides Discord's API base for the function (tests point it at a fake); unset: registerCommands' default, DISCORD_API_BASE. */
export const DISCORD_API_BASE_ENV = 'RELAY_DISCORD_API_BASE';

/** The resource's properties, as the DiscordCommands construct sets them (CloudFormation passes every value as a string). */
export const RegisterProperty = {
  ApplicationId: 'ApplicationId',
  Scope: 'Scope',
  GuildIds: 'GuildIds',
  SecretId: 'SecretId',
  /** Not read: a change of the command definitions changes it, so CloudFormation sends an Update. */
  CommandsHash: 'CommandsHash',
} as const;

export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Readonly<Record<string, unknown>>;
  readonly OldResourceProperties?: Readonly<Record<string, unknown>>;
}

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export interface RegisterResourceHandlerProps {
  /** The secret's plain text (the bot token). */
  readonly readSecret: (secretId: string) => Promise<string>;
  /** @default DISCORD_API_BASE */
  readonly apiBase?: string;
  /** @default - registerCommands' (DISCORD_USER_AGENT) */
  readonly userAgent?: string;
  /** @default a PUT of the response to event.ResponseURL */
  readonly respond?: (url: string, response: CustomResourceResponse) => Promise<void>;
  /** @default console.log (JSON lines) */
  readonly log?: (line: string) => void;
  /** Passed to registerCommands (tests make 429 waits instant). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Lambda's context, as far as the handler reads it. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/** CloudFormation's limit on the whole response body. */
export const MAX_RESPONSE_BYTES = 4096;
/** Time kept back from the function's timeout to answer CloudFormation (an unanswered resource stalls the stack for an hour). */
const ANSWER_MARGIN_MS = 5000;

interface Request {
  readonly applicationId: string;
  readonly scope: CommandScope;
  readonly guildIds: readonly string[];
  readonly secretId: string;
}

class PropertyError extends Error {}

/** The properties checked; a bad one is the construct's bug or a hand-edited template, named. */
function readProperties(properties: Readonly<Record<string, unknown>>): Request {
  const applicationId = properties[RegisterProperty.ApplicationId];
  const scope = properties[RegisterProperty.Scope];
  const guildIds = properties[RegisterProperty.GuildIds] ?? [];
  const secretId = properties[RegisterProperty.SecretId];
  if (typeof applicationId !== 'string' || !SNOWFLAKE_PATTERN.test(applicationId)) throw new PropertyError(`${RegisterProperty.ApplicationId} ${JSON.stringify(applicationId)} is not an application id (17-20 digits)`);
  if (!(COMMAND_SCOPES as readonly unknown[]).includes(scope)) throw new PropertyError(`${RegisterProperty.Scope} ${JSON.stringify(scope)} is not one of ${COMMAND_SCOPES.join(', ')}`);
  if (!Array.isArray(guildIds) || !guildIds.every((g) => typeof g === 'string' && SNOWFLAKE_PATTERN.test(g))) throw new PropertyError(`${RegisterProperty.GuildIds} must be a list of guild ids`);
  if (typeof secretId !== 'string' || !secretId) throw new PropertyError(`${RegisterProperty.SecretId} is missing: the name or ARN of the secret holding the bot token`);
  return { applicationId, scope: scope as CommandScope, guildIds: guildIds as string[], secretId };
}

export function physicalIdFor(request: Pick<Request, 'applicationId' | 'scope'>): string {
  return `discord-commands-${request.applicationId}-${request.scope}`;
}

const summary = (results: readonly RegistrationResult[]) => results.map((r) => `${r.target}: ${r.commands} command${r.commands === 1 ? '' : 's'}`).join(', ');

/** The response as JSON within {@link MAX_RESPONSE_BYTES}: the Reason is cut to fit. */
export function responseBody(response: CustomResourceResponse): string {
  const full = JSON.stringify(response);
  if (Buffer.byteLength(full) <= MAX_RESPONSE_BYTES) return full;
  const cut = (n: number) => JSON.stringify({ ...response, Reason: `${response.Reason.slice(0, n)}…` });
  // The longest prefix that fits (bytes, after JSON escaping): a binary search over its length.
  let [fits, tooLong] = [0, response.Reason.length];
  while (tooLong - fits > 1) {
    const mid = Math.floor((fits + tooLong) / 2);
    if (Buffer.byteLength(cut(mid)) <= MAX_RESPONSE_BYTES) fits = mid;
    else tooLong = mid;
  }
  return cut(fits);
}

/** PUT to a pre-signed S3 URL: S3 checks the signature over an empty content type. Retried twice: S3 can blip. */
export async function putResponse(url: string, response: CustomResourceResponse): Promise<void> {
  const body = responseBody(response);
  const target = new URL(url);
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const answer = await send(target, { method: 'PUT', headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) }, body, timeoutMs: 10_000 });
      if (answer.status >= 200 && answer.status < 300) return;
      last = new Error(`the response URL answered ${answer.status}`);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/** Resolves to `fallback` when `promise` has not settled `ms` from now (no deadline without `ms`). */
function deadline<T>(promise: Promise<T>, ms: number | undefined, fallback: () => T): Promise<T> {
  if (ms === undefined) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback()), Math.max(0, ms));
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

export function createRegisterResourceHandler(props: RegisterResourceHandlerProps): (event: CustomResourceEvent, context?: LambdaContext) => Promise<CustomResourceResponse> {
  const log = props.log ?? ((line: string) => console.log(line));
  const respond = props.respond ?? putResponse;

  /** Overwrites the commands of `request` with the relay's (or with none). */
  const overwrite = async (request: Request, remove: boolean): Promise<RegistrationResult[]> => {
    let botToken: string;
    try {
      botToken = (await props.readSecret(request.secretId)).trim();
    } catch (error) {
      const e = error as Error;
      throw new Error(`cannot read the secret ${request.secretId} (${e.name}: ${e.message}): it must exist in this stack's account and region, hold the bot token, and be readable by the function`);
    }
    const problem = botTokenProblem(botToken);
    if (problem) throw new Error(`the secret ${request.secretId} ${problem}`);
    return registerCommands({
      applicationId: request.applicationId, botToken, scope: request.scope, guildIds: request.guildIds, apiBase: props.apiBase, userAgent: props.userAgent,
      tokenSource: `the secret ${request.secretId}`, sleep: props.sleep, ...(remove ? { commands: [] } : {}),
    });
  };

  const run = async (event: CustomResourceEvent): Promise<Omit<CustomResourceResponse, 'StackId' | 'RequestId' | 'LogicalResourceId'>> => {
    if (event.RequestType === 'Delete') {
      const physical = event.PhysicalResourceId ?? event.LogicalResourceId;
      try {
        const request = readProperties(event.ResourceProperties);
        const results = await overwrite(request, true);
        return { Status: 'SUCCESS', Reason: `removed /relay (${summary(results)})`, PhysicalResourceId: physical };
      } catch (error) {
        // A failed cleanup must not keep the stack from being deleted: reported, not failed.
        return { Status: 'SUCCESS', Reason: `the stack is deleted but /relay may still be registered (${(error as Error).message}); remove it with the Developer Portal or \`relay commands register\``, PhysicalResourceId: physical };
      }
    }
    let request: Request;
    try {
      request = readProperties(event.ResourceProperties);
    } catch (error) {
      // Create: no id of ours yet; Update: the old one, so a refused update replaces nothing.
      return { Status: 'FAILED', Reason: (error as Error).message, PhysicalResourceId: event.PhysicalResourceId ?? `discord-commands-invalid-${event.RequestId}` };
    }
    const physical = physicalIdFor(request);
    try {
      const results = await overwrite(request, false);
      const Reason = `registered /relay (${summary(results)})${await dropLeftGuilds(event, request)}`;
      return { Status: 'SUCCESS', Reason, PhysicalResourceId: physical, Data: { Summary: summary(results) } };
    } catch (error) {
      return { Status: 'FAILED', Reason: (error as Error).message, PhysicalResourceId: event.RequestType === 'Update' ? event.PhysicalResourceId ?? physical : physical };
    }
  };

  /** On an Update within the guild scope, the guilds dropped from the list lose the commands (best effort: the registration itself succeeded). */
  const dropLeftGuilds = async (event: CustomResourceEvent, request: Request): Promise<string> => {
    if (event.RequestType !== 'Update' || request.scope !== 'guild' || !event.OldResourceProperties) return '';
    let old: Request;
    try {
      old = readProperties(event.OldResourceProperties);
    } catch {
      return '';
    }
    // A change of application or scope is a new physical id: CloudFormation deletes the old one itself.
    if (physicalIdFor(old) !== physicalIdFor(request)) return '';
    const left = old.guildIds.filter((g) => !request.guildIds.includes(g));
    if (left.length === 0) return '';
    try {
      await overwrite({ ...request, guildIds: left }, true);
      return `; removed it from ${left.map((g) => `guild ${g}`).join(', ')}`;
    } catch (error) {
      return `; could not remove it from ${left.join(', ')} (${(error as Error).message})`;
    }
  };

  return async (event, context) => {
    log(JSON.stringify({ level: 'INFO', message: 'request', requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, physicalResourceId: event.PhysicalResourceId }));
    const outcome = await deadline(run(event).catch((error: Error) => ({
      Status: event.RequestType === 'Delete' ? 'SUCCESS' as const : 'FAILED' as const,
      Reason: `unexpected error: ${error.message}`,
      PhysicalResourceId: event.PhysicalResourceId ?? `discord-commands-invalid-${event.RequestId}`,
    })), context && context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS, () => ({
      Status: event.RequestType === 'Delete' ? 'SUCCESS' as const : 'FAILED' as const,
      Reason: 'Discord did not answer before the function\'s timeout; deploy again',
      PhysicalResourceId: event.PhysicalResourceId ?? `discord-commands-invalid-${event.RequestId}`,
    }));
    const response: CustomResourceResponse = {
      ...outcome,
      // Nothing the handler reports may carry a token, whatever Discord or AWS echoed.
      Reason: redactSecrets(outcome.Reason),
      StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId,
    };
    log(JSON.stringify({ level: response.Status === 'SUCCESS' ? 'INFO' : 'ERROR', message: 'response', status: response.Status, reason: response.Reason.slice(0, 1000), physicalResourceId: response.PhysicalResourceId }));
    await respond(event.ResponseURL, response);
    return response;
  };
}

/** Lambda's handler: the secret through Secrets Manager's JSON API with the function's credentials. */
export function createLambdaRegisterHandler(env: NodeJS.ProcessEnv): (event: CustomResourceEvent, context?: LambdaContext) => Promise<CustomResourceResponse> {
  const region = env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  const secrets = awsJsonClient(Services.SecretsManager, region, () => credentialsFromEnv(env));
  return createRegisterResourceHandler({
    apiBase: env[DISCORD_API_BASE_ENV] || undefined,
    readSecret: async (secretId) => {
      const answer = await secrets('GetSecretValue', { SecretId: secretId }, 5000);
      if (typeof answer.SecretString !== 'string') throw new Error(`the secret ${secretId} has no text value: store the bot token as plain text`);
      return answer.SecretString;
    },
  });
}
