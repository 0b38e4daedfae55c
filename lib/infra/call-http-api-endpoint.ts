/**
 * `CallApiGatewayHttpApiEndpoint` with a correct `execute-api:Invoke` policy.
 *
 * aws-cdk-lib (2.276, aws/aws-cdk#17464, open) builds the policy resource as
 * `${stageName}/${method}${apiPath}` with no defaults, so an omitted stage yields
 * `…/undefined/POST…` and a JsonPath path is pasted literally (`…/POST$.route.path`): either way
 * the task is refused at run time. This subclass recomputes the ARN and the task policies.
 */
import { ArnFormat, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** The stage HTTP APIs are served from when none is named. */
export const DEFAULT_STAGE = '$default';

export interface ExecuteApiArnOptions {
  readonly apiId: string;
  /** @default '$default' */
  readonly stageName?: string;
  readonly method: string;
  /** A literal path (`/channels/general`), or a JsonPath / intrinsic resolved at run time. @default '/' */
  readonly apiPath?: string;
}

// `$`, `$.a`, `$[0]`, `$$.Execution.Id` — but not `$default`.
const JSON_PATH_TEXT = /^\$\$?(?:$|[.[])/;

/** True for values only known when the state runs: JsonPath text or tokens, and intrinsic functions. */
export function isRuntimePath(value: string): boolean {
  return JSON_PATH_TEXT.test(value) || value.startsWith('States.') || sfn.JsonPath.isEncodedJsonPath(value);
}

/**
 * CDK renders a plain string as a literal, so `apiPath: '$.route.path'` would call the path
 * "$.route.path". Make such text the JsonPath it was meant to be.
 */
function normalizeApiPath(apiPath: string | undefined): string | undefined {
  if (apiPath === undefined || Token.isUnresolved(apiPath)) return apiPath;
  if (JSON_PATH_TEXT.test(apiPath)) return sfn.JsonPath.stringAt(apiPath);
  if (apiPath.startsWith('States.')) {
    throw new Error(`apiPath "${apiPath}" is intrinsic-function text, which CDK would send literally; build it with sfn.JsonPath.format(...) instead`);
  }
  return apiPath;
}

/**
 * The literal start of a run-time path built with `sfn.JsonPath.format('/channels/x/messages/{}', …)`
 * (`/channels/x/messages/`), so that its grant is that prefix and a wildcard, not every path.
 * `/` for anything else: a bare JsonPath can be any path.
 */
export function runtimePathPrefix(path: string): string {
  const token = Token.isUnresolved(path) ? (Tokenization.reverseString(path).firstToken as { path?: unknown } | undefined) : undefined;
  const text = typeof token?.path === 'string' ? token.path : path;
  const literal = /^States\.Format\('((?:[^'\\]|\\.)*)'/.exec(text)?.[1];
  if (literal === undefined) return '/';
  // Literals escape ' { } \ with a backslash; the first unescaped {} is where the run-time part starts.
  const upToArgument = /^((?:[^{\\]|\\.|\{(?!\}))*)\{\}/.exec(literal)?.[1] ?? literal;
  const prefix = upToArgument.replace(/\\(.)/g, '$1');
  return prefix.startsWith('/') && !/[*?]/.test(prefix) ? prefix : '/';
}

/**
 * `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD><path>`. A path known
 * only at run time becomes its literal prefix and `*` (any path of that method under it on that
 * stage; `/*` when nothing is literal) rather than a broken ARN.
 */
export function executeApiArn(stack: Stack, options: ExecuteApiArnOptions): string {
  const stage = options.stageName === undefined ? DEFAULT_STAGE : isRuntimePath(options.stageName) ? '*' : options.stageName;
  const path = options.apiPath ?? '/';
  let resourcePath: string;
  if (isRuntimePath(path)) {
    resourcePath = `${runtimePathPrefix(path)}*`;
  } else if (!Token.isUnresolved(path) && !path.startsWith('/')) {
    throw new Error(`apiPath "${path}" must start with "/" (e.g. "/channels/general")`);
  } else {
    resourcePath = path;
  }
  return stack.formatArn({
    service: 'execute-api',
    resource: options.apiId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    resourceName: `${stage}/${options.method}${resourcePath}`,
  });
}

/**
 * Drop-in replacement for `tasks.CallApiGatewayHttpApiEndpoint` whose IAM policy names the stage
 * (`$default` when omitted) and the exact path, or a wildcard for paths resolved at run time.
 */
export class FixedCallApiGatewayHttpApiEndpoint extends tasks.CallApiGatewayHttpApiEndpoint {
  protected override readonly arnForExecuteApi: string;
  protected override readonly taskPolicies?: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: tasks.CallApiGatewayHttpApiEndpointProps) {
    // Step Functions wants `Stage` omitted for `$default`.
    const apiPath = normalizeApiPath(props.apiPath);
    super(scope, id, { ...props, apiPath, stageName: props.stageName === DEFAULT_STAGE ? undefined : props.stageName });
    this.arnForExecuteApi = executeApiArn(props.apiStack, { apiId: props.apiId, stageName: props.stageName, method: props.method, apiPath });
    this.taskPolicies = this.createPolicyStatements();
  }

  /** The `execute-api:Invoke` resource this task is allowed to call. */
  public get executeApiArn(): string {
    return this.arnForExecuteApi;
  }
}
