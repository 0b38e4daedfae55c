/**
 * The relay workflow's dedupe and queueing (docs/architecture.md §1.1). Per event, in the Map:
 * Claim id (one conditional UpdateItem, as queued, with a lease and a takeover window bounded by
 * SQS FIFO's deduplication) → Claimed; an id already claimed → Duplicate. After the Map, every
 * claimed event of the envelope onto its lane in one SendMessageBatch (in the envelope's order) →
 * Queued; if any entry failed, each claimed event alone through Enqueue (SQS drops the copies of
 * those that had landed). A claim or send that failed for good: Keep as dead letter → Release
 * claim → the event's `failed` outcome (Relay.Internal) saying whether a re-send is posted. Built
 * by RelayStateMachine.
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
import { DYNAMODB_RETRY, DYNAMODB_TIMEOUT, ENQUEUE_RETRY, ENQUEUE_TIMEOUT, ENQUEUE_TOGETHER_TIMEOUT, dynamoDbErrors, worstCaseSeconds } from './task-retries';
import { MAX_BATCH_EVENTS } from '../contracts/envelope';

/** Claim the id and queue the event instead of posting it. */
export interface RelayLanes {
  readonly dedupe: DedupeTable;
  readonly lane: DeliveryLane;
  /**
   * How long a claim belongs to the execution that wrote it, whose enqueue may still be under
   * way. A copy of an event whose execution died before sending it can take the claim over after
   * this, until {@link CLAIM_TAKEOVER_SECONDS} after the event was received. From
   * SEND_WORST_CASE_SECONDS (82 s: an execution's worst case to a landed send) to 120 s.
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
export const SEND_WORST_CASE_SECONDS = Math.ceil(2 * worstCaseSeconds(DYNAMODB_TIMEOUT, DYNAMODB_RETRY) + ENQUEUE_TOGETHER_TIMEOUT.toSeconds() + worstCaseSeconds(ENQUEUE_TIMEOUT, ENQUEUE_RETRY));
/** The shortest claim lease: a live execution is never taken over. */
const MIN_CLAIM_LEASE_SECONDS = SEND_WORST_CASE_SECONDS;
/** Longer than an execution's worst case from Verify to a landed send (task-retries.ts), so a live execution is not taken over. */
const DEFAULT_CLAIM_LEASE = Duration.seconds(90);

/** Outcomes inside the relay workflow only, settled after the Map into `queued` or `failed`. */
const CLAIMED = 'claimed';
const CLAIM_FAILED = 'claim-failed';
/** Names the claim-failure copies of the keep-and-release states (the enqueue failure's keep the plain names). */
const CLAIM_FAILED_SUFFIX = ' (claim failed)';

/** What the Queued and Duplicate outcomes carry. */
const SUMMARY = { 'id.$': '$.id', 'kind.$': '$.kind', 'channel.$': '$.channel' };
/**
 * What a claimed (or failed) claim carries past the Map: enough to send, keep or release it. Its
 * `copies` are the event's, one per channel (relay-state-machine.ts copySteps): `{ channel, entry }`,
 * the entry as SendMessageBatch takes it, its body the lane event.
 */
const LANE_SUMMARY = { ...SUMMARY, 'receivedAt.$': '$.receivedAt', 'copies.$': '$.copies' };
/** SendMessageBatch's limit. */
const MAX_BATCH_ENTRIES = 10;

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
  private readonly lease: number;

  constructor(private readonly scope: Construct, private readonly lanes: RelayLanes) {
    this.lease = this.claimLease(lanes).toSeconds();
  }

  /** The lease a claim is written with; one that would leave no time to take it over is refused by validation. */
  private claimLease(lanes: RelayLanes): Duration {
    const lease = lanes.claimLease ?? DEFAULT_CLAIM_LEASE;
    this.scope.node.addValidation({
      validate: () => (lease.toSeconds() >= MIN_CLAIM_LEASE_SECONDS && lease.toSeconds() <= MAX_CLAIM_LEASE_SECONDS ? []
        : [`claimLease must be from ${MIN_CLAIM_LEASE_SECONDS} s to ${MAX_CLAIM_LEASE_SECONDS} s (got ${lease.toHumanString()}): a shorter one lets a copy take over an execution still sending, a longer one leaves no time to take a claim over inside SQS's deduplication interval`]),
    });
    return lease;
  }

  /**
   * In the Map, per event: Claim id (as queued, one write) → Claimed, the event with its lane entry
   * for {@link queueClaimed}; an id already claimed → Duplicate; a claim that failed → Claim failed,
   * kept and released after the sends, so that no claimed event's send waits for it.
   */
  public claimChain(): sfn.IChainable {
    const claimed = new sfn.Pass(this.scope, StateName.Claimed, {
      comment: "Claimed; queued after the Map with the envelope's other claimed events",
      parameters: { ...LANE_SUMMARY, outcome: CLAIMED },
    });
    const claimFailed = new sfn.Pass(this.scope, StateName.ClaimFailed, { parameters: { ...LANE_SUMMARY, outcome: CLAIM_FAILED, 'error.$': '$.error' } });
    return this.claimStep(claimFailed).next(claimed);
  }

  /**
   * After the Map (`$.results`): the claimed events' entries (one per channel of each) onto their
   * lanes in one SendMessageBatch, one attempt (a FIFO batch keeps the entries' order), or in parts
   * of ten side by side when there are more; each entry it did not take (all of them, if a call
   * failed) goes alone through Enqueue with its retries (SQS drops a copy of one that had landed).
   * Then the failed claims are kept as dead letters and released. Every claimed outcome ends
   * `queued`, or `failed` where a copy was not taken.
   */
  public queueClaimed(then: sfn.IChainable): sfn.IChainable {
    const done = new sfn.Pass(this.scope, StateName.AllAnswered).next(then);
    const settle = new sfn.Choice(this.scope, StateName.AnyClaimFailed)
      .when(sfn.Condition.booleanEquals('$.outcomes.anyFailed', true), this.releaseFailedClaims().next(done))
      .otherwise(done);
    // Every outcome has `outcome`, so this list is never empty, and the filter below runs only when
    // it matches something (what Step Functions gives for a filter matching nothing is not documented).
    const outcomes = new sfn.Pass(this.scope, StateName.CollectOutcomes, { parameters: { 'list.$': '$.results[*].outcome' }, resultPath: '$.outcomes' })
      .next(new sfn.Pass(this.scope, StateName.AnythingClaimed, {
        parameters: { 'any.$': `States.ArrayContains($.outcomes.list, '${CLAIMED}')`, 'anyFailed.$': `States.ArrayContains($.outcomes.list, '${CLAIM_FAILED}')` },
        resultPath: '$.outcomes',
      }));
    // The filter, then the wildcard, list every claimed event's entries in one flat list (register
    // "fan-out"). Were it nested instead, SendMessageBatch would refuse it and every entry would go alone.
    const collect = new sfn.Pass(this.scope, StateName.CollectClaims, { parameters: { 'entries.$': `$.results[?(@.outcome == '${CLAIMED}')].copies[*].entry` }, resultPath: '$.claimed' })
      .next(new sfn.Pass(this.scope, StateName.CountEntries, { parameters: { 'n.$': 'States.ArrayLength($.claimed.entries)' }, resultPath: '$.entryCount' }));
    const together = new sfn.CustomState(this.scope, StateName.EnqueueTogether, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:sqs:sendMessageBatch`,
        Comment: "One request for the envelope's claimed events; what it does not take is sent alone",
        Parameters: { QueueUrl: this.lanes.lane.queue.queueUrl, 'Entries.$': '$.claimed.entries' },
        ResultPath: '$.sent',
        TimeoutSeconds: ENQUEUE_TOGETHER_TIMEOUT.toSeconds(),
      },
    });
    const alone = this.queueEachAlone().next(settle);
    const sendAllAlone = new sfn.Pass(this.scope, StateName.SendAllAlone, { parameters: { all: true, ids: [] }, resultPath: '$.retry' }).next(alone);
    together.addCatch(sendAllAlone, { errors: [sfn.Errors.ALL], resultPath: '$.sendError' });
    const queuedTogether = this.eachOutcome(StateName.AnswerQueued, CLAIMED, this.queuedOutcome(StateName.QueuedTogether, '$'));
    queuedTogether.next(settle);
    const allQueued = new sfn.Choice(this.scope, StateName.AllQueued)
      // "check for batch errors even when the call returns an HTTP status code of 200" (SendMessageBatch).
      .when(sfn.Condition.isPresent('$.sent.Failed[0]'), new sfn.Pass(this.scope, StateName.SendRefusedAlone, { parameters: { all: false, 'ids.$': '$.sent.Failed[*].Id' }, resultPath: '$.retry' }).next(alone))
      .otherwise(queuedTogether);
    const sendClaimed = new sfn.Choice(this.scope, StateName.TenOrFewer)
      .when(sfn.Condition.numberLessThanEquals('$.entryCount.n', MAX_BATCH_ENTRIES), together.next(allQueued))
      .otherwise(this.enqueueInParts(sendAllAlone, queuedTogether));
    return outcomes.next(new sfn.Choice(this.scope, StateName.AnythingToQueue)
      .when(sfn.Condition.booleanEquals('$.outcomes.any', true), collect.next(sendClaimed))
      .otherwise(settle));
  }

  /**
   * More than ten entries (events sent to several channels): SendMessageBatch takes ten, so the
   * parts go side by side (an event's worst case stays one call's). A part refused in whole or in
   * part sends every entry alone, which SQS's deduplication makes safe.
   */
  private enqueueInParts(sendAllAlone: sfn.IChainable, queued: sfn.IChainable): sfn.IChainable {
    const send = new sfn.CustomState(this.scope, StateName.EnqueuePart, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:sqs:sendMessageBatch`,
        Parameters: { QueueUrl: this.lanes.lane.queue.queueUrl, 'Entries.$': '$.entries' },
        ResultPath: '$.sent',
        TimeoutSeconds: ENQUEUE_TOGETHER_TIMEOUT.toSeconds(),
      },
    });
    const notTaken = new sfn.Pass(this.scope, StateName.PartNotTaken, { parameters: { refused: true } });
    send.addCatch(notTaken, { errors: [sfn.Errors.ALL], resultPath: '$.sendError' });
    const parts = new sfn.Map(this.scope, StateName.EnqueueInParts, {
      itemsPath: '$.claimed.parts',
      itemSelector: { 'entries.$': '$$.Map.Item.Value' },
      resultPath: '$.partsSent',
    }).itemProcessor(send.next(new sfn.Choice(this.scope, StateName.PartRefused)
      .when(sfn.Condition.isPresent('$.sent.Failed[0]'), notTaken)
      .otherwise(new sfn.Pass(this.scope, StateName.PartTaken, { parameters: { refused: false } }))));
    // The parts take the entries' place: the state carries each lane event once more, not twice (256 KiB).
    return new sfn.Pass(this.scope, StateName.PartitionEntries, { parameters: { 'parts.$': `States.ArrayPartition($.claimed.entries, ${MAX_BATCH_ENTRIES})` }, resultPath: '$.claimed' })
      .next(parts)
      .next(new sfn.Pass(this.scope, StateName.CollectParts, { parameters: { 'refused.$': '$.partsSent[*].refused' }, resultPath: '$.partsSent' }))
      .next(new sfn.Pass(this.scope, StateName.AnyPartRefused, { parameters: { 'any.$': 'States.ArrayContains($.partsSent.refused, true)' }, resultPath: '$.partsSent' }))
      .next(new sfn.Choice(this.scope, StateName.AllPartsTaken).when(sfn.Condition.booleanEquals('$.partsSent.any', true), sendAllAlone).otherwise(queued));
  }

  /** The `queued` outcome of the event at `at`: with `channels` when it went to several. */
  private queuedOutcome(name: string, at: string): sfn.IChainable {
    const summary = { 'id.$': `${at}.id`, 'kind.$': `${at}.kind`, 'channel.$': `${at}.channel`, outcome: RelayOutcome.Queued };
    return new sfn.Choice(this.scope, `${name}: one channel?`)
      .when(sfn.Condition.isPresent(`${at}.copies[1]`), new sfn.Pass(this.scope, `${name} to its channels`, { parameters: { ...summary, 'channels.$': `${at}.copies[*].channel` } }))
      .otherwise(new sfn.Pass(this.scope, name, { parameters: summary }));
  }

  /** A Map over `$.results`, back into `$.results`: each outcome `outcome` through `then`, every other as it is. */
  private eachOutcome(name: string, outcome: string, then: sfn.IChainable): sfn.Map {
    return new sfn.Map(this.scope, name, { itemsPath: '$.results', maxConcurrency: MAX_BATCH_EVENTS, resultPath: '$.results' })
      .itemProcessor(new sfn.Choice(this.scope, `${name}: ${outcome}?`)
        .when(sfn.Condition.stringEquals('$.outcome', outcome), then)
        .otherwise(new sfn.Pass(this.scope, `${name}: answered`)));
  }

  /**
   * Each claimed event whose entries the batch did not all take (`$.retry`): each copy it refused
   * alone (Enqueue, retried; kept as a dead letter where it still fails). All copies on their
   * lanes → queued; none → the claim released, failed; some → failed with the claim kept, since a
   * re-send would post again on the channels that have it.
   */
  private queueEachAlone(): sfn.Map {
    const item = '$.item';
    return new sfn.Map(this.scope, StateName.EnqueueEachAlone, {
      itemsPath: '$.results',
      itemSelector: { 'item.$': '$$.Map.Item.Value', 'retry.$': '$.retry' },
      maxConcurrency: MAX_BATCH_EVENTS,
      resultPath: '$.results',
    }).itemProcessor(new sfn.Choice(this.scope, `${StateName.EnqueueEachAlone}: claimed?`)
      .when(sfn.Condition.stringEquals(`${item}.outcome`, CLAIMED), this.eachCopyAlone().next(this.settleCopies()))
      .otherwise(new sfn.Pass(this.scope, `${StateName.EnqueueEachAlone}: answered`, { outputPath: item })));
  }

  /** One claimed event's copies (`$.item.copies`), each sent alone if the batch refused it: `{ landed, lost }` each, into `$.sends`. */
  private eachCopyAlone(): sfn.Map {
    const landed = new sfn.Pass(this.scope, StateName.CopyLanded, { parameters: { landed: true, lost: false } });
    const notLanded = new sfn.Pass(this.scope, StateName.CopyNotLanded, { parameters: { landed: false, 'lost.$': '$.kept.lost', 'channel.$': '$.channel', 'error.$': '$.error', 'kept.$': '$.kept' } });
    const sendAlone = this.enqueueStep(this.keepAsDeadLetter(notLanded, '')).next(landed);
    return new sfn.Map(this.scope, StateName.EachCopy, {
      itemsPath: '$.item.copies',
      itemSelector: { 'id.$': '$.item.id', 'channel.$': '$$.Map.Item.Value.channel', 'entry.$': '$$.Map.Item.Value.entry', 'retry.$': '$.retry' },
      resultPath: '$.sends',
    }).itemProcessor(new sfn.Pass(this.scope, StateName.RefusedByBatch, { parameters: { 'again.$': 'States.ArrayContains($.retry.ids, $.entry.Id)' }, resultPath: '$.check' })
      .next(new sfn.Choice(this.scope, StateName.SendAgain)
        .when(sfn.Condition.or(sfn.Condition.booleanEquals('$.retry.all', true), sfn.Condition.booleanEquals('$.check.again', true)), sendAlone)
        .otherwise(new sfn.Pass(this.scope, StateName.QueuedByBatch, { parameters: { landed: true, lost: false } }))));
  }

  /**
   * What the copies' sends (`$.sends`) make of the event: all queued → queued; none queued → the
   * claim released, failed (a re-send posts it), as for one channel; some queued → failed with the
   * claim kept, since a re-send would post again where the copies landed (and the delivered mark of
   * a landed copy would write the claim back anyway): the copies not queued are in the dead-letter
   * queue, or, where it refused them too, lost, which the cause says.
   */
  private settleCopies(): sfn.IChainable {
    const item = '$.item';
    const failed = new sfn.Pass(this.scope, StateName.NotQueued, { parameters: { ...SUMMARY, outcome: RelayOutcome.Failed, code: RelayErrorCode.Internal, 'cause.$': '$.error.Cause' } });
    const event = { 'id.$': `${item}.id`, 'kind.$': `${item}.kind`, 'channel.$': `${item}.channel` };
    const release = this.releaseStep(failed, '');
    // Nothing landed, so every copy failed: the first one's error describes the event's.
    const releaseKept = new sfn.Pass(this.scope, StateName.TakeFailedCopy, { parameters: { ...event, 'error.$': '$.sends[0].error', 'kept.$': '$.sends[0].kept' } }).next(release);
    // Runs only where a copy was lost, so the filter matches: its note ("did not take it either") is the event's.
    const releaseLost = new sfn.Pass(this.scope, StateName.FindLostCopy, { parameters: { 'copies.$': '$.sends[?(@.lost == true)]' }, resultPath: '$.lostCopies' })
      .next(new sfn.Pass(this.scope, StateName.CopyLost, { parameters: { ...event, 'error.$': '$.lostCopies.copies[0].error', 'kept.$': '$.lostCopies.copies[0].kept' } }))
      .next(release);
    const partly = (name: string, whatBecame: string) => new sfn.Pass(this.scope, name, {
      parameters: {
        ...event, outcome: RelayOutcome.Failed, code: RelayErrorCode.Internal,
        'cause.$': `States.Format('could not queue the event for {}; its other channels have it, so its claim was kept and a re-send is a duplicate. ${whatBecame}', States.JsonToString($.notQueued.channels))`,
      },
    });
    const inPart = new sfn.Pass(this.scope, StateName.NotQueuedChannels, { parameters: { 'channels.$': '$.sends[?(@.landed == false)].channel' }, resultPath: '$.notQueued' })
      .next(new sfn.Choice(this.scope, StateName.AnyCopyLost)
        .when(sfn.Condition.booleanEquals('$.landed.anyLost', true), partly(StateName.QueuedInPartLost, 'The dead-letter queue refused a copy not queued too: those channels will not post it'))
        .otherwise(partly(StateName.QueuedInPart, 'The copies not queued were kept in the dead-letter queue: redrive them (README Dead letters)')));
    return new sfn.Pass(this.scope, StateName.CollectCopies, { parameters: { 'landed.$': '$.sends[*].landed', 'lost.$': '$.sends[*].lost' }, resultPath: '$.landed' })
      .next(new sfn.Pass(this.scope, StateName.CountCopies, {
        parameters: { 'anyFailed.$': 'States.ArrayContains($.landed.landed, false)', 'anyLanded.$': 'States.ArrayContains($.landed.landed, true)', 'anyLost.$': 'States.ArrayContains($.landed.lost, true)' },
        resultPath: '$.landed',
      }))
      .next(new sfn.Choice(this.scope, StateName.AllCopiesQueued)
        .when(sfn.Condition.booleanEquals('$.landed.anyFailed', false), this.queuedOutcome(StateName.Queued, item))
        .when(sfn.Condition.booleanEquals('$.landed.anyLanded', true), inPart)
        .when(sfn.Condition.booleanEquals('$.landed.anyLost', true), releaseLost)
        .otherwise(releaseKept));
  }

  /**
   * The claims that failed (after the sends, so no send waits on them): each copy kept as a dead
   * letter, the claim released, `failed`.
   */
  private releaseFailedClaims(): sfn.Map {
    const failed = new sfn.Pass(this.scope, StateName.ClaimNotKept, { parameters: { ...SUMMARY, outcome: RelayOutcome.Failed, code: RelayErrorCode.Internal, 'cause.$': '$.error.Cause' } });
    const suffix = CLAIM_FAILED_SUFFIX;
    const keepEach = new sfn.Map(this.scope, `${StateName.KeepEachCopy}${suffix}`, {
      itemsPath: '$.copies',
      itemSelector: { 'id.$': '$.id', 'channel.$': '$$.Map.Item.Value.channel', 'entry.$': '$$.Map.Item.Value.entry', 'error.$': '$.error' },
      resultPath: '$.keptEach',
    }).itemProcessor(this.keepAsDeadLetter(new sfn.Pass(this.scope, `${StateName.CopyKept}${suffix}`, { outputPath: '$.kept' }), suffix));
    const release = this.releaseStep(failed, suffix);
    // One note for the event: a copy's that was not kept, else the first's (every copy kept).
    const lost = new sfn.Pass(this.scope, `${StateName.CollectCopies}${suffix}`, { parameters: { 'lost.$': '$.keptEach[*].lost' }, resultPath: '$.lost' })
      .next(new sfn.Pass(this.scope, `${StateName.CountCopies}${suffix}`, { parameters: { 'any.$': 'States.ArrayContains($.lost.lost, true)' }, resultPath: '$.lost' }))
      .next(new sfn.Choice(this.scope, `${StateName.AnyCopyLost}${suffix}`)
        .when(sfn.Condition.booleanEquals('$.lost.any', true), new sfn.Pass(this.scope, `${StateName.FindLostCopy}${suffix}`, { parameters: { 'kept.$': '$.keptEach[?(@.lost == true)]' }, resultPath: '$.lostCopies' })
          .next(new sfn.Pass(this.scope, `${StateName.CopyLost}${suffix}`, { inputPath: '$.lostCopies.kept[0]', resultPath: '$.kept' })).next(release))
        .otherwise(new sfn.Pass(this.scope, `${StateName.TakeKeptNote}${suffix}`, { inputPath: '$.keptEach[0]', resultPath: '$.kept' }).next(release)));
    return this.eachOutcome(StateName.ReleaseFailedClaims, CLAIM_FAILED, keepEach.next(lost));
  }

  /**
   * The one conditional write: only the first copy of an id goes on — or a copy of one whose
   * execution died before its send, after the lease and while SQS would still drop a second send.
   */
  private claimStep(release: sfn.IChainable): tasks.DynamoUpdateItem {
    const { lanes, lease } = this;
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

  /** One copy of the event onto its channel's lane, as the batch would have sent it; where that fails, `release`. */
  private enqueueStep(release: sfn.IChainable): tasks.SqsSendMessage {
    const enqueue = new tasks.SqsSendMessage(this.scope, StateName.Enqueue, {
      queue: this.lanes.lane.queue,
      // The copy's entry, as the batch would have sent it: its body the lane event as JSON text.
      messageBody: sfn.TaskInput.fromJsonPathAt('$.entry.MessageBody'),
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
  private keepAsDeadLetter(then: sfn.IChainable, suffix: string): sfn.IChainable {
    const keep = new sfn.CustomState(this.scope, `${StateName.KeepDeadLetter}${suffix}`, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sqs:sendMessage`,
        // The lane event, grouped and deduplicated as Enqueue would have sent it.
        Parameters: this.lanes.lane.deadLetterParameters({ event: '$.entry.MessageBody', channel: '$.channel', id: '$.id', error: '$.error.Error', reason: `States.Format('${QUEUE_FAILURE_REASON}: {}', $.error.Cause)` }),
        ResultSelector: { note: 'it was kept in the dead-letter queue: redrive it (README Dead letters)', lost: false },
        ResultPath: '$.kept',
        TimeoutSeconds: ENQUEUE_TIMEOUT.toSeconds(),
      },
    });
    const notKept = new sfn.Pass(this.scope, `${StateName.NotKept}${suffix}`, { parameters: { note: 'the dead-letter queue did not take it either', lost: true }, resultPath: '$.kept' });
    keep.addCatch(notKept, { errors: [sfn.Errors.ALL], resultPath: '$.keepError' });
    notKept.next(then);
    return keep.next(then);
  }

  /**
   * Gives the id back after a failure that left the event unqueued (`$.error`): deletes the claim
   * if it is this execution's and still queued, or finds it already gone; then fails saying
   * whether a re-send will be posted.
   */
  private releaseStep(internal: sfn.IChainable, suffix: string): sfn.IChainable {
    const { lanes, lease } = this;
    const describe = new sfn.Pass(this.scope, `${StateName.DescribeEnqueueFailure}${suffix}`, {
      parameters: { 'Cause.$': "States.Format('could not queue the event, so its id was released; send it again ({}). {}: {}', $.kept.note, $.error.Error, $.error.Cause)" },
      resultPath: '$.error',
    }).next(internal);
    const unreleased = new sfn.Pass(this.scope, `${StateName.DescribeUnreleasedClaim}${suffix}`, {
      parameters: { 'Cause.$': `States.Format('could not queue the event, and its claim was not released (taken over by a copy, delivered meanwhile, or the table did not answer): a copy sent ${lease}-${CLAIM_TAKEOVER_SECONDS} s after the first may take it over; other copies are duplicates ({}). {}: {}', $.kept.note, $.error.Error, $.error.Cause)` },
      resultPath: '$.error',
    }).next(internal);
    const release = new tasks.DynamoDeleteItem(this.scope, `${StateName.ReleaseClaim}${suffix}`, {
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
