/**
 * The relay workflow's dedupe and queueing (docs/architecture.md §1.1): Claim id (one conditional
 * UpdateItem, as queued, with a lease and a takeover window bounded by SQS FIFO's deduplication)
 * → Enqueue on the channel's lane → Queued; an id already claimed → Duplicate; a claim or send that
 * failed → Release claim → the event's `failed` outcome (Relay.Internal) saying whether a re-send is posted. Built by
 * RelayStateMachine.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CLAIM_TAKEOVER_SECONDS, ClaimState, DedupeAttribute, QUEUE_FAILURE_REASON, RelayOutcome } from '../contracts/lane';
import { RelayErrorCode } from '../contracts/errors';
import { StateName } from '../contracts/state-names';
import type { DedupeTable } from './dedupe-table';
import type { DeliveryLane } from './delivery-lane';
import { DYNAMODB_RETRY, DYNAMODB_TIMEOUT, ENQUEUE_RETRY, ENQUEUE_TIMEOUT, dynamoDbErrors, worstCaseSeconds } from './task-retries';

/** Claim the id and queue the event instead of posting it. */
export interface RelayLanes {
  readonly dedupe: DedupeTable;
  readonly lane: DeliveryLane;
  /**
   * How long a claim belongs to the execution that wrote it, whose enqueue may still be under
   * way. A copy of an event whose execution died before sending it can take the claim over after
   * this, until {@link CLAIM_TAKEOVER_SECONDS} after the event was received. From
   * SEND_WORST_CASE_SECONDS (77 s: an execution's worst case to a landed send) to 120 s.
   * @default Duration.seconds(90)
   */
  readonly claimLease?: Duration;
}

/** The longest claim lease: it must end well before a claim can no longer be taken over. */
const MAX_CLAIM_LEASE_SECONDS = 120;
/**
 * What an execution may take from Verify to a landed send: the guild settings read, the claim and
 * the enqueue, every attempt timing out. CLAIM_TAKEOVER_SECONDS leaves room for it.
 */
export const SEND_WORST_CASE_SECONDS = Math.ceil(2 * worstCaseSeconds(DYNAMODB_TIMEOUT, DYNAMODB_RETRY) + worstCaseSeconds(ENQUEUE_TIMEOUT, ENQUEUE_RETRY));
/** The shortest claim lease: a live execution is never taken over. */
const MIN_CLAIM_LEASE_SECONDS = SEND_WORST_CASE_SECONDS;
/** Longer than an execution's worst case from Verify to a landed send (task-retries.ts), so a live execution is not taken over. */
const DEFAULT_CLAIM_LEASE = Duration.seconds(90);

/** What the Queued and Duplicate outcomes carry. */
const SUMMARY = { 'id.$': '$.id', 'kind.$': '$.kind', 'channel.$': '$.channel' };

/**
 * Epoch seconds `seconds` after the event was received, as a DynamoDB number. DynamoDB numbers
 * travel as strings; Verify's `receivedAt` is the clock (Step Functions has no epoch time).
 */
export function receivedAtPlus(seconds: number): tasks.DynamoAttributeValue {
  const at = sfn.JsonPath.numberAt('$.receivedAt');
  return tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.jsonToString(seconds === 0 ? at : sfn.JsonPath.mathAdd(at, seconds)));
}

/** The claim's owner: the execution writing it. */
function executionId(): tasks.DynamoAttributeValue {
  return tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.Id'));
}

function idKey(): Record<string, tasks.DynamoAttributeValue> {
  return { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.id')) };
}

export class ClaimSteps {
  constructor(private readonly scope: Construct) {}

  /** The lease a claim is written with; one that would leave no time to take it over is refused by validation. */
  private claimLease(lanes: RelayLanes): Duration {
    const lease = lanes.claimLease ?? DEFAULT_CLAIM_LEASE;
    this.scope.node.addValidation({
      validate: () => (lease.toSeconds() >= MIN_CLAIM_LEASE_SECONDS && lease.toSeconds() <= MAX_CLAIM_LEASE_SECONDS ? []
        : [`claimLease must be from ${MIN_CLAIM_LEASE_SECONDS} s to ${MAX_CLAIM_LEASE_SECONDS} s (got ${lease.toHumanString()}): a shorter one lets a copy take over an execution still sending, a longer one leaves no time to take a claim over inside SQS's deduplication interval`]),
    });
    return lease;
  }

  /** Claim id (as queued) → Enqueue → Queued: one write per event; an id already claimed → Duplicate. */
  public chain(lanes: RelayLanes, internal: sfn.IChainable): sfn.IChainable {
    const queued = new sfn.Pass(this.scope, StateName.Queued, { parameters: { ...SUMMARY, outcome: RelayOutcome.Queued } });
    const lease = this.claimLease(lanes).toSeconds();
    // A claim that may have landed before it failed, and a failed send, both keep the event as a
    // dead letter (the DeadLetters alarm then says so, and a redrive posts it) and give the id back.
    const release = this.keepAsDeadLetter(lanes, this.releaseStep(lanes, lease, internal));
    return this.claimStep(lanes, lease, release).next(this.enqueueStep(lanes, release)).next(queued);
  }

  /**
   * The one conditional write: only the first copy of an id goes on — or a copy of one whose
   * execution died before its send, after the lease and while SQS would still drop a second send.
   */
  private claimStep(lanes: RelayLanes, lease: number, release: sfn.IChainable): tasks.DynamoUpdateItem {
    const me = executionId();
    // An UpdateItem, so that a takeover keeps the first claim's takeoverUntil (and expiresAt): the
    // window stays anchored to the first send's deduplication, however many copies follow.
    const claim = new tasks.DynamoUpdateItem(this.scope, StateName.Claim, {
      comment: 'Conditional write: only the first copy of an id (or a copy of one whose execution died before its send) goes on',
      table: lanes.dedupe.table,
      key: idKey(),
      updateExpression: 'SET #state = :queued, #channel = :channel, #leaseUntil = :lease, #claimedBy = :me, '
        + '#takeoverUntil = if_not_exists(#takeoverUntil, :takeover), #expiresAt = if_not_exists(#expiresAt, :expires)',
      // Its own claim passes too, while still queued: a retry after a write that landed but answered
      // an error would otherwise call its own event a duplicate and never send it, and a late attempt
      // must never turn a delivered record back. Items of older relays (state `claimed`, no
      // takeoverUntil) are never taken over.
      conditionExpression: 'attribute_not_exists(#id) OR (#claimedBy = :me AND #state = :queued) OR (#state = :queued AND #leaseUntil < :now AND #takeoverUntil > :now)',
      expressionAttributeNames: {
        '#id': DedupeAttribute.Id, '#claimedBy': DedupeAttribute.ClaimedBy, '#state': DedupeAttribute.State, '#channel': DedupeAttribute.Channel,
        '#leaseUntil': DedupeAttribute.LeaseUntil, '#takeoverUntil': DedupeAttribute.TakeoverUntil, '#expiresAt': DedupeAttribute.ExpiresAt,
      },
      expressionAttributeValues: {
        ':me': me,
        ':queued': tasks.DynamoAttributeValue.fromString(ClaimState.Queued),
        ':channel': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.channel')),
        ':now': receivedAtPlus(0),
        ':lease': receivedAtPlus(lease),
        ':takeover': receivedAtPlus(CLAIM_TAKEOVER_SECONDS),
        ':expires': receivedAtPlus(lanes.dedupe.retention.toSeconds()),
      },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(DYNAMODB_TIMEOUT),
    });
    claim.addRetry(DYNAMODB_RETRY);
    claim.addCatch(
      new sfn.Pass(this.scope, StateName.Duplicate, { parameters: { ...SUMMARY, outcome: RelayOutcome.Duplicate, code: RelayErrorCode.Duplicate } }),
      { errors: dynamoDbErrors('ConditionalCheckFailedException'), resultPath: sfn.JsonPath.DISCARD },
    );
    claim.addCatch(release, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return claim;
  }

  /** The event onto its channel's lane; if that fails, the claim is given back so that a re-send is posted. */
  private enqueueStep(lanes: RelayLanes, release: sfn.IChainable): tasks.SqsSendMessage {
    const enqueue = new tasks.SqsSendMessage(this.scope, StateName.Enqueue, {
      queue: lanes.lane.queue,
      // The Format state wrote the lane event: a line for a message route, the voice channels for a card route.
      messageBody: sfn.TaskInput.fromJsonPathAt('$.lane'),
      messageGroupId: sfn.JsonPath.stringAt('$.channel'),
      messageDeduplicationId: sfn.JsonPath.stringAt('$.id'),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(ENQUEUE_TIMEOUT),
    });
    enqueue.addRetry(ENQUEUE_RETRY);
    enqueue.addCatch(release, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return enqueue;
  }

  /**
   * The lane event, with the error, into the lane's dead-letter queue (`$.kept.note` says whether it
   * got there): the forwarder let go of the event when the execution started, so this is what keeps
   * it. Where SQS itself is down, this fails too and the failure is only in the workflow's log.
   */
  private keepAsDeadLetter(lanes: RelayLanes, then: sfn.IChainable): sfn.IChainable {
    const keep = new sfn.CustomState(this.scope, StateName.KeepDeadLetter, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sqs:sendMessage`,
        // The lane event, grouped and deduplicated as Enqueue would have sent it.
        Parameters: lanes.lane.deadLetterParameters({ event: '$.lane', channel: '$.channel', id: '$.id', error: '$.error.Error', reason: `States.Format('${QUEUE_FAILURE_REASON}: {}', $.error.Cause)` }),
        ResultSelector: { note: 'it was kept in the dead-letter queue: redrive it (README Dead letters)' },
        ResultPath: '$.kept',
        TimeoutSeconds: ENQUEUE_TIMEOUT.toSeconds(),
      },
    });
    const notKept = new sfn.Pass(this.scope, StateName.NotKept, { parameters: { note: 'the dead-letter queue did not take it either' }, resultPath: '$.kept' });
    keep.addCatch(notKept, { errors: [sfn.Errors.ALL], resultPath: '$.keepError' });
    notKept.next(then);
    return keep.next(then);
  }

  /**
   * Gives the id back after a failure that left the event unqueued (`$.error`): deletes the claim
   * if it is this execution's and still queued, or finds it already gone; then fails saying
   * whether a re-send will be posted.
   */
  private releaseStep(lanes: RelayLanes, lease: number, internal: sfn.IChainable): sfn.IChainable {
    const describe = new sfn.Pass(this.scope, StateName.DescribeEnqueueFailure, {
      parameters: { 'Cause.$': "States.Format('could not queue the event, so its id was released; send it again ({}). {}: {}', $.kept.note, $.error.Error, $.error.Cause)" },
      resultPath: '$.error',
    }).next(internal);
    const unreleased = new sfn.Pass(this.scope, StateName.DescribeUnreleasedClaim, {
      parameters: { 'Cause.$': `States.Format('could not queue the event, and its claim was not released (taken over by a copy, delivered meanwhile, or the table did not answer): a copy sent ${lease}-${CLAIM_TAKEOVER_SECONDS} s after the first may take it over; other copies are duplicates ({}). {}: {}', $.kept.note, $.error.Error, $.error.Cause)` },
      resultPath: '$.error',
    }).next(internal);
    const release = new tasks.DynamoDeleteItem(this.scope, StateName.ReleaseClaim, {
      table: lanes.dedupe.table,
      key: idKey(),
      // Only this execution's own claim, and only while it is queued: a copy that took it over keeps
      // it, and a delivered record (the send had landed after all) is never forgotten. Already gone
      // (the claim never landed, or a retried delete that had) counts as released.
      conditionExpression: 'attribute_not_exists(#id) OR (#claimedBy = :me AND #state = :queued)',
      expressionAttributeNames: { '#id': DedupeAttribute.Id, '#claimedBy': DedupeAttribute.ClaimedBy, '#state': DedupeAttribute.State },
      expressionAttributeValues: { ':me': executionId(), ':queued': tasks.DynamoAttributeValue.fromString(ClaimState.Queued) },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(DYNAMODB_TIMEOUT),
    });
    release.addRetry(DYNAMODB_RETRY);
    release.addCatch(unreleased, { errors: [sfn.Errors.ALL], resultPath: '$.releaseError' });
    return release.next(describe);
  }
}
