/**
 * The EventBridge Pipe that drains the lanes into the delivery workflow: small batches, run
 * synchronously (REQUEST_RESPONSE), so a batch leaves the queue only when the workflow succeeded.
 * With an SQS FIFO source a pipe keeps one batch in flight per message group: one per channel.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import { Construct } from 'constructs';
import type { DeliveryLane } from './delivery-lane';
import type { DeliveryStateMachine } from './delivery-state-machine';

/** EventBridge Pipes' documented permissions for an SQS source. */
export const PIPE_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

export interface LanePipeProps {
  readonly lane: DeliveryLane;
  readonly delivery: DeliveryStateMachine;
  /**
   * Events per batch (one delivery execution); SQS FIFO hands out at most 10.
   * @default 10
   */
  readonly batchSize?: number;
}

export class LanePipe extends Construct {
  public readonly pipe: pipes.CfnPipe;
  public readonly role: iam.Role;
  public readonly batchSize: number;

  constructor(scope: Construct, id: string, props: LanePipeProps) {
    super(scope, id);
    this.batchSize = props.batchSize ?? 10;
    this.node.addValidation({
      validate: () => (Number.isInteger(this.batchSize) && this.batchSize >= 1 && this.batchSize <= 10 ? [] : [`batchSize must be a whole number from 1 to 10 (SQS FIFO's limit), got ${this.batchSize}`]),
    });
    this.role = new iam.Role(this, 'Role', {
      description: 'Discord Event Relay lane pipe: reads the lanes, runs the delivery workflow',
      // Only pipes of this account may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
    });
    // What a pipe with an SQS source needs, no more (grantConsumeMessages adds visibility and URL calls it never makes).
    iam.Grant.addToPrincipal({ grantee: this.role, actions: PIPE_SOURCE_ACTIONS, resourceArns: [props.lane.queue.queueArn] });
    props.delivery.grantStartSyncExecution(this.role);
    this.pipe = new pipes.CfnPipe(this, 'Pipe', {
      description: 'Discord Event Relay: lanes → delivery workflow',
      roleArn: this.role.roleArn,
      source: props.lane.queue.queueArn,
      sourceParameters: { sqsQueueParameters: { batchSize: this.batchSize } },
      target: props.delivery.stateMachine.stateMachineArn,
      targetParameters: { stepFunctionStateMachineParameters: { invocationType: 'REQUEST_RESPONSE' } },
    });
    // The role's policy must exist before the pipe starts polling.
    this.pipe.node.addDependency(this.role);
  }
}
