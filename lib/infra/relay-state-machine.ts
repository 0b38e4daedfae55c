/**
 * The relay workflow (Express): Receive → Verify → Route (Choice) → Format (Pass) → the claim steps
 * (claim-steps.ts: Claim id → Enqueue on the channel's lane → Queued), with every rejection ending in a
 * Fail state named and coded after the `Relay.*` error it carries (docs/architecture.md §2.4).
 * Without lanes it keeps the pre-lanes path, Format → Post → Delivered (one message per event,
 * no dedupe), which the bench compares against.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FixedCallApiGatewayHttpApiEndpoint } from './call-http-api-endpoint';
import { acknowledgeExpressWorkflowFindings } from './nag-acknowledgements';
import { validateStateNames } from './state-name-limit';
import { unqualified } from './relay-function';
import { DYNAMODB_RETRY, DYNAMODB_TIMEOUT, POST_RETRIES, POST_TIMEOUT, VERIFY_RETRY, VERIFY_TIMEOUT } from './task-retries';
import { RelayErrorCode, VERIFY_REJECTION_CODES } from '../contracts/errors';
import { parseTemplate, type TemplatePart } from '../contracts/template';
import { MAX_CHANNELS_PER_KIND, channelRoutePath, type ChannelKind, type EventRoute } from '../contracts/routes';
import { StateName } from '../contracts/state-names';
import type { WebhookProxyApi } from './webhook-proxy-api';
import { ClaimSteps, receivedAtPlus, type RelayLanes } from './claim-steps';
import { RelayOutcome, type CardSettings } from '../contracts/lane';
import { EventKind, relayTestFormat } from '../contracts/events';
import { BATCH_ENVELOPE_VERSION, MAX_BATCH_EVENTS } from '../contracts/envelope';
import { GuildSettingsAttribute, IgnoreReason } from '../contracts/interactions';
import { HEARTBEAT_RETENTION_DAYS, HeartbeatAttribute } from '../contracts/metrics';

/** An event that failed inside the Map: its outcome, with a code and cause added. */
const FAILED = { 'id.$': '$.id', 'kind.$': '$.kind', outcome: RelayOutcome.Failed } as const;

/** Where the Verify step puts each template field. */
const TEXT_PATH = '$.text';

/**
 * The `line` of a Format state: a `States.Format` call whose arguments are the escaped fields
 * the Verify step produced, so user text is data and never part of the format string.
 */
export function lineParameter(parts: readonly TemplatePart[]): { 'line.$': string } | { line: string } {
  const args = parts.flatMap((p) => ('field' in p ? [`${TEXT_PATH}.${p.field}`] : []));
  if (args.length === 0) return { line: parts.map((p) => ('text' in p ? p.text : '')).join('') };
  // In intrinsic string literals `'`, `{`, `}` and `\` are reserved and escaped with `\`.
  const format = parts.map((p) => ('field' in p ? '{}' : p.text.replace(/['{}\\]/g, '\\$&'))).join('');
  return { 'line.$': `States.Format('${format}', ${args.join(', ')})` };
}

export interface RelayStateMachineProps {
  readonly verifyFunction: lambda.IFunction;
  readonly webhookProxy: WebhookProxyApi;
  /** Each names a channel of `webhookProxy`; a kind with several routes (one per channel) is sent to each. */
  readonly routes: readonly EventRoute[];
  /** @default - no lanes: each execution posts its own message (no dedupe, no pacing) */
  readonly lanes?: RelayLanes;
  /**
   * The Discord app's guild settings: a voice event of a member who opted out, or from a paused
   * guild, SUCCEEDS as `ignored` with the reason, and lane events carry the guild and user ids
   * the delivery workflow checks again.
   * @default - no opt-outs, no pauses
   */
  readonly guildSettings?: dynamodb.ITable;
  /**
   * Where each forwarder heartbeat is written (`HeartbeatTable`): the forwarder's item, whose
   * table write metric the heartbeat alarm watches.
   */
  readonly heartbeatTable: dynamodb.ITable;
  /** @default sfn.LogLevel.ERROR */
  readonly logLevel?: sfn.LogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class RelayStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  /** Post tasks by channel name. */
  public readonly postTasks: ReadonlyMap<string, FixedCallApiGatewayHttpApiEndpoint>;

  constructor(scope: Construct, id: string, props: RelayStateMachineProps) {
    super(scope, id);
    const routes = usableRoutes(props.routes, props.webhookProxy);
    this.node.addValidation({ validate: () => routes.problems });
    validateStateNames(this);

    // Any JSON body starts an execution (null, [], 123, "text"); wrapped, it always gives Verify's
    // Catch an object to add the error to, so each of them ends in Relay.Malformed.
    const receive = new sfn.Pass(this, StateName.Receive, { parameters: { 'envelope.$': '$' } });
    const verify = new tasks.LambdaInvoke(this, StateName.Verify, {
      lambdaFunction: unqualified(this, props.verifyFunction),
      // InputPath, not payload: with payloadResponseOnly, CDK would render a path as Parameters, which ASL refuses.
      inputPath: '$.envelope',
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(VERIFY_TIMEOUT),
      comment: 'Checks key id, Ed25519 signature, freshness, size, schema and guild; outputs the normalized event',
    });
    verify.addRetry(VERIFY_RETRY);
    for (const code of VERIFY_REJECTION_CODES) {
      verify.addCatch(new sfn.Fail(this, code, { error: code, causePath: '$.error.Cause' }), { errors: [code], resultPath: '$.error' });
    }

    const delivered = new sfn.Pass(this, StateName.Delivered, {
      parameters: { 'id.$': '$.id', 'kind.$': '$.kind', 'channel.$': '$.channel', 'status.$': '$.delivery.status', outcome: RelayOutcome.Delivered },
    });
    const deliveryFailed = new sfn.Pass(this, StateName.DescribeDeliveryFailure, {
      // The status only: the body can quote the webhook URL, and this cause reaches the caller.
      parameters: { ...FAILED, 'channel.$': '$.channel', code: RelayErrorCode.DeliveryFailed, 'cause.$': "States.Format('{} webhook answered {}', $.channel, $.error.Error)" },
    });

    const postTasks = new Map<string, FixedCallApiGatewayHttpApiEndpoint>();
    const postFor = (channel: string): FixedCallApiGatewayHttpApiEndpoint => {
      let post = postTasks.get(channel);
      if (!post) {
        post = new FixedCallApiGatewayHttpApiEndpoint(this, StateName.post(channel), {
          apiId: props.webhookProxy.apiId,
          apiStack: Stack.of(props.webhookProxy),
          method: tasks.HttpMethod.POST,
          apiPath: channelRoutePath(channel),
          authType: tasks.AuthType.IAM_ROLE,
          // `parse: []`: user text can never ping anyone, whatever it contains.
          requestBody: sfn.TaskInput.fromObject({ content: sfn.JsonPath.stringAt('$.line'), allowed_mentions: { parse: [] } }),
          resultSelector: { 'status.$': '$.StatusCode' },
          resultPath: '$.delivery',
          // Not retried on timeout: Discord may have posted already.
          taskTimeout: sfn.Timeout.duration(POST_TIMEOUT),
        });
        for (const retry of POST_RETRIES) post.addRetry(retry);
        post.addCatch(deliveryFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
        post.next(delivered);
        postTasks.set(channel, post);
      }
      return post;
    };

    const internal = new sfn.Fail(this, RelayErrorCode.Internal, { error: RelayErrorCode.Internal, causePath: '$.error.Cause' });
    // Inside the Map an event's failure is its outcome: a Fail state there would end every other event of its batch mid-way.
    const failed = new sfn.Pass(this, StateName.Failed, { parameters: { ...FAILED, code: RelayErrorCode.Internal, 'cause.$': '$.error.Cause' } });
    const claimSteps = props.lanes && new ClaimSteps(this, props.lanes);
    const claim = claimSteps?.claimChain();
    const route = new sfn.Choice(this, StateName.Route, { comment: 'Event kinds without a route are ignored' });
    route.when(sfn.Condition.stringEquals('$.kind', EventKind.ForwarderHeartbeat), this.recordHeartbeat(props.heartbeatTable, failed));
    route.when(sfn.Condition.stringEquals('$.kind', EventKind.Probe), new sfn.Pass(this, StateName.ProbeAnswered, {
      comment: 'relay doctor: the envelope passed Verify; answered without writing a heartbeat, so it never stands in for a forwarder',
      parameters: { 'id.$': '$.id', 'kind.$': '$.kind', 'forwarder.$': '$.forwarder', outcome: RelayOutcome.Checked },
    }));
    // relay doctor --post: every channel takes its test message, whatever the routes say; it is claimed and queued like an event.
    for (const channel of props.webhookProxy.routes.keys()) {
      const format = new sfn.Pass(this, StateName.formatTest(channel), { parameters: testMessageParameters(channel, claim !== undefined), resultPath: claim && '$.fan.f0' });
      const test = sfn.Condition.and(sfn.Condition.stringEquals('$.kind', EventKind.RelayTest), sfn.Condition.stringEquals('$.channel', channel));
      route.when(test, claim ? format.next(this.copySteps('test message', [channel], `test message for ${channel}`)).next(claim) : format.next(postFor(channel)));
    }
    for (const [event, kindRoutes] of routesByKind(routes.usable)) {
      const sendable = kindRoutes.filter((r) => {
        const kind = props.webhookProxy.kinds.get(r.channel) ?? 'discord';
        if (claim) return true;
        if (r.mode === 'card') routes.problems.push(`the ${r.event} route is a card route, which needs the delivery lanes (not directDelivery)`);
        else if (kind === 'slack') routes.problems.push(`the ${r.event} route goes to Slack channel "${r.channel}", which needs the delivery lanes (not directDelivery)`);
        else return true;
        return false;
      });
      if (sendable.length === 0) continue;
      if (!claim && sendable.length > 1) {
        routes.problems.push(`${event} goes to ${sendable.map((r) => r.channel).join(', ')}; sending one event to several channels needs the delivery lanes (not directDelivery)`);
        continue;
      }
      const formats = sendable.map((r, i) => {
        const kind = props.webhookProxy.kinds.get(r.channel) ?? 'discord';
        return new sfn.Pass(this, StateName.format(event, sendable.length > 1 ? r.channel : undefined), {
          parameters: formatParameters(r, claim !== undefined, cardSettings(routes.usable, r.channel), props.guildSettings !== undefined, kind),
          // With lanes, each channel's format is kept beside the event for the next channel's.
          resultPath: claim && `$.fan.f${i}`,
        });
      });
      const chain = formats.slice(1).reduce((c, format) => c.next(format), sfn.Chain.start(formats[0]!));
      const next = claim ? chain.next(this.copySteps(event, sendable.map((r) => r.channel))).next(claim) : chain.next(postFor(sendable[0]!.channel));
      route.when(sfn.Condition.stringEquals('$.kind', event), this.enoughMembers(sendable.find((r) => r.mode !== 'card') ?? sendable[0]!, next));
    }
    route.otherwise(
      new sfn.Pass(this, StateName.Ignored, {
        parameters: { 'id.$': '$.id', 'kind.$': '$.kind', outcome: RelayOutcome.Ignored, code: RelayErrorCode.Ignored, reason: IgnoreReason.NoRoute },
      }),
    );
    verify.addCatch(internal, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    const afterVerify = props.guildSettings ? this.checkGuildSettings(props.guildSettings, route, failed) : route;
    this.postTasks = postTasks;
    const handleEach = this.handleEachEvent(afterVerify, internal, claimSteps && ((answer) => claimSteps.queueClaimed(answer)),
      props.guildSettings && ((map) => this.readEnvelopeGuild(props.guildSettings!, map)));

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing per log group.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-relay`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Discord Event Relay: verify a signed event, route it, format it and post it',
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(receive.next(verify).next(handleEach)),
      timeout: Duration.minutes(5),
      logs: { destination: this.logGroup, level: props.logLevel ?? sfn.LogLevel.ERROR, includeExecutionData: false },
    });
    acknowledgeExpressWorkflowFindings(this.stateMachine);
    // A CustomState grants nothing by itself: Keep as dead letter's one permission.
    props.lanes?.lane.grantDeadLetter(this.stateMachine);
  }

  /**
   * Each event of the envelope through `perEvent`, side by side, then the answer: a batch's outcomes
   * by event, or a lone event's outcome as v1 callers know it, a failure ending in the Fail state of
   * its code. Side by side keeps an event's worst case (and so the claim lease's bounds) what it is
   * alone; events of one batch may reach their lane in any order, so a sender puts two events whose
   * order matters (one member's join and leave) in separate envelopes, as the forwarder does.
   */
  private handleEachEvent(perEvent: sfn.IChainable, internal: sfn.Fail, afterEach?: (answer: sfn.IChainable) => sfn.IChainable,
    beforeEach?: (map: sfn.IChainable) => sfn.IChainable): sfn.IChainable {
    const rejected = new sfn.Pass(this, StateName.Rejected, {
      parameters: { 'id.$': '$.id', outcome: RelayOutcome.Rejected, 'code.$': '$.rejected.code', 'reason.$': '$.rejected.reason' },
    });
    const isRejected = new sfn.Choice(this, StateName.IsRejected).when(sfn.Condition.isPresent('$.rejected'), rejected).otherwise(perEvent);
    const each = new sfn.Map(this, StateName.HandleEach, {
      comment: 'One iteration per event of the envelope (one for v1), side by side',
      itemsPath: '$.events',
      // With a read before the Map, each event gets what it found (`$.shared`) merged in.
      itemSelector: beforeEach && { 'item.$': '$$.Map.Item.Value', 'shared.$': '$.shared' },
      maxConcurrency: MAX_BATCH_EVENTS,
      resultPath: '$.results',
    }).itemProcessor(beforeEach
      ? new sfn.Pass(this, StateName.TakeEnvelopeGuild, { parameters: { 'merged.$': 'States.JsonMerge($.item, $.shared, false)' }, outputPath: '$.merged' }).next(isRejected)
      : isRejected);
    const outcome = '$.outcome';
    const lone = new sfn.Pass(this, StateName.LoneOutcome, { parameters: { 'outcome.$': 'States.ArrayGetItem($.results, 0)' } })
      .next(new sfn.Choice(this, StateName.LoneFailed)
        .when(sfn.Condition.stringEquals(`${outcome}.outcome`, RelayOutcome.Failed), new sfn.Choice(this, StateName.WhichFailure)
          .when(sfn.Condition.stringEquals(`${outcome}.code`, RelayErrorCode.DeliveryFailed),
            new sfn.Fail(this, RelayErrorCode.DeliveryFailed, { error: RelayErrorCode.DeliveryFailed, causePath: `${outcome}.cause` }))
          .otherwise(new sfn.Pass(this, StateName.DescribeInternal, { parameters: { 'Cause.$': `${outcome}.cause` }, resultPath: '$.error' }).next(internal)))
        .otherwise(new sfn.Pass(this, StateName.Answer, { outputPath: outcome })));
    const answer = new sfn.Choice(this, StateName.IsBatch)
      .when(sfn.Condition.numberEquals('$.v', BATCH_ENVELOPE_VERSION), new sfn.Pass(this, StateName.BatchOutcome, { parameters: { 'id.$': '$.id', 'events.$': '$.results' } }))
      .otherwise(lone);
    const chain = each.next(afterEach ? afterEach(answer) : answer);
    return beforeEach ? beforeEach(chain) : chain;
  }

  /**
   * Before the Map, with the Discord app: an envelope whose events all come from one guild (a
   * forwarder's batch) reads that guild's settings once, into `$.shared.guild`; any other envelope
   * leaves `$.shared` empty and each event reads its own. A read that failed is each of its
   * events' failure (`$.shared.guildUnread`), as a failed read of its own would be, so no event
   * waits for two reads on its way to the send (the claim lease's bounds stay as they are).
   */
  private readEnvelopeGuild(table: dynamodb.ITable, then: sfn.IChainable): sfn.IChainable {
    const perEvent = new sfn.Pass(this, StateName.ReadPerEvent, { result: sfn.Result.fromObject({}), resultPath: '$.shared' }).next(then);
    const read = new tasks.DynamoGetItem(this, StateName.ReadEnvelopeGuild, {
      table,
      key: { [GuildSettingsAttribute.GuildId]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.guilds.first')) },
      resultSelector: { 'guild.$': '$' },
      resultPath: '$.shared',
      taskTimeout: sfn.Timeout.duration(DYNAMODB_TIMEOUT),
    });
    read.addRetry(DYNAMODB_RETRY);
    read.addCatch(new sfn.Pass(this, StateName.EnvelopeGuildUnread, { parameters: { 'guildUnread.$': '$.guildError' }, resultPath: '$.shared' }).next(then),
      { errors: [sfn.Errors.ALL], resultPath: '$.guildError' });
    read.next(then);
    // The wildcard lists the ids in Parameters (as Collect outcomes does); the intrinsics count them in the next state.
    const list = new sfn.Pass(this, StateName.ListGuilds, { parameters: { 'ids.$': '$.events[*].event.guild.id' }, resultPath: '$.guilds' });
    const count = new sfn.Pass(this, StateName.CountGuilds, {
      parameters: { 'count.$': 'States.ArrayLength(States.ArrayUnique($.guilds.ids))', 'first.$': '$.events[0].event.guild.id' },
      resultPath: '$.guilds',
    });
    list.next(count).next(new sfn.Choice(this, StateName.OneGuild).when(sfn.Condition.numberEquals('$.guilds.count', 1), read).otherwise(perEvent));
    // The wildcard runs only where it matches something: what it gives for nothing is not documented.
    return new sfn.Choice(this, StateName.FirstHasGuild).when(sfn.Condition.isPresent('$.events[0].event.guild.id'), list).otherwise(perEvent);
  }

  /**
   * After the Format states (`$.fan.f<i>`, one per channel, in route order): each channel's copy of
   * the event, `{ channel, entry }`, its entry as SendMessageBatch takes it — the lane event as the
   * body, the channel as the group and the event id as the deduplication id (the lane deduplicates
   * per channel) — then the event as the claim steps take it: the first channel's summary, with
   * `copies` in channel order.
   */
  private copySteps(what: string, channels: readonly string[], whole: string = what): sfn.IChainable {
    const copies = channels.map((channel, i) => new sfn.Pass(this, StateName.laneEntry(what, channel), {
      parameters: {
        channel,
        entry: {
          // An entry id unique in the batch (Verify refuses one id twice) of the characters SendMessageBatch allows.
          'Id.$': i === 0 ? "States.Hash($.id, 'MD5')" : `States.Format('{}-${i}', States.Hash($.id, 'MD5'))`,
          'MessageBody.$': `States.JsonToString($.fan.f${i}.lane)`, MessageGroupId: channel, 'MessageDeduplicationId.$': '$.id',
        },
      },
      resultPath: `$.fan.c${i}`,
    }));
    const gather = new sfn.Pass(this, StateName.copies(whole), {
      parameters: {
        'id.$': '$.id', 'kind.$': '$.kind', channel: channels[0], 'receivedAt.$': '$.receivedAt',
        'copies.$': `States.Array(${channels.map((_, i) => `$.fan.c${i}`).join(', ')})`,
      },
    });
    return [...copies.slice(1), gather].reduce((chain, state) => chain.next(state), sfn.Chain.start(copies[0]!));
  }

  /** A heartbeat overwrites its forwarder's item in the heartbeat table (native PutItem, no Lambda) and is never posted. */
  private recordHeartbeat(table: dynamodb.ITable, internal: sfn.IChainable): sfn.IChainable {
    const record = new tasks.DynamoPutItem(this, StateName.RecordHeartbeat, {
      comment: "The forwarder's last heartbeat; the heartbeat alarm watches this table's writes",
      table,
      item: {
        [HeartbeatAttribute.Forwarder]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.forwarder')),
        [HeartbeatAttribute.At]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.StartTime')),
        [HeartbeatAttribute.Kid]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.kid')),
        // Forwarder names default to the host name: each new container would otherwise leave an item forever.
        [HeartbeatAttribute.ExpiresAt]: receivedAtPlus(HEARTBEAT_RETENTION_DAYS * 86400),
      },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(DYNAMODB_TIMEOUT),
    });
    record.addRetry(DYNAMODB_RETRY);
    record.addCatch(internal, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    const recorded = new sfn.Pass(this, StateName.HeartbeatRecorded, {
      parameters: { 'id.$': '$.id', 'kind.$': '$.kind', 'forwarder.$': '$.forwarder', outcome: RelayOutcome.Recorded },
    });
    return record.next(recorded);
  }

  /**
   * A message route with `minMembers` announces only when the channel has (join, move) or had
   * (leave) that many people; an event without occupants passes. Cards apply it when posting.
   */
  private enoughMembers(r: EventRoute, next: sfn.IChainable): sfn.IChainable {
    const min = r.minMembers ?? 1;
    if (r.mode === 'card' || min <= 1) return next;
    const count = r.event === 'voice.leave' ? '$.event.before.occupants.count' : '$.event.after.occupants.count';
    // After a leave the channel holds one fewer: it had N when it now holds N - 1.
    const needed = r.event === 'voice.leave' ? min - 1 : min;
    return new sfn.Choice(this, StateName.enough(r.event), { comment: `Announces only from ${min} people` })
      .when(sfn.Condition.and(sfn.Condition.isPresent(count), sfn.Condition.numberLessThan(count, needed)),
        new sfn.Pass(this, StateName.belowMinimum(r.event), { parameters: { 'id.$': '$.id', 'kind.$': '$.kind', outcome: RelayOutcome.Ignored, code: RelayErrorCode.Ignored, reason: IgnoreReason.BelowMinimum } }))
      .otherwise(next);
  }

  /**
   * A voice event's guild settings, read before it is routed: a paused guild or a member who
   * opted out ends `ignored` with the reason. One eventually consistent GetItem per envelope whose
   * events share a guild (readEnvelopeGuild), else per voice event; an opt-out written a moment
   * before may be missed here, and the delivery workflow reads again.
   */
  private checkGuildSettings(table: dynamodb.ITable, route: sfn.IChainable, internal: sfn.IChainable): sfn.IChainable {
    const item = '$.guild.Item';
    const ignored = (name: string, reason: string, extra: Record<string, string> = {}) =>
      new sfn.Pass(this, name, { parameters: { 'id.$': '$.id', 'kind.$': '$.kind', outcome: RelayOutcome.Ignored, code: RelayErrorCode.Ignored, reason, ...extra } });
    const read = new tasks.DynamoGetItem(this, StateName.ReadGuildSettings, {
      table,
      key: { [GuildSettingsAttribute.GuildId]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.event.guild.id')) },
      resultPath: '$.guild',
      taskTimeout: sfn.Timeout.duration(DYNAMODB_TIMEOUT),
    });
    read.addRetry(DYNAMODB_RETRY);
    read.addCatch(internal, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    // States.ArrayContains needs the set; the commands always write both attributes.
    const check = new sfn.Pass(this, StateName.CheckMember, {
      parameters: { 'optedOut.$': `States.ArrayContains(${item}.${GuildSettingsAttribute.OptedOut}.SS, $.event.user.id)`, 'now.$': '$$.Execution.StartTime' },
      resultPath: '$.member',
    }).next(new sfn.Choice(this, StateName.MemberAllowed)
      .when(sfn.Condition.timestampGreaterThanJsonPath(`${item}.${GuildSettingsAttribute.PausedUntil}.S`, '$.member.now'),
        ignored(StateName.Paused, IgnoreReason.Paused, { 'pausedUntil.$': `${item}.${GuildSettingsAttribute.PausedUntil}.S` }))
      .when(sfn.Condition.booleanEquals('$.member.optedOut', true), ignored(StateName.OptedOut, IgnoreReason.OptedOut))
      .otherwise(route));
    const unreadable = new sfn.Pass(this, StateName.DescribeUnreadableSettings, {
      parameters: { 'Cause.$': "States.Format('the guild settings item of {} lacks pausedUntil or optedOut; /relay resume rewrites it', $.event.guild.id)" },
      resultPath: '$.error',
    }).next(internal);
    const found = new sfn.Choice(this, StateName.GuildSettingsFound)
      .when(sfn.Condition.and(sfn.Condition.isPresent(`${item}.${GuildSettingsAttribute.PausedUntil}.S`), sfn.Condition.isPresent(`${item}.${GuildSettingsAttribute.OptedOut}.SS`)), check)
      .when(sfn.Condition.isPresent(item), unreadable)
      .otherwise(route);
    const fromGuild = sfn.Condition.isPresent('$.event.guild.id');
    // Read before the Map for the whole envelope (readEnvelopeGuild), or here for this event alone.
    const envelopeReadFailed = new sfn.Pass(this, StateName.EnvelopeGuildFailed, { inputPath: '$.guildUnread', resultPath: '$.error' }).next(internal);
    return new sfn.Choice(this, StateName.HasGuild)
      .when(sfn.Condition.and(fromGuild, sfn.Condition.isPresent('$.guildUnread')), envelopeReadFailed)
      .when(sfn.Condition.and(fromGuild, sfn.Condition.isPresent('$.guild')), found)
      .when(fromGuild, read.next(found))
      .otherwise(route);
  }
}

/** The voice channels a card event updates: the one joined or left, or both for a move. */
const CARD_VOICE: Record<string, string> = {
  'voice.join': 'States.Array($.event.after)',
  'voice.leave': 'States.Array($.event.before)',
  'voice.move': 'States.Array($.event.before, $.event.after)',
};

/**
 * A carded channel's settings, whichever card route an event took: the `minMembers` and
 * `pingRoleId` set on any card route of the channel (the config refuses two that differ). So a
 * card started by a move pings like one started by a join, and a batch's last event kind never
 * decides a session's settings.
 */
export function cardSettings(routes: readonly EventRoute[], channel: string): CardSettings {
  const cards = routes.filter((r) => r.mode === 'card' && r.channel === channel);
  const minMembers = cards.find((r) => r.minMembers !== undefined)?.minMembers;
  const pingRoleId = cards.find((r) => r.pingRoleId !== undefined)?.pingRoleId;
  return { ...(minMembers === undefined ? {} : { minMembers }), ...(pingRoleId === undefined ? {} : { pingRoleId }) };
}

/**
 * What a route's Format state writes: the summary the outcome reads, and either the lane event
 * (`lane`) Enqueue sends or, for direct delivery, the `line` the Post task sends.
 */
function formatParameters(r: EventRoute, lanes: boolean, settings: CardSettings, member: boolean, kind: ChannelKind): Record<string, unknown> {
  const summary = { 'id.$': '$.id', 'kind.$': '$.kind', channel: r.channel, 'receivedAt.$': '$.receivedAt' };
  // Who and where, for the delivery workflow's second look at the guild settings.
  const laneSummary = member ? { ...summary, 'guildId.$': '$.event.guild.id', 'userId.$': '$.event.user.id' } : summary;
  if (r.mode === 'card') {
    return {
      ...summary,
      lane: {
        ...laneSummary,
        'voice.$': CARD_VOICE[r.event],
        user: { 'id.$': '$.event.user.id', 'display_name.$': '$.event.user.display_name' },
        'at.$': '$.event.at',
        card: settings,
      },
    };
  }
  // Slack: the template and the event as sent; Coalesce renders them with Slack's escaping (lib/contracts/slack.ts).
  if (kind === 'slack') return { ...summary, lane: { ...laneSummary, slack: { template: r.template ?? '', 'event.$': '$.event' } } };
  const line = lineParameter(parseTemplate(r.template ?? ''));
  return lanes ? { ...summary, lane: { ...laneSummary, ...line } } : { ...summary, ...line };
}

/** A test message's Format state: the fixed text with the sender's name and the event id, for one channel. */
function testMessageParameters(channel: string, lanes: boolean): Record<string, unknown> {
  const summary = { 'id.$': '$.id', 'kind.$': '$.kind', channel, 'receivedAt.$': '$.receivedAt' };
  const format = relayTestFormat(channel).replace(/['\\]/g, '\\$&');
  const line = { 'line.$': `States.Format('${format}', $.from, $.id)` };
  return lanes ? { ...summary, lane: { ...summary, ...line } } : { ...summary, ...line };
}

/** The routes a state machine can be built from, and what is wrong with the others. */
function usableRoutes(routes: readonly EventRoute[], proxy: WebhookProxyApi): { usable: EventRoute[]; problems: string[] } {
  const usable: EventRoute[] = [];
  const problems: string[] = routes.length === 0 ? ['routes is empty; add at least one route'] : [];
  const routed = new Set<string>();
  for (const r of routes) {
    const key = `${r.event}\u0000${r.channel}`;
    if (routed.has(key)) problems.push(`two routes for ${r.event} to ${r.channel}; keep one route per event kind and channel`);
    else if (r.mode === 'card' && !proxy.editRoutes.has(r.channel)) problems.push(`the ${r.event} route is a card route, but channel "${r.channel}" is not editable on the webhook proxy (editable: true)`);
    else if (!proxy.routes.has(r.channel)) problems.push(`the ${r.event} route names channel "${r.channel}", which the webhook proxy does not have (known: ${[...proxy.routes.keys()].join(', ')})`);
    else usable.push(r);
    routed.add(key);
  }
  for (const [event, list] of routesByKind(usable)) {
    if (list.length > MAX_CHANNELS_PER_KIND) problems.push(`${event} goes to ${list.length} channels; an event goes to at most ${MAX_CHANNELS_PER_KIND} (its copies travel in the workflow's state, which Step Functions caps at 256 KiB)`);
    const minimums = new Set(list.filter((r) => r.mode !== 'card').map((r) => r.minMembers ?? 1));
    // The minimum is checked once per event, before its copies (the config says the same per field).
    if (minimums.size > 1) problems.push(`the ${event} routes set different minMembers (${[...minimums].join(', ')}); one event goes to all its channels, so give them one`);
    else if (list.some((r) => r.mode === 'card') && [...minimums].some((m) => m > 1)) problems.push(`${event} goes to a card and to a message route with minMembers; set the minimum on the card route`);
  }
  return { usable, problems };
}

/** Routes grouped by event kind, kinds and channels in the order given. */
function routesByKind(routes: readonly EventRoute[]): Map<string, EventRoute[]> {
  const byKind = new Map<string, EventRoute[]>();
  for (const r of routes) byKind.set(r.event, [...(byKind.get(r.event) ?? []), r]);
  return byKind;
}
