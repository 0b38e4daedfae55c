/** The delivery workflow's two Lambda steps; Lambda runs them from lambda/coalesce and lambda/pace, local mode directly. */
import { coalesce, type BatchItem, type CoalescedBatch } from './coalesce';
import { paceAfter, type PaceDecision, type PostAnswer } from './pace';

export function createCoalesceHandler(): (input: { batch: readonly BatchItem[] }) => Promise<CoalescedBatch> {
  return async (input) => coalesce(input?.batch);
}

export function createPaceHandler(): (input: { answer: PostAnswer }) => Promise<PaceDecision> {
  return async (input) => paceAfter(input?.answer ?? {});
}
