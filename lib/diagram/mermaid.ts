/**
 * A Mermaid flowchart of a synthesized stack, drawn from the template alone: one node per
 * top-level construct (its resources summarised by type), one edge per reference between two of
 * them, labelled with what the IAM grants along it allow. README's diagram is this output
 * (`npm run diagram`), and a test fails when the committed copy no longer matches the app.
 */

interface Resource { readonly Type: string; readonly Properties?: unknown; readonly Metadata?: Record<string, unknown> }
export interface DiagramTemplate { readonly Resources: Readonly<Record<string, Resource>> }

/** What a node says about its resources; types not listed (IAM, logs, stages, routes…) are plumbing. */
const SHOWN_TYPES: Readonly<Record<string, string>> = {
  'AWS::ApiGatewayV2::Api': 'HTTP API',
  'AWS::StepFunctions::StateMachine': 'state machine',
  'AWS::Lambda::Function': 'Lambda',
  'AWS::DynamoDB::Table': 'DynamoDB table',
  'AWS::SQS::Queue': 'SQS queue',
  'AWS::Pipes::Pipe': 'EventBridge Pipe',
  'AWS::CloudWatch::Alarm': 'alarm',
  'AWS::SNS::Topic': 'SNS topic',
  'AWS::Events::Rule': 'EventBridge rule',
  'AWS::CloudWatch::Dashboard': 'dashboard',
  'AWS::IAM::OIDCProvider': 'OIDC provider',
};

/** IAM action → the verb an edge shows. */
const VERBS: ReadonlyArray<[RegExp, string]> = [
  [/^lambda:InvokeFunction$/, 'invoke'],
  [/^states:Start(Sync)?Execution$/, 'start'],
  [/^dynamodb:(GetItem|Query|Scan|BatchGetItem)$/, 'read'],
  [/^dynamodb:(PutItem|UpdateItem|DeleteItem)$/, 'write'],
  [/^sqs:SendMessage$/, 'send'],
  [/^sqs:(ReceiveMessage|DeleteMessage)$/, 'receive'],
  [/^sqs:GetQueueAttributes$/, 'read depth'],
  [/^execute-api:Invoke$/, 'POST (SigV4)'],
];

/** Top-level construct of a resource: the first path segment under the stack. */
function groupOf(resource: Resource, logicalId: string): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path.split('/')[1] : logicalId;
}

/** Logical ids a value references (Ref, Fn::GetAtt), at any depth. */
function references(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) out.add(v);
      else if (key === 'Fn::GetAtt' && Array.isArray(v)) out.add(String(v[0]));
      else references(v, out);
    }
  }
  return out;
}

const nodeId = (group: string) => group.replace(/[^A-Za-z0-9]/g, '');

export function renderMermaid(template: DiagramTemplate): string {
  const entries = Object.entries(template.Resources).filter(([, r]) => r.Type !== 'AWS::CDK::Metadata');
  const raw = new Map(entries.map(([id, r]) => [id, groupOf(r, id)]));
  const names = new Set(raw.values());
  // `VerifyFunctionRole`, `VerifyFunctionLogGroup` are the function's own.
  const groupFor = (id: string) => {
    const g = raw.get(id)!;
    const base = g.replace(/(Role|LogGroup)$/, '');
    return base !== g && names.has(base) ? base : g;
  };

  const kinds = new Map<string, Map<string, number>>();
  for (const [id, r] of entries) {
    const label = SHOWN_TYPES[r.Type];
    if (!label) continue;
    const counts = kinds.get(groupFor(id)) ?? new Map<string, number>();
    counts.set(label, (counts.get(label) ?? 0) + 1);
    kinds.set(groupFor(id), counts);
  }

  const edges = new Map<string, Set<string>>();
  const edge = (from: string, to: string, verb?: string) => {
    if (from === to || !kinds.has(from) || !kinds.has(to)) return;
    const verbs = edges.get(`${from}>${to}`) ?? new Set<string>();
    if (verb) verbs.add(verb);
    edges.set(`${from}>${to}`, verbs);
  };
  for (const [id, r] of entries) {
    const from = groupFor(id);
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      for (const s of statementsOf(r)) {
        const verbs = actionsOf(s).flatMap((a) => VERBS.filter(([re]) => re.test(a)).map(([, v]) => v));
        for (const target of references(s.Resource)) for (const verb of verbs.length ? verbs : [undefined]) edge(from, groupFor(target), verb);
      }
    } else {
      for (const target of references(r.Properties)) if (raw.has(target)) edge(from, groupFor(target));
    }
  }

  const lines = ['flowchart LR'];
  if (entries.some(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy')) lines.push('  callers(["Signed callers<br/>relay forward, relay send"])');
  for (const [group, counts] of kinds) {
    const summary = [...counts].map(([label, n]) => (n === 1 ? label : `${n} ${label}s`)).join(' · ');
    lines.push(`  ${nodeId(group)}["<b>${group}</b><br/>${summary}"]`);
  }
  // A Slack channel's integration posts to the secret's URL as is; Discord's add ?wait=true or /messages/{messageId}.
  const proxyKind = (r: Resource): 'discord' | 'slack' | undefined => {
    const p = r.Properties as { IntegrationType?: string; IntegrationUri?: unknown } | undefined;
    if (p?.IntegrationType !== 'HTTP_PROXY') return undefined;
    return /\}\}$/.test(String(p.IntegrationUri ?? '')) ? 'slack' : 'discord';
  };
  if (entries.some(([, r]) => proxyKind(r) === 'discord')) lines.push('  discord(["Discord webhooks"])');
  if (entries.some(([, r]) => proxyKind(r) === 'slack')) lines.push('  slack(["Slack incoming webhooks"])');
  // A route without IAM is the Discord app's interactions endpoint: Discord signs those requests itself.
  const isOpenRoute = (r: Resource) => r.Type === 'AWS::ApiGatewayV2::Route' && (r.Properties as { AuthorizationType?: string } | undefined)?.AuthorizationType === 'NONE';
  if (entries.some(([, r]) => isOpenRoute(r))) lines.push('  slash(["Discord<br/>/relay commands"])');
  for (const [id, r] of entries) {
    // A managed policy of a shown construct is for its callers (the ingest's); others (the operator policy) are not drawn.
    const external = r.Type === 'AWS::IAM::ManagedPolicy' ? (kinds.has(groupFor(id)) ? `  callers -->|"POST /events (SigV4)"| ${nodeId(groupFor(id))}` : undefined)
      : proxyKind(r) === 'discord' ? `  ${nodeId(groupFor(id))} -->|"HTTP_PROXY ?wait=true"| discord`
        : proxyKind(r) === 'slack' ? `  ${nodeId(groupFor(id))} -->|"HTTP_PROXY"| slack`
        : isOpenRoute(r) ? `  slash -->|"POST /interactions (Ed25519)"| ${nodeId(groupFor(id))}` : undefined;
    if (external && !lines.includes(external)) lines.push(external);
  }
  for (const key of [...edges.keys()].sort()) {
    const [from, to] = key.split('>');
    const verbs = [...edges.get(key)!].sort().join(', ');
    // Monitoring only watches: dotted.
    const arrow = [...(kinds.get(from)?.keys() ?? [])].every((k) => ['alarm', 'SNS topic', 'dashboard', 'EventBridge rule'].includes(k)) ? '-.->' : '-->';
    lines.push(`  ${nodeId(from)} ${arrow}${verbs ? `|"${verbs}"|` : ''} ${nodeId(to)}`);
  }
  return lines.join('\n') + '\n';
}

type Statement = { Action?: unknown; Resource?: unknown };
function statementsOf(r: Resource): Statement[] {
  const doc = (r.Properties as { PolicyDocument?: { Statement?: Statement[] } } | undefined)?.PolicyDocument;
  return doc?.Statement ?? [];
}
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]).filter((a): a is string => typeof a === 'string');
