/**
 * The house Lambda setup: every function of the relay is built here, so runtime, architecture,
 * logging and bundling are decided once.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, Node } from 'constructs';
import { findUp } from '../project-files';

export const RELAY_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface RelayFunctionProps {
  /** Path of the handler's TypeScript entry file. */
  readonly entry: string;
  readonly description: string;
  /** @default - none */
  readonly environment?: Record<string, string>;
  /** @default 256 (faster cold starts than 128 for a negligible cost at relay volumes) */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * `logGroup` (inherited) is the function's own log group, created with the retention given.
 * `role` may write to that log group, and has only what a construct grants it besides: no
 * AWSLambdaBasicExecutionRole, whose logs permissions cover every log group of the account.
 */
export class RelayFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      description: `Runs ${id}: its own log group, and only what the function is granted besides`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    // CreateLogStream and PutLogEvents on this group's streams (the group itself exists).
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: props.entry,
      handler: 'handler',
      // Found from this file, not the current directory, so the app synthesizes from anywhere.
      depsLockFilePath: findUp('package-lock.json', __dirname),
      description: props.description,
      runtime: RELAY_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      // Stack traces through the bundle's source map.
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // No START/END/REPORT record per invocation (~0.5 KB each: $22/month of log ingestion at
      // 100M events, `npm run cost`); duration and memory are in the function's metrics.
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      bundling: {
        // esbuild's size table on every synth says nothing an operator acts on; warnings still show.
        logLevel: LogLevel.WARNING,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        format: OutputFormat.CJS,
        // Handlers use Node built-ins only; nothing is left for the runtime to provide.
        externalModules: [],
      },
    });
  }
}

/**
 * A function as the state machines call it, by its unqualified ARN. A task given a `Function`
 * (or an imported one) grants `lambda:InvokeFunction` on the ARN and on `<ARN>:*`, every version
 * and alias, which nothing here calls; given this view, it grants the ARN alone.
 */
class UnqualifiedFunction extends lambda.FunctionBase {
  public readonly functionName: string;
  public readonly functionArn: string;
  public readonly role?: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly permissionsNode: Node;
  public readonly architecture: lambda.Architecture;
  public readonly tenancyConfig = undefined;
  protected readonly canCreatePermissions = false;

  constructor(scope: Construct, id: string, fn: lambda.IFunction) {
    super(scope, id);
    this.functionName = fn.functionName;
    this.functionArn = fn.functionArn;
    this.role = fn.role;
    this.grantPrincipal = fn.grantPrincipal;
    this.permissionsNode = fn.permissionsNode;
    this.architecture = fn.architecture;
  }

  public get resourceArnsForGrantInvoke(): string[] {
    return [this.functionArn];
  }
}

/** `fn` seen by unqualified ARN (one view per function and scope). */
export function unqualified(scope: Construct, fn: lambda.IFunction): lambda.IFunction {
  const id = `${fn.node.id}Unqualified`;
  return (scope.node.tryFindChild(id) as lambda.IFunction | undefined) ?? new UnqualifiedFunction(scope, id, fn);
}
