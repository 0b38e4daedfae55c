/**
 * Reads what a synthesized template says — the state machine definition, a function's
 * environment — with CloudFormation intrinsics resolved to stand-in values, so that tests and
 * local mode run exactly what `cdk deploy` would deploy instead of a hand-copied look-alike.
 */
import { ForwarderHeartbeatMetric, HeartbeatAttribute } from '../contracts/metrics';
import { CHANNEL_KIND_METADATA, type ChannelKind } from '../contracts/routes';

export interface CfnTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export interface StandIns {
  /** @default 'aws' */
  readonly partition?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
}

/** What a `Ref` or `Fn::GetAtt … Arn` stands for locally, derived from the resource's type and logical id. */
function standInFor(template: CfnTemplate, logicalId: string, s: Required<StandIns>, attribute?: string): string {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`template has no resource ${logicalId}`);
  const arn = (service: string, resource: string) => `arn:${s.partition}:${service}:${s.region}:${s.accountId}:${resource}`;
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return attribute === 'Arn' ? arn('lambda', `function:${logicalId}`) : logicalId;
    case 'AWS::StepFunctions::StateMachine':
      return attribute === 'Name' ? logicalId : arn('states', `stateMachine:${logicalId}`);
    case 'AWS::ApiGatewayV2::Api':
      // API ids are 10 lowercase alphanumerics.
      return attribute === 'ApiEndpoint' ? `https://${apiIdFor(logicalId)}.execute-api.${s.region}.amazonaws.com` : apiIdFor(logicalId);
    case 'AWS::IAM::Role':
      return attribute === 'Arn' ? `arn:${s.partition}:iam::${s.accountId}:role/${logicalId}` : logicalId;
    case 'AWS::Logs::LogGroup':
      return attribute === 'Arn' ? arn('logs', `log-group:${logicalId}:*`) : logicalId;
    case 'AWS::DynamoDB::Table':
      return attribute === 'Arn' ? arn('dynamodb', `table/${logicalId}`) : logicalId;
    case 'AWS::SQS::Queue': {
      const name = queueNameFor(template, logicalId);
      if (attribute === 'Arn') return arn('sqs', name);
      if (attribute === 'QueueName') return name;
      return `https://sqs.${s.region}.amazonaws.com/${s.accountId}/${name}`;
    }
    default:
      return attribute ? `${logicalId}.${attribute}` : logicalId;
  }
}

/** A queue's local name: its logical id, with `.fifo` for a FIFO queue (as SQS requires). */
export function queueNameFor(template: CfnTemplate, logicalId: string): string {
  return template.Resources[logicalId]?.Properties?.FifoQueue ? `${logicalId}.fifo` : logicalId;
}

/** A stable, valid-looking API id for a logical id. */
export function apiIdFor(logicalId: string): string {
  return logicalId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 10).padEnd(10, '0');
}

/** Resolves `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select` and `Fn::Split` in a template value to stand-in values. */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, standIns: StandIns = {}): unknown {
  const s: Required<StandIns> = { partition: 'aws', region: 'us-east-1', accountId: '123456789012', ...standIns };
  const pseudo: Record<string, string> = {
    'AWS::Partition': s.partition,
    'AWS::Region': s.region,
    'AWS::AccountId': s.accountId,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'LocalStack',
  };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = o[k];
      if (k === 'Ref') return pseudo[arg as string] ?? standInFor(template, arg as string, s);
      if (k === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split('.');
        return standInFor(template, id, s, attribute);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(sep);
      }
      if (k === 'Fn::Select') {
        const [index, list] = arg as [number, unknown];
        return (resolve(list) as unknown[])[Number(index)];
      }
      if (k === 'Fn::Split') {
        const [sep, text] = arg as [string, unknown];
        return String(resolve(text)).split(sep);
      }
      if (k.startsWith('Fn::')) throw new Error(`cannot resolve ${k} locally`);
    }
    return Object.fromEntries(keys.map((k) => [k, resolve(o[k])]));
  };
  return resolve(value);
}

/** `[logicalId, Properties]` of each resource of `type`. */
function resourcesOfType(template: CfnTemplate, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

function onlyResource(template: CfnTemplate, type: string, logicalIdPrefix?: string): [string, Record<string, unknown>] {
  const found = resourcesOfType(template, type).filter(([id]) => logicalIdPrefix === undefined || id.startsWith(logicalIdPrefix));
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type}${logicalIdPrefix ? ` named ${logicalIdPrefix}…` : ''} in the template, found ${found.length}`);
  }
  return found[0];
}

/** Logical id prefixes of the two state machines. */
export const StateMachineId = { Relay: 'Relay', Delivery: 'Delivery' } as const;

/** A state machine's ASL definition (the relay's unless told), parsed, with intrinsics resolved. */
export function stateMachineDefinition(template: CfnTemplate, standIns?: StandIns, logicalIdPrefix: string = StateMachineId.Relay): Record<string, unknown> {
  const [, props] = onlyResource(template, 'AWS::StepFunctions::StateMachine', logicalIdPrefix);
  const text = resolveIntrinsics(props.DefinitionString, template, standIns);
  if (typeof text !== 'string') throw new Error('state machine has no DefinitionString');
  return JSON.parse(text) as Record<string, unknown>;
}

/** Environment variables a function is deployed with, intrinsics resolved. */
export function functionEnvironment(template: CfnTemplate, logicalIdPrefix: string, standIns?: StandIns): Record<string, string> {
  const [, props] = onlyResource(template, 'AWS::Lambda::Function', logicalIdPrefix);
  const env = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  return resolveIntrinsics(env, template, standIns) as Record<string, string>;
}

export interface ProxyRoute {
  readonly channel: string;
  readonly method: string;
  readonly path: string;
  /** The Secrets Manager secret the deployed integration reads the webhook URL from. */
  readonly secretName: string;
  /** What the integration URI appends to the URL, e.g. `?wait=true` or `/messages/{messageId}` (path variables filled from the route's). */
  readonly urlSuffix: string;
  /** `overwrite:header.<name>` parameter mappings: header name → value. */
  readonly headerOverwrites: Readonly<Record<string, string>>;
  /** `overwrite:querystring.<name>` parameter mappings: query parameter → value. */
  readonly queryOverwrites: Readonly<Record<string, string>>;
  /** The channel's webhook kind, from the `POST` route's metadata (an edit route is Discord's). */
  readonly kind: ChannelKind;
}

export interface IngestRouteSpec {
  readonly method: string;
  readonly path: string;
  /** `StepFunctions-StartExecution` or `StepFunctions-StartSyncExecution`. */
  readonly subtype: string;
}

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

/** Each route with the integration it targets (`integrations/<Ref>`) and the route's template metadata. */
function routesWithIntegrations(template: CfnTemplate): Array<{ method: string; path: string; integration: Record<string, unknown>; metadata: Record<string, unknown> }> {
  const out: Array<{ method: string; path: string; integration: Record<string, unknown>; metadata: Record<string, unknown> }> = [];
  for (const r of Object.values(template.Resources) as Resource[]) {
    if (r.Type !== 'AWS::ApiGatewayV2::Route') continue;
    const [method, path] = String(r.Properties?.RouteKey ?? '').split(' ');
    const target = JSON.stringify(r.Properties?.Target ?? '');
    const ref = /"Ref":"([^"]+)"/.exec(target)?.[1];
    const integration = ref ? (template.Resources[ref] as Resource | undefined) : undefined;
    if (method && path && integration?.Type === 'AWS::ApiGatewayV2::Integration') out.push({ method, path, integration: integration.Properties ?? {}, metadata: r.Metadata ?? {} });
  }
  return out;
}

const SECRET_REFERENCE = /^\{\{resolve:secretsmanager:([^:}]+(?::[^:}]+)*?):SecretString:[^}]*\}\}(.*)$/;

/** The webhook proxy's channel routes, as the template defines them. */
export function webhookProxyRoutes(template: CfnTemplate): ProxyRoute[] {
  return routesWithIntegrations(template)
    .filter(({ integration }) => integration.IntegrationType === 'HTTP_PROXY')
    .map(({ method, path, integration, metadata }) => {
      const channel = /^\/channels\/([^/]+)(?:\/messages\/\{[A-Za-z]+\})?$/.exec(path)?.[1];
      const uri = SECRET_REFERENCE.exec(String(integration.IntegrationUri ?? ''));
      if (!channel || !uri) throw new Error(`unexpected webhook proxy route ${method} ${path}`);
      const params = resolveIntrinsics(integration.RequestParameters ?? {}, template) as Record<string, string>;
      const overwrites = (prefix: string) => Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      const kind: ChannelKind = metadata[CHANNEL_KIND_METADATA] === 'slack' ? 'slack' : 'discord';
      return { channel, method, path, secretName: uri[1], urlSuffix: uri[2], headerOverwrites: overwrites('overwrite:header.'), queryOverwrites: overwrites('overwrite:querystring.'), kind };
    });
}

/** Routes served by a Lambda proxy integration (the interactions endpoint), with the function's logical id. */
export function lambdaProxyRoutes(template: CfnTemplate): Array<{ method: string; path: string; functionLogicalId: string }> {
  return routesWithIntegrations(template)
    .filter(({ integration }) => integration.IntegrationType === 'AWS_PROXY' && !integration.IntegrationSubtype)
    .map(({ method, path, integration }) => {
      const fn = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(JSON.stringify(integration.IntegrationUri ?? ''))?.[1];
      if (!fn) throw new Error(`route ${method} ${path} has a Lambda proxy integration without a function of this template`);
      return { method, path, functionLogicalId: fn };
    });
}

/** The ingest API's Step Functions routes. */
export function ingestRoutes(template: CfnTemplate): IngestRouteSpec[] {
  return routesWithIntegrations(template)
    .filter(({ integration }) => String(integration.IntegrationSubtype ?? '').startsWith('StepFunctions-'))
    .map(({ method, path, integration }) => {
      const mapping = integration.RequestParameters as Record<string, unknown> | undefined;
      if (mapping?.Input !== '$request.body') throw new Error(`ingest route ${method} ${path} does not map Input from $request.body`);
      return { method, path, subtype: String(integration.IntegrationSubtype) };
    });
}

export interface TableSpec {
  readonly logicalId: string;
  readonly keySchema: ReadonlyArray<{ AttributeName: string; KeyType: string }>;
  readonly attributeDefinitions: ReadonlyArray<{ AttributeName: string; AttributeType: string }>;
  /** The TTL attribute, when TTL is enabled. */
  readonly ttlAttribute?: string;
}

/** The template's DynamoDB tables. */
export function tableSpecs(template: CfnTemplate): TableSpec[] {
  return resourcesOfType(template, 'AWS::DynamoDB::Table').map(([logicalId, p]) => {
    const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    return {
      logicalId,
      keySchema: p.KeySchema as TableSpec['keySchema'],
      attributeDefinitions: p.AttributeDefinitions as TableSpec['attributeDefinitions'],
      ttlAttribute: ttl?.Enabled ? ttl.AttributeName : undefined,
    };
  });
}

/** The dedupe table's logical id (the heartbeat table and, with the Discord app, the guild settings table are the others). */
export function dedupeTableId(template: CfnTemplate): string | undefined {
  return tableSpecs(template).find((t) => t.logicalId.startsWith('Dedupe'))?.logicalId;
}

/** The heartbeat table's logical id: the one keyed by `forwarder`. */
export function heartbeatTableId(template: CfnTemplate): string | undefined {
  return tableSpecs(template).find((t) => t.keySchema.some((k) => k.AttributeName === HeartbeatAttribute.Forwarder))?.logicalId;
}

export interface QueueSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  /** `DeduplicationScope` (SQS's default `queue`). */
  readonly deduplicationScope: 'queue' | 'messageGroup';
  /** Seconds (SQS's default 30). */
  readonly visibilityTimeout: number;
  /** Seconds (SQS's default 4 days). */
  readonly retentionPeriod: number;
  readonly redrive?: { readonly deadLetterLogicalId: string; readonly maxReceiveCount: number };
}

/** The template's SQS queues, with SQS's defaults where the template leaves a setting out. */
export function queueSpecs(template: CfnTemplate): QueueSpec[] {
  return resourcesOfType(template, 'AWS::SQS::Queue').map(([logicalId, p]) => {
    const redrive = p.RedrivePolicy as { deadLetterTargetArn?: unknown; maxReceiveCount?: number } | undefined;
    const target = JSON.stringify(redrive?.deadLetterTargetArn ?? '');
    const deadLetterLogicalId = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(target)?.[1];
    return {
      logicalId,
      name: queueNameFor(template, logicalId),
      fifo: p.FifoQueue === true,
      contentBasedDeduplication: p.ContentBasedDeduplication === true,
      deduplicationScope: p.DeduplicationScope === 'messageGroup' ? 'messageGroup' : 'queue',
      visibilityTimeout: Number(p.VisibilityTimeout ?? 30),
      retentionPeriod: Number(p.MessageRetentionPeriod ?? 345600),
      redrive: deadLetterLogicalId ? { deadLetterLogicalId, maxReceiveCount: Number(redrive?.maxReceiveCount) } : undefined,
    };
  });
}

export interface PipeSpec {
  /** Logical id of the source queue. */
  readonly sourceQueue: string;
  /** Logical id prefix-free: the target state machine's logical id. */
  readonly targetStateMachine: string;
  readonly batchSize: number;
  readonly invocationType: string;
}

/** The template's (only) SQS → Step Functions pipe. */
export function pipeSpec(template: CfnTemplate): PipeSpec {
  const [, p] = onlyResource(template, 'AWS::Pipes::Pipe');
  const ref = (value: unknown) => /"Fn::GetAtt":\["([^"]+)","Arn"\]|"Ref":"([^"]+)"/.exec(JSON.stringify(value ?? ''));
  const source = ref(p.Source);
  const target = ref(p.Target);
  const sqs = (p.SourceParameters as { SqsQueueParameters?: { BatchSize?: number } } | undefined)?.SqsQueueParameters;
  const sfnParams = (p.TargetParameters as { StepFunctionStateMachineParameters?: { InvocationType?: string } } | undefined)?.StepFunctionStateMachineParameters;
  if (!source || !target) throw new Error('the pipe does not name its source queue and target state machine');
  return {
    sourceQueue: source[1] ?? source[2],
    targetStateMachine: target[1] ?? target[2],
    batchSize: Number(sqs?.BatchSize ?? 10),
    invocationType: sfnParams?.InvocationType ?? 'FIRE_AND_FORGET',
  };
}

/**
 * How long without a forwarder heartbeat before the template's ForwarderHeartbeatMissing alarm
 * fires (its period × evaluation periods), in minutes; undefined when the template has no such alarm.
 */
export function heartbeatAlarmWindowMinutes(template: CfnTemplate): number | undefined {
  for (const r of Object.values(template.Resources)) {
    const p = r.Properties as { Namespace?: string; MetricName?: string; Period?: number; EvaluationPeriods?: number } | undefined;
    if (r.Type === 'AWS::CloudWatch::Alarm' && p?.Namespace === ForwarderHeartbeatMetric.Namespace && p.MetricName === ForwarderHeartbeatMetric.MetricName) {
      return ((p.Period ?? 300) * (p.EvaluationPeriods ?? 1)) / 60;
    }
  }
  return undefined;
}
