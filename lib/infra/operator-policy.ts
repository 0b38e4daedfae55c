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

/** CloudWatch reads the doctor makes; neither takes a resource-level permission that works for certain (register: "operator reads"). */
export const OPERATOR_CLOUDWATCH_READS = ['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'];

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
      new iam.PolicyStatement({ sid: 'ReadStackOutputs', actions: ['cloudformation:DescribeStacks'], resources: [stackArn] }),
      new iam.PolicyStatement({ sid: 'SendProbe', actions: ['execute-api:Invoke'], resources: [...props.ingest.routeArns] }),
      // DescribeAlarms is filtered to this relay's alarms by name prefix in the call; GetMetricData takes no resource.
      new iam.PolicyStatement({ sid: 'ReadAlarmsAndMetrics', actions: OPERATOR_CLOUDWATCH_READS, resources: ['*'] }),
    ];
    if (props.lanes) {
      const { lane, pipe, dedupe } = props.lanes;
      statements.push(
        new iam.PolicyStatement({ sid: 'ReadPipeState', actions: ['pipes:DescribePipe'], resources: [pipe.pipe.attrArn] }),
        new iam.PolicyStatement({ sid: 'ReadLaneDepth', actions: ['sqs:GetQueueAttributes'], resources: [lane.queue.queueArn, lane.deadLetterQueue.queueArn] }),
        // Peeks with VisibilityTimeout 0: the dead-letter queue has no redrive policy, so a receive moves nothing.
        new iam.PolicyStatement({ sid: 'PeekDeadLetters', actions: ['sqs:ReceiveMessage'], resources: [lane.deadLetterQueue.queueArn] }),
        new iam.PolicyStatement({ sid: 'ReadOneClaim', actions: ['dynamodb:GetItem'], resources: [dedupe.table.tableArn] }),
      );
    }
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Lets relay doctor check the ${stack.stackName} Discord Event Relay (read-only, plus the ingest routes for its probe)`,
      statements,
    });
    acknowledgeOperatorPolicyWildcards(this.policy, stackArn);
  }
}
