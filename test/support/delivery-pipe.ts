/**
 * The delivery side as the lanes tests run it: the synthesized delivery workflow with the real
 * Coalesce and Pace handlers, fed by the local pipe from the lane; only the webhook's answers are
 * the test's (`post`).
 */
import { createDeliveryHandlers } from '../../lib/delivery/handlers';
import type { LocalDynamoDb } from '../../lib/local/dynamodb-emulator';
import { LanePipeEmulator } from '../../lib/local/lane-pipe-emulator';
import type { LocalSqs } from '../../lib/local/sqs-emulator';
import { LocalStateMachine, type PostRequest, type PostResponse } from '../../lib/local/state-machine-runner';
import { StateMachineId, pipeSpec, stateMachineDefinition, type CfnTemplate } from '../../lib/local/synthesized-template';

export function startDeliveryPipe(template: CfnTemplate, standIns: { region: string; accountId: string }, services: { db: LocalDynamoDb; sqs: LocalSqs; post: (request: PostRequest) => PostResponse }): LanePipeEmulator {
  const delivery = new LocalStateMachine(stateMachineDefinition(template, standIns, StateMachineId.Delivery), {
    lambdas: createDeliveryHandlers(),
    post: services.post,
    dynamodb: services.db.call,
    sqs: services.sqs.call,
    retryPauseMs: 0,
  });
  const { sourceQueue, batchSize } = pipeSpec(template);
  const pipe = new LanePipeEmulator({ queue: services.sqs.queues.get(sourceQueue)!, target: delivery, batchSize });
  pipe.start();
  return pipe;
}
