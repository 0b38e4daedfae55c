/**
 * The live-card states of the delivery workflow (one card update per item of "Post each message"):
 * Read card (its item in the dedupe table) → Render card (Lambda: post, edit, end or skip) → the
 * workflow's Send choice; Edit card in <channel> (PATCH through the webhook proxy, a dynamic path);
 * a card a moderator deleted (404) is posted anew; after Discord's answer, Keep card stores the
 * session (or forgets it when the card ended). Built by DeliveryStateMachine.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { FixedCallApiGatewayHttpApiEndpoint } from './call-http-api-endpoint';
import { webhookTask, type WebhookTargets } from './webhook-task';
import { unqualified } from './relay-function';
import { DYNAMODB_RETRY, POST_TIMEOUT, VERIFY_RETRY } from './task-retries';
import type { WebhookProxyApi } from './webhook-proxy-api';
import { CardAction, CardAttribute, DedupeAttribute } from '../contracts/lane';
import { channelMessagesPrefix, channelRoutePath } from '../contracts/routes';
import { DeliveryStateName as S } from '../contracts/state-names';

/** Where the card update or the rendered card is, and what it says to do. */
const ACTION = '$.message.card.action';
const isRendered = sfn.Condition.isPresent(ACTION);
const actionIs = (action: CardAction) => sfn.Condition.and(isRendered, sfn.Condition.stringEquals(ACTION, action));

export interface CardStepsProps {
  readonly table: dynamodb.ITable;
  readonly cardFunction: lambda.IFunction;
  readonly webhookProxy: WebhookProxyApi;
  /** What every webhook request answers with (status, headers, and the message id). */
  readonly resultSelector: Record<string, string>;
}

/** Where card requests go after Discord answers, and where a card of an unknown channel goes. */
export interface CardTargets extends WebhookTargets {
  readonly noRoute: sfn.IChainable;
}

export class CardSteps {
  /** Edit tasks by channel. */
  public readonly edits = new Map<string, FixedCallApiGatewayHttpApiEndpoint>();

  constructor(private readonly scope: Construct, private readonly props: CardStepsProps) {}

  /** A card update is read and rendered first; anything else goes straight to `send`. */
  public start(send: sfn.Choice): sfn.IChainable {
    const read = new tasks.DynamoGetItem(this.scope, S.ReadCard, {
      table: this.props.table,
      key: { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.key')) },
      consistentRead: true,
      resultPath: '$.stored',
    });
    read.addRetry(DYNAMODB_RETRY);
    const render = new tasks.LambdaInvoke(this.scope, S.RenderCard, {
      lambdaFunction: unqualified(this.scope, this.props.cardFunction),
      payload: sfn.TaskInput.fromObject({ message: sfn.JsonPath.objectAt('$.message'), stored: sfn.JsonPath.objectAt('$.stored') }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.message',
      taskTimeout: sfn.Timeout.duration(POST_TIMEOUT),
      comment: 'Post a new card, edit it, end it with a summary, or nothing yet (below minMembers)',
    });
    render.addRetry(VERIFY_RETRY);
    return new sfn.Choice(this.scope, S.CardOrMessage)
      // Not(IsPresent) rather than IsPresent: false, which aws-local-stepfunctions 3.0.0 never matches (docs/architecture.md §3).
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.message.card.key'), sfn.Condition.not(isRendered)), read.next(render).next(send))
      .otherwise(send);
  }

  /**
   * Wires `send`: skip → `noDiscord`; edit and end → the channel's edit task; a card to post → the
   * channel's card post (which keeps the message id); anything else → `messages` (the message posts).
   */
  public route(send: sfn.Choice, noDiscord: sfn.IChainable, targets: CardTargets, messages: sfn.IChainable): void {
    const pickEdit = new sfn.Choice(this.scope, S.PickCardWebhook);
    const pickPost = new sfn.Choice(this.scope, S.PickCardPostWebhook);
    const gone = this.cardGone(send, noDiscord, targets.refused);
    const proxy = this.props.webhookProxy;
    for (const channel of proxy.editRoutes.keys()) {
      const onChannel = sfn.Condition.stringEquals('$.message.channel', channel);
      const post = webhookTask(this.scope, S.postCard(channel), { proxy, method: tasks.HttpMethod.POST, apiPath: channelRoutePath(channel), resultSelector: this.props.resultSelector, targets });
      // A dynamic path: the grant is PATCH /channels/<channel>/messages/* (the patched construct's prefix wildcard).
      const apiPath = sfn.JsonPath.format(`${channelMessagesPrefix(channel)}{}`, sfn.JsonPath.stringAt('$.message.card.messageId'));
      // 404: Unknown Message (a moderator deleted the card: post a new one) or Unknown Webhook (dead-letter).
      const edit = webhookTask(this.scope, S.edit(channel), {
        proxy, method: tasks.HttpMethod.PATCH, apiPath, resultSelector: this.props.resultSelector, targets: { ...targets, extraCatches: [{ errors: ['ApiGateway.404'], handler: gone }] },
      });
      pickPost.when(onChannel, post);
      pickEdit.when(onChannel, edit);
      this.edits.set(channel, edit);
    }
    pickPost.otherwise(targets.noRoute);
    pickEdit.otherwise(targets.noRoute);
    send
      .when(actionIs(CardAction.Skip), new sfn.Pass(this.scope, S.NoCardYet, { parameters: { 'message.$': '$.message', 'attempt.$': '$.attempt', pace: { waitSeconds: 0 } } }).next(noDiscord))
      .when(sfn.Condition.or(actionIs(CardAction.Edit), actionIs(CardAction.End)), pickEdit)
      .when(actionIs(CardAction.Post), pickPost)
      .otherwise(messages);
  }

  /** After Discord's answer: keep the session of a live card, or remember when it ended, then `next`. */
  public keep(next: sfn.IChainable): sfn.IChainable {
    const save = new tasks.DynamoPutItem(this.scope, S.SaveCard, {
      table: this.props.table,
      item: {
        ...this.cardKey(),
        [CardAttribute.MessageId]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.answer.messageId')),
        [CardAttribute.Session]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.session')),
        [DedupeAttribute.ExpiresAt]: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.stringAt('$.message.card.expiresAt')),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    save.addRetry(DYNAMODB_RETRY);
    const ended = this.rememberEnd(S.ForgetCard);
    for (const step of [save, ended]) {
      // The card is on Discord: a failed save costs a new card at the next change, never a failed batch.
      step.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.cardError' });
      step.next(next);
    }
    return new sfn.Choice(this.scope, S.KeepCard)
      .when(actionIs(CardAction.End), ended)
      .when(isRendered, save)
      .otherwise(next);
  }

  /** The card's key in the dedupe table. */
  private cardKey(): Record<string, tasks.DynamoAttributeValue> {
    return { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.key')) };
  }

  /**
   * An ended session's item keeps only when it ended (no message id, so the next join posts a new
   * card): a change older than that, sent late, is skipped rather than starting a phantom session.
   */
  private rememberEnd(id: string): tasks.DynamoPutItem {
    const step = new tasks.DynamoPutItem(this.scope, id, {
      table: this.props.table,
      item: {
        ...this.cardKey(),
        [CardAttribute.EndedAt]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.endedAt')),
        [DedupeAttribute.ExpiresAt]: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.stringAt('$.message.card.expiresAt')),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    step.addRetry(DYNAMODB_RETRY);
    return step;
  }

  /**
   * 404 on an edit. Unknown Webhook (10015): the webhook was deleted, so the events are refused like
   * any post's (dead-lettered, the card kept for after a redrive). Unknown Message: the card was
   * deleted; an ended one is remembered as ended, a live one posted anew.
   */
  private cardGone(send: sfn.Choice, noDiscord: sfn.IChainable, refused: sfn.IChainable): sfn.IChainable {
    const remembered = this.rememberEnd(S.ForgetGoneCard);
    const consumed = new sfn.Pass(this.scope, S.GoneCardEnded, { parameters: { 'message.$': '$.message', 'attempt.$': '$.attempt', pace: { waitSeconds: 0 } } });
    remembered.addCatch(consumed, { errors: [sfn.Errors.ALL], resultPath: '$.cardError' });
    remembered.next(consumed).next(noDiscord);
    const repost = new sfn.Pass(this.scope, S.RepostCard, {
      parameters: {
        message: {
          'channel.$': '$.message.channel', 'body.$': '$.message.body', 'ids.$': '$.message.ids', 'events.$': '$.message.events', 'messageIds.$': '$.message.messageIds',
          card: { 'key.$': '$.message.card.key', action: CardAction.Post, 'session.$': '$.message.card.session', 'expiresAt.$': '$.message.card.expiresAt' },
        },
        'attempt.$': '$.attempt',
      },
    });
    const cardGone = new sfn.Choice(this.scope, S.CardGone)
      .when(actionIs(CardAction.End), remembered)
      .otherwise(repost.next(send));
    const cause = '$.answer.Cause';
    return new sfn.Choice(this.scope, S.WebhookOrCardGone, { comment: 'Discord answers 404 for a deleted message (10008) and a deleted webhook (10015)' })
      .when(sfn.Condition.and(sfn.Condition.isPresent(cause), sfn.Condition.or(sfn.Condition.stringMatches(cause, '*10015*'), sfn.Condition.stringMatches(cause, '*Unknown Webhook*'))), refused)
      .otherwise(cardGone);
  }
}
