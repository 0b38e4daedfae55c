/**
 * The least IAM `relay doctor` needs against a deployed relay, as one managed policy: read the
 * stack's outputs, the pipe's state, the lanes' depth, the dead letters (peeked, never deleted),
 * this relay's alarms, the heartbeat and lane-age metrics, and one claim by id — plus the two
 * ingest routes, for its signed probe. Nothing here can change the relay.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { DedupeTable } from './dedupe-table';
import type { DeliveryLane } from './delivery-lane';
import type { IngestApi } from './ingest-api';
import type { LanePipe } from './lane-pipe';
import { acknowledgeOperatorPolicyWildcards } from './nag-acknowledgements';

/** The actions of each statement: every call relay doctor makes against AWS (test/doctor/aws-doctor.test.ts checks it uses no other). */
export const OPERATOR_ACTIONS = {
  stack: ['cloudformation:DescribeStacks'],
  probe: ['execute-api:Invoke'],
  /** Neither takes a resource-level permission that works for certain (register: "operator reads"). */
  cloudwatch: ['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'],
  pipe: ['pipes:DescribePipe'],
  queues: ['sqs:GetQueueAttributes'],
  deadLetters: ['sqs:ReceiveMessage'],
  claims: ['dynamodb:GetItem'],
} as const;
const A = OPERATOR_ACTIONS;

export interface RelayOperatorPolicyProps {
  readonly ingest: IngestApi;
  /** @default - no lanes (direct delivery): nothing of theirs to read */
  readonly lanes?: { readonly lane: DeliveryLane; readonly pipe: LanePipe; readonly dedupe: DedupeTable };
}

export class RelayOperatorPolicy extends Construct {
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: RelayOperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // A stack's ARN ends in an id CloudFormation assigns: this stack's name, any id.
    const stackArn = stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${stack.stackName}/*` });
    const statements = [
      new iam.PolicyStatement({ sid: 'ReadStackOutputs', actions: [...A.stack], resources: [stackArn] }),
      new iam.PolicyStatement({ sid: 'SendProbe', actions: [...A.probe], resources: [...props.ingest.routeArns] }),
      // DescribeAlarms is filtered to this relay's alarms by name prefix in the call; GetMetricData takes no resource.
      new iam.PolicyStatement({ sid: 'ReadAlarmsAndMetrics', actions: [...A.cloudwatch], resources: ['*'] }),
    ];
    if (props.lanes) {
      const { lane, pipe, dedupe } = props.lanes;
      statements.push(
        new iam.PolicyStatement({ sid: 'ReadPipeState', actions: [...A.pipe], resources: [pipe.pipe.attrArn] }),
        new iam.PolicyStatement({ sid: 'ReadLaneDepth', actions: [...A.queues], resources: [lane.queue.queueArn, lane.deadLetterQueue.queueArn] }),
        // Peeks with VisibilityTimeout 0: the dead-letter queue has no redrive policy, so a receive moves nothing.
        new iam.PolicyStatement({ sid: 'PeekDeadLetters', actions: [...A.deadLetters], resources: [lane.deadLetterQueue.queueArn] }),
        new iam.PolicyStatement({ sid: 'ReadOneClaim', actions: [...A.claims], resources: [dedupe.table.tableArn] }),
      );
    }
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Lets relay doctor check the ${stack.stackName} Discord Event Relay (read-only, plus the ingest routes for its probe)`,
      statements,
    });
    acknowledgeOperatorPolicyWildcards(this.policy, stackArn);
  }
}
