/** The delivery workflow's two Lambda steps; Lambda runs them from lambda/coalesce and lambda/pace, local mode directly. */
import { DeliveryStateName } from '../contracts/state-names';
import { coalesce, type BatchItem, type CoalescedBatch } from './coalesce';
import { paceAfter, type PaceDecision, type PostAnswer } from './pace';

export function createCoalesceHandler(): (input: { batch: readonly BatchItem[] }) => Promise<CoalescedBatch> {
  return async (input) => coalesce(input?.batch);
}

export function createPaceHandler(): (input: { answer: PostAnswer }) => Promise<PaceDecision> {
  return async (input) => paceAfter(input?.answer ?? {});
}

/** The handler behind each Lambda state of the delivery workflow, by state name (what local runs need). */
export function createDeliveryHandlers(): Record<string, (input: any) => Promise<unknown>> {
  const pace = createPaceHandler();
  return {
    [DeliveryStateName.Coalesce]: createCoalesceHandler(),
    [DeliveryStateName.Pace]: pace,
    [DeliveryStateName.PaceAfter429]: pace,
    [DeliveryStateName.DescribeRefusal]: pace,
  };
}
