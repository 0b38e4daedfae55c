/**
 * The house Lambda setup: every function of the relay is built here, so runtime, architecture,
 * logging and bundling are decided once.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
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

/** `logGroup` (inherited) is the function's own log group, created with the retention given. */
export class RelayFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
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
      bundling: {
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
