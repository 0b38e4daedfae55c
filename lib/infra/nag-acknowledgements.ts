/**
 * The cdk-nag (AwsSolutions) findings the relay keeps on purpose, each acknowledged on the one
 * resource it concerns with the reason. Everything else the rule pack reports is fixed, not
 * acknowledged (docs/architecture.md §5 lists them).
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct, IConstruct } from 'constructs';

/** As cdk-nag 3 names a finding: `<pack>::<rule>[<finding>]`. */
export const NagRule = {
  WildcardResource: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
  StateMachineLogsAll: 'AwsSolutions::AwsSolutions-SF1',
  StateMachineXRay: 'AwsSolutions::AwsSolutions-SF2',
  TopicWithoutKms: 'AwsSolutions::AwsSolutions-SNS2',
} as const;

/** The IAM5 finding of one wildcard resource, as cdk-nag names it (`value` as the policy holds it). */
function wildcardResourceRule(scope: Construct, value: string): string {
  return `AwsSolutions::AwsSolutions-IAM5[Resource::${nagResourceName(Stack.of(scope), value)}]`;
}

/** The L1 policy behind a role's grants, where cdk-nag reports them; undefined before the first grant. */
function defaultPolicyOf(role: iam.IRole): IConstruct | undefined {
  return role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
}

/** What an Express workflow of the relay acknowledges: its log delivery permissions, its log level, no X-Ray. */
export function acknowledgeExpressWorkflowFindings(stateMachine: sfn.StateMachine): void {
  const policy = defaultPolicyOf(stateMachine.role);
  if (policy) {
    Validations.of(policy).acknowledge({
      id: NagRule.WildcardResource,
      reason:
        'Only the logs:*LogDelivery*, logs:PutResourcePolicy, logs:DescribeResourcePolicies and logs:DescribeLogGroups actions Step Functions needs to deliver its execution logs have Resource "*": they support no resource-level permissions (AWS documents "*" for them in "Logging Step Functions using CloudWatch Logs"). On the relay workflow, cloudwatch:PutMetricData (the forwarder heartbeat) takes no resource either and is confined by a cloudwatch:namespace condition to the relay\'s namespace. Every other statement names its exact resource, pinned by test/security/iam-statements.test.ts.',
    });
  }
  const resource = stateMachine.node.defaultChild!;
  Validations.of(resource).acknowledge({
    id: NagRule.StateMachineLogsAll,
    reason:
      'Logs at ERROR without execution data on purpose: ALL would write every event (user names and ids) to CloudWatch Logs and multiply the log cost per event, while failures, which operators act on, are logged. The logLevel prop raises it for debugging.',
  });
  Validations.of(resource).acknowledge({
    id: NagRule.StateMachineXRay,
    reason:
      'No X-Ray on two short Express workflows (a Lambda and a few service calls each): traces would add a per-event charge while the execution logs and the stack metrics already time each step and name each failure.',
  });
}

/** The deploy role's one wildcard: the CDK bootstrap roles of its account and region (`resource`, as the policy holds it). */
export function acknowledgeBootstrapRoleAssumption(role: iam.Role, resource: string): void {
  const policy = defaultPolicyOf(role);
  if (!policy) return;
  Validations.of(policy).acknowledge({
    id: wildcardResourceRule(role, resource),
    reason:
      'The wildcard spans the CDK bootstrap roles of this one account and region (deploy, file-publishing, image-publishing, lookup: cdk-<qualifier>-<kind>-role-<account>-<region>); assuming them is all the GitHub deploy role can do, pinned by test/infra/deploy-role-stack.test.ts.',
  });
}

/** The alarm topic is not KMS-encrypted (AwsSolutions-SNS2). */
export function acknowledgeAlarmTopicEncryption(topic: sns.Topic): void {
  Validations.of(topic.node.defaultChild!).acknowledge({
    id: NagRule.TopicWithoutKms,
    reason:
      'The alarm topic carries alarm names and states only, never event data or secrets. CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer-managed key would add $1/month and a key policy to a relay that otherwise costs cents; the topic enforces TLS (SNS3).',
  });
}

/** The operator policy's two wildcards: the CloudWatch reads on "*", and its own stack's ARN, whose last part is an id CloudFormation assigns. */
export function acknowledgeOperatorPolicyWildcards(policy: iam.ManagedPolicy, stackArn: string): void {
  const resource = policy.node.defaultChild!;
  Validations.of(resource).acknowledge({
    id: NagRule.WildcardResource,
    reason:
      'Only cloudwatch:DescribeAlarms and cloudwatch:GetMetricData, both read-only, have Resource "*": GetMetricData supports no resource-level permission, and CloudWatch\'s permissions reference tells to use "*" for its actions, so a narrower resource could leave relay doctor refused. relay doctor asks only for this relay\'s alarms (name prefix) and metrics. Every other statement names its exact resource, pinned by test/security/iam-statements.test.ts.',
  });
  Validations.of(resource).acknowledge({
    id: wildcardResourceRule(policy, stackArn),
    reason: 'cloudformation:DescribeStacks on this one stack: a stack ARN ends in an id CloudFormation assigns at creation, so the name is followed by a wildcard.',
  });
}

/** A template value as cdk-nag names it in a finding: references as `<LogicalId>` or `<AWS::Pseudo>`. */
export function nagResourceName(stack: Stack, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (Array.isArray(o['Fn::Join'])) return ((o['Fn::Join'] as [string, unknown[]])[1]).map(render).join((o['Fn::Join'] as [string])[0]);
    return JSON.stringify(v);
  };
  return render(stack.resolve(value));
}

/** Live cards: each editable channel's PATCH grant ends in `messages/*`, the message id known only at run time. */
export function acknowledgeCardEditGrants(stateMachine: sfn.StateMachine, editArns: readonly string[]): void {
  const policy = defaultPolicyOf(stateMachine.role);
  if (!policy) return;
  for (const arn of editArns) {
    Validations.of(policy).acknowledge({
      id: wildcardResourceRule(stateMachine, arn),
      reason:
        'Edit card tasks PATCH /channels/<channel>/messages/<id>, the id being the card Discord created: the grant is that one route of that one channel for any message id (the patched CallApiGatewayHttpApiEndpoint narrows a JsonPath path to its literal prefix), pinned by test/infra/cards-stack.test.ts.',
    });
  }
}

/** The interactions endpoint is public by design (AwsSolutions-APIG4), and its function reads metrics on "*". */
export function acknowledgeInteractionsFindings(route: Construct, fn: { role?: iam.IRole }): void {
  Validations.of(route.node.defaultChild!).acknowledge({
    id: 'AwsSolutions::AwsSolutions-APIG4',
    reason:
      'Discord calls the interactions endpoint without AWS credentials, so it cannot use IAM. Its handler refuses (401) every request without a valid, fresh Ed25519 signature by the application\'s key before it reads the body, as Discord requires; the stage is throttled (10/s, burst 20). SECURITY.md "The interactions endpoint".',
  });
  const policy = fn.role && defaultPolicyOf(fn.role);
  if (policy) {
    Validations.of(policy).acknowledge({
      id: NagRule.WildcardResource,
      reason: 'Only cloudwatch:GetMetricData (read-only, for /relay status) has Resource "*": it supports no resource-level permission. The table and queues are named exactly, pinned by test/infra/discord-app-stack.test.ts and test/security/iam-statements.test.ts.',
    });
  }
}
