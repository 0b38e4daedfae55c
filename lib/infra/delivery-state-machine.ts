/**
 * The delivery workflow (Express, one execution per batch a pipe takes from the lanes):
 * Look up claims → Coalesce (Lambda) → for each message, one at a time: Post (patched
 * CallApiGatewayHttpApiEndpoint) → Pace (Lambda) → Mark delivered, waiting as Discord's answers say.
 * A 429 waits `retry_after` and posts again; a permanent refusal dead-letters the message's events
 * and the lane goes on; anything else fails the execution so the queue hands the batch out again
 * (events already delivered are skipped then).
 */
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { FixedCallApiGatewayHttpApiEndpoint } from './call-http-api-endpoint';
import { webhookTask } from './webhook-task';
import { CardSteps } from './card-steps';
import { acknowledgeCardEditGrants, acknowledgeExpressWorkflowFindings } from './nag-acknowledgements';
import { unqualified } from './relay-function';
import { validateStateNames } from './state-name-limit';
import type { DedupeTable } from './dedupe-table';
import type { DeliveryLane } from './delivery-lane';
import { ClaimState, DedupeAttribute } from '../contracts/lane';
import { GuildSettingsAttribute } from '../contracts/interactions';
import { RelayErrorCode } from '../contracts/errors';
import { channelRoutePath } from '../contracts/routes';
import { DeliveryStateName as S } from '../contracts/state-names';
import { DYNAMODB_RETRY, RETRYABLE_SERVER_ERRORS, VERIFY_RETRY } from './task-retries';
import type { WebhookProxyApi } from './webhook-proxy-api';

/**
 * Answers that will not change on a retry: the message's events go to the dead-letter queue.
 * Discord's, and Slack's (400 invalid_payload/no_text, 403 action_prohibited, 404
 * channel_not_found/no_service, 410 channel_is_archived).
 */
export const PERMANENT_REFUSALS = ['ApiGateway.400', 'ApiGateway.401', 'ApiGateway.403', 'ApiGateway.404', 'ApiGateway.405', 'ApiGateway.410', 'ApiGateway.413', 'ApiGateway.415'];

/** What a message post's answer is kept as: what Pace reads. */
const ANSWER = { 'status.$': '$.StatusCode', 'headers.$': '$.Headers' };
/** A card request's answer also keeps the message id the card is edited by (Discord sends it with ?wait=true). */
const CARD_ANSWER = { ...ANSWER, 'messageId.$': '$.ResponseBody.id' };

const SERVER_ERROR_RETRY: sfn.RetryProps = {
  errors: RETRYABLE_SERVER_ERRORS, interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 2, jitterStrategy: sfn.JitterType.FULL,
};

export interface DeliveryStateMachineProps {
  readonly coalesceFunction: lambda.IFunction;
  readonly paceFunction: lambda.IFunction;
  /** Renders live cards; needed when a channel of the webhook proxy is editable (card routes). @default - no card states */
  readonly cardFunction?: lambda.IFunction;
  readonly webhookProxy: WebhookProxyApi;
  readonly dedupe: DedupeTable;
  readonly lane: DeliveryLane;
  /**
   * The Discord app's guild settings, read again as each batch is delivered (once per guild of
   * the batch): an opt-out or a pause applies to events already on a lane too.
   * @default - no opt-outs, no pauses
   */
  readonly guildSettings?: dynamodb.ITable;
  /**
   * 429s answered to one message before the execution gives up (the queue hands the batch out again later).
   * @default 5
   */
  readonly maxRateLimitedAttempts?: number;
  /** Must stay under the lane's visibility timeout. @default Duration.minutes(2) */
  readonly timeout?: Duration;
  /** @default sfn.LogLevel.ERROR */
  readonly logLevel?: sfn.LogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class DeliveryStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  public readonly timeout: Duration;
  /** Post tasks by channel name. */
  public readonly postTasks: ReadonlyMap<string, FixedCallApiGatewayHttpApiEndpoint>;
  /** Card edit tasks by channel name (editable channels only). */
  public readonly editTasks: ReadonlyMap<string, FixedCallApiGatewayHttpApiEndpoint>;
  private readonly posts = new Map<string, FixedCallApiGatewayHttpApiEndpoint>();
  private readonly cards?: CardSteps;

  constructor(scope: Construct, id: string, props: DeliveryStateMachineProps) {
    super(scope, id);
    validateStateNames(this);
    this.timeout = props.timeout ?? Duration.minutes(2);
    const maxAttempts = props.maxRateLimitedAttempts ?? 5;
    this.node.addValidation({
      validate: () => {
        const problems: string[] = [];
        if (this.timeout.toSeconds() >= props.lane.visibilityTimeout.toSeconds()) {
          problems.push(`timeout (${this.timeout.toHumanString()}) must be shorter than the lane's visibility timeout (${props.lane.visibilityTimeout.toHumanString()}), or a batch is handed out twice while it runs`);
        }
        if (!Number.isInteger(maxAttempts) || maxAttempts < 1) problems.push(`maxRateLimitedAttempts must be a whole number ≥ 1 (got ${maxAttempts})`);
        if (props.webhookProxy.editRoutes.size > 0 && !props.cardFunction) problems.push('the webhook proxy has editable channels (card routes): give cardFunction to render the cards');
        return problems;
      },
    });

    const table = props.dedupe.table;
    if (props.cardFunction && props.webhookProxy.editRoutes.size > 0) {
      this.cards = new CardSteps(this, { table, cardFunction: props.cardFunction, webhookProxy: props.webhookProxy, resultSelector: CARD_ANSWER });
    }
    const readClaim = new tasks.DynamoGetItem(this, S.ReadClaim, {
      table,
      key: { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.event.id')) },
      consistentRead: true,
      resultPath: '$.claim',
    });
    readClaim.addRetry(DYNAMODB_RETRY);
    const lookUp = new sfn.Map(this, S.LookUpClaims, {
      comment: 'Reads each event and its dedupe item: events already delivered are skipped',
      // The record's SQS message id (the dead-letter queue's deduplication id: one copy per lane
      // message, a new one after a redrive) and its body as queued (kept as is for an unreadable one).
      itemSelector: {
        event: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$$.Map.Item.Value.body')),
        'messageId.$': '$$.Map.Item.Value.messageId',
        'body.$': '$$.Map.Item.Value.body',
      },
      maxConcurrency: 10,
    });
    lookUp.itemProcessor(props.guildSettings ? readClaim.next(this.noteGuild()) : readClaim);

    // Its result replaces the batch (no ResultPath: the local engine refuses `$` on an array input).
    // Slack channels' messages are rendered for Slack (a static list, in the definition).
    const slack = props.webhookProxy.slackChannels;
    const coalesce = this.lambdaStep(S.Coalesce, props.coalesceFunction, {
      ...(props.guildSettings ? { batch: sfn.JsonPath.objectAt('$.batch'), guilds: sfn.JsonPath.objectAt('$.guilds') } : { batch: sfn.JsonPath.entirePayload }),
      ...(slack.length > 0 ? { slackChannels: slack } : {}),
    });
    const beforeCoalesce = props.guildSettings ? this.readEachGuild(props.guildSettings).next(coalesce) : coalesce;
    const postEach = new sfn.Map(this, S.PostEach, {
      comment: 'One message at a time: a webhook takes one request at a time',
      itemsPath: '$.messages',
      itemSelector: { message: sfn.JsonPath.objectAt('$$.Map.Item.Value'), attempt: 0 },
      maxConcurrency: 1,
      resultPath: '$.results',
    });
    postEach.itemProcessor(this.postOneMessage(props, maxAttempts));
    const done = new sfn.Pass(this, S.Done, { parameters: { 'skipped.$': '$.skipped', 'malformed.$': '$.malformed', 'results.$': '$.results' } });
    postEach.next(done);
    coalesce.next(new sfn.Choice(this, S.AnyMalformed)
      .when(sfn.Condition.isPresent('$.malformed[0]'), this.deadLetterMalformed(props.lane).next(postEach))
      .otherwise(postEach));

    this.postTasks = this.posts;
    this.editTasks = this.cards?.edits ?? new Map();
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-delivery`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Discord Event Relay delivery: coalesce a batch from the lanes and post it, paced by Discord',
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(lookUp.next(beforeCoalesce)),
      timeout: this.timeout,
      logs: { destination: this.logGroup, level: props.logLevel ?? sfn.LogLevel.ERROR, includeExecutionData: false },
    });
    acknowledgeExpressWorkflowFindings(this.stateMachine);
    acknowledgeCardEditGrants(this.stateMachine, [...this.editTasks.values()].map((t) => t.executeApiArn));
    // A CustomState grants nothing by itself: the dead-letter task's one permission.
    props.lane.grantDeadLetter(this.stateMachine);
  }

  /** In Look up claims: each event notes its guild (`$.guild.id`, '' for none), so the guilds can be found with no wildcard that may match nothing. */
  private noteGuild(): sfn.IChainable {
    return new sfn.Choice(this, S.HasGuild)
      .when(sfn.Condition.isPresent('$.event.guildId'), new sfn.Pass(this, S.NoteGuild, { parameters: { 'id.$': '$.event.guildId' }, resultPath: '$.guild' }))
      .otherwise(new sfn.Pass(this, S.NoGuild, { parameters: { id: '' }, resultPath: '$.guild' }));
  }

  /**
   * Each guild of the batch, read once (`$.guilds`: `{ guildId, settings }`), for Coalesce, which
   * leaves out opted-out members and paused guilds: an opt-out or a pause applies to events already
   * on a lane too.
   */
  private readEachGuild(table: dynamodb.ITable): sfn.Chain {
    const read = new tasks.DynamoGetItem(this, S.ReadGuildSettings, {
      table,
      key: { [GuildSettingsAttribute.GuildId]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.guildId')) },
      resultPath: '$.settings',
    });
    read.addRetry(DYNAMODB_RETRY);
    const each = new sfn.Map(this, S.ReadEachGuild, {
      itemsPath: '$.ids',
      itemSelector: { 'guildId.$': '$$.Map.Item.Value' },
      maxConcurrency: 10,
      resultPath: '$.guilds',
    }).itemProcessor(new sfn.Choice(this, S.IsGuild)
      .when(sfn.Condition.stringEquals('$.guildId', ''), new sfn.Pass(this, S.NotAGuild))
      .otherwise(read));
    // Every event noted a guild id (or ''), so the wildcard's list is never empty; the intrinsic runs on it in the next state.
    return new sfn.Pass(this, S.ListGuilds, { parameters: { 'batch.$': '$', 'ids.$': '$[*].guild.id' } })
      .next(new sfn.Pass(this, S.FindGuilds, { parameters: { 'batch.$': '$.batch', 'ids.$': 'States.ArrayUnique($.ids)' } }))
      .next(each);
  }

  /** Lets `grantee` run the workflow synchronously (what a pipe with REQUEST_RESPONSE does). */
  public grantStartSyncExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartSyncExecution(grantee);
  }

  private lambdaStep(name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath?: string): tasks.LambdaInvoke {
    const step = new tasks.LambdaInvoke(this, name, {
      lambdaFunction: unqualified(this, fn),
      payload: sfn.TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath,
      taskTimeout: sfn.Timeout.duration(Duration.seconds(10)),
    });
    step.addRetry(VERIFY_RETRY);
    return step;
  }

  /** One message: pick its webhook, post, pace, mark; 429 → wait and post again; a refusal → dead-letter. */
  private postOneMessage(props: DeliveryStateMachineProps, maxAttempts: number): sfn.IChainable {
    const table = props.dedupe.table;
    const pick = new sfn.Choice(this, S.PickWebhook);
    const deadLetter = this.deadLetter(props.lane, props.webhookProxy.slackChannels);

    const markDelivered = this.markDeliveredStep(table);
    const posted = new sfn.Pass(this, S.Posted, { parameters: { outcome: 'posted', 'ids.$': '$.message.ids' } });
    const bucketEmpty = new sfn.Choice(this, S.BucketEmpty)
      .when(sfn.Condition.numberGreaterThan('$.pace.waitSeconds', 0), new sfn.Wait(this, S.WaitForBucket, { time: sfn.WaitTime.secondsPath('$.pace.waitSeconds') }).next(posted))
      .otherwise(posted);
    // The message is on Discord: a failed mark must not fail the batch (that would post it again).
    markDelivered.addCatch(bucketEmpty, { errors: [sfn.Errors.ALL], resultPath: '$.markError' });
    const pace = this.lambdaStep(S.Pace, props.paceFunction, { answer: sfn.JsonPath.objectAt('$.answer') }, '$.pace');
    markDelivered.next(bucketEmpty);
    pace.next(this.cards ? this.cards.keep(markDelivered) : markDelivered);

    // With cards, a message starts at Send (card: edit or post), and a 429 comes back there.
    const send = this.cards && new sfn.Choice(this, S.Send);
    const paceAfter429 = this.retryAfterRateLimit(send ?? pick, props.paceFunction, maxAttempts);
    // The refusal's body can quote the webhook URL; Pace gives it back redacted for the reason.
    const describeRefusal = this.lambdaStep(S.DescribeRefusal, props.paceFunction, { answer: sfn.JsonPath.objectAt('$.answer') }, '$.pace');
    describeRefusal.next(deadLetter);

    const targets = { pace, rateLimited: paceAfter429, refused: describeRefusal, refusals: PERMANENT_REFUSALS, serverErrorRetry: SERVER_ERROR_RETRY };
    for (const channel of props.webhookProxy.routes.keys()) {
      const post = webhookTask(this, S.post(channel), { proxy: props.webhookProxy, method: tasks.HttpMethod.POST, apiPath: channelRoutePath(channel), resultSelector: ANSWER, targets });
      pick.when(sfn.Condition.stringEquals('$.message.channel', channel), post);
      this.posts.set(channel, post);
    }
    const noRoute = new sfn.Pass(this, S.NoRoute, {
      parameters: { 'message.$': '$.message', answer: { Error: 'Relay.NoRoute', Cause: 'the webhook proxy has no route for this channel' } },
    }).next(describeRefusal);
    pick.otherwise(noRoute);
    if (!this.cards || !send) return pick;
    this.cards.route(send, markDelivered, { ...targets, noRoute }, pick);
    return this.cards.start(send);
  }

  /** Marks each of the message's events `delivered` in the dedupe table, and delivered to the message's channel. */
  private markDeliveredStep(table: DedupeTable['table']): sfn.Map {
    const markOne = new tasks.DynamoUpdateItem(this, S.MarkOne, {
      table,
      key: { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.id')) },
      // The channel joins the set of those that posted it: a copy of the event on another channel's lane still posts there.
      updateExpression: 'SET #state = :delivered, #deliveredAt = :at ADD #deliveredTo :channel',
      expressionAttributeNames: { '#state': DedupeAttribute.State, '#deliveredAt': DedupeAttribute.DeliveredAt, '#deliveredTo': DedupeAttribute.DeliveredTo },
      expressionAttributeValues: {
        ':delivered': tasks.DynamoAttributeValue.fromString(ClaimState.Delivered),
        ':at': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.at')),
        ':channel': tasks.DynamoAttributeValue.fromStringSet(sfn.JsonPath.listAt('$.channel')),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    markOne.addRetry(DYNAMODB_RETRY);
    const markDelivered = new sfn.Map(this, S.MarkDelivered, {
      itemsPath: '$.message.ids',
      // The batch's start time: within the execution's 2 minutes of the post, and in every context object.
      itemSelector: { id: sfn.JsonPath.stringAt('$$.Map.Item.Value'), at: sfn.JsonPath.stringAt('$$.Execution.StartTime'), channel: sfn.JsonPath.array(sfn.JsonPath.stringAt('$.message.channel')) },
      maxConcurrency: 10,
      resultPath: sfn.JsonPath.DISCARD,
    });
    markDelivered.itemProcessor(markOne);
    return markDelivered;
  }

  /** A 429: Pace reads retry_after, the attempt is counted, then wait and post again — or give up and let the lane hand the batch out again. */
  private retryAfterRateLimit(pick: sfn.IChainable, paceFunction: lambda.IFunction, maxAttempts: number): sfn.IChainable {
    const retryOrGiveUp = new sfn.Choice(this, S.RetryOrGiveUp)
      .when(sfn.Condition.numberLessThan('$.attempt', maxAttempts), new sfn.Wait(this, S.WaitRetryAfter, { time: sfn.WaitTime.secondsPath('$.pace.waitSeconds') }).next(pick))
      .otherwise(new sfn.Fail(this, S.RateLimited, { error: RelayErrorCode.DeliveryFailed, cause: `still rate limited after ${maxAttempts} attempts; the queue hands the batch out again` }));
    const paceAfter429 = this.lambdaStep(S.PaceAfter429, paceFunction, { answer: sfn.JsonPath.objectAt('$.answer') }, '$.pace');
    paceAfter429
      .next(new sfn.Pass(this, S.CountAttempt, { parameters: { 'message.$': '$.message', 'attempt.$': 'States.MathAdd($.attempt, 1)', 'pace.$': '$.pace' } }))
      .next(retryOrGiveUp);
    return paceAfter429;
  }

  /**
   * Each lane event Coalesce could not read goes to the dead-letter queue alone, as it was queued,
   * with Relay.Malformed and the reason; the rest of its batch goes on (a poisoned batch would
   * otherwise fail on every receive and take its good events to the dead-letter queue too).
   */
  private deadLetterMalformed(lane: DeliveryLane): sfn.Map {
    const one = new sfn.CustomState(this, S.DeadLetterMalformedOne, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sqs:sendMessage`,
        // The raw body, grouped by its channel (or `malformed`), deduplicated by the lane message: a copy again after a redrive is a new message, not dropped.
        Parameters: lane.deadLetterParameters({ event: '$.body', channel: '$.group', id: '$.messageId', error: '$.error', reason: '$.reason' }),
        ResultPath: null,
      },
    });
    return new sfn.Map(this, S.DeadLetterMalformed, {
      comment: 'Lane events Coalesce cannot read: kept for inspection, the batch goes on',
      itemsPath: '$.malformed',
      itemSelector: { 'body.$': '$$.Map.Item.Value.body', 'group.$': '$$.Map.Item.Value.group', 'messageId.$': '$$.Map.Item.Value.messageId', 'reason.$': '$$.Map.Item.Value.reason', error: RelayErrorCode.Malformed },
      maxConcurrency: 10,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(one);
  }

  /**
   * Each event of the refused message goes to the dead-letter queue as it was queued, with the
   * reason as message attributes, naming who refused it (Discord, or Slack for a Slack channel).
   */
  private deadLetter(lane: DeliveryLane, slackChannels: readonly string[]): sfn.IChainable {
    const one = new sfn.CustomState(this, S.DeadLetterOne, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sqs:sendMessage`,
        Parameters: lane.deadLetterParameters({ event: '$.event', id: '$.messageId', error: '$.error', reason: "States.Format('{} answered {}: {}', $.answerer, $.error, $.cause)" }),
        ResultPath: null,
      },
    });
    const map = new sfn.Map(this, S.DeadLetter, {
      comment: 'A permanent refusal (deleted webhook, invalid message): keep the events for inspection and redrive, and go on',
      itemsPath: '$.message.events',
      // Each event's lane message id, by its place in the message: a redrive's new copy is never taken for the first.
      itemSelector: {
        event: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
        'messageId.$': 'States.ArrayGetItem($.message.messageIds, $$.Map.Item.Index)',
        error: sfn.JsonPath.stringAt('$.answer.Error'), cause: sfn.JsonPath.stringAt('$.pace.detail'), answerer: sfn.JsonPath.stringAt('$.answerer'),
      },
      maxConcurrency: 10,
      resultPath: sfn.JsonPath.DISCARD,
    });
    map.itemProcessor(one);
    map.next(new sfn.Pass(this, S.DeadLettered, { parameters: { outcome: 'dead-lettered', 'ids.$': '$.message.ids', 'error.$': '$.answer.Error' } }));
    const answerer = (name: string) => new sfn.Pass(this, `${S.NameAnswerer}: ${name}`, { result: sfn.Result.fromString(name), resultPath: '$.answerer' }).next(map);
    // A Choice needs a rule: without Slack channels every refusal is Discord's.
    if (slackChannels.length === 0) return answerer('Discord');
    return new sfn.Choice(this, S.NameAnswerer)
      .when(sfn.Condition.or(...slackChannels.map((c) => sfn.Condition.stringEquals('$.message.channel', c))), answerer('Slack'))
      .otherwise(answerer('Discord'));
  }
}
