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
    const gone = this.cardGone(send, noDiscord);
    const proxy = this.props.webhookProxy;
    for (const channel of proxy.editRoutes.keys()) {
      const onChannel = sfn.Condition.stringEquals('$.message.channel', channel);
      const post = webhookTask(this.scope, S.postCard(channel), { proxy, method: tasks.HttpMethod.POST, apiPath: channelRoutePath(channel), resultSelector: this.props.resultSelector, targets });
      // A dynamic path: the grant is PATCH /channels/<channel>/messages/* (the patched construct's prefix wildcard).
      const apiPath = sfn.JsonPath.format(`${channelMessagesPrefix(channel)}{}`, sfn.JsonPath.stringAt('$.message.card.messageId'));
      // Unknown Message: a moderator deleted the card. Post a new one rather than retry the edit.
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

  /** After Discord's answer: keep the session of a live card, forget an ended one, then `next`. */
  public keep(next: sfn.IChainable): sfn.IChainable {
    const key = { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.key')) };
    const save = new tasks.DynamoPutItem(this.scope, S.SaveCard, {
      table: this.props.table,
      item: {
        ...key,
        [CardAttribute.MessageId]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.answer.messageId')),
        [CardAttribute.Session]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.session')),
        [DedupeAttribute.ExpiresAt]: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.stringAt('$.message.card.expiresAt')),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const forget = new tasks.DynamoDeleteItem(this.scope, S.ForgetCard, { table: this.props.table, key, resultPath: sfn.JsonPath.DISCARD });
    for (const step of [save, forget]) {
      step.addRetry(DYNAMODB_RETRY);
      // The card is on Discord: a failed save costs a new card at the next change, never a failed batch.
      step.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.cardError' });
      step.next(next);
    }
    return new sfn.Choice(this.scope, S.KeepCard)
      .when(actionIs(CardAction.End), forget)
      .when(isRendered, save)
      .otherwise(next);
  }

  /** 404 on an edit: an ended card is simply forgotten; a live one is posted anew. */
  private cardGone(send: sfn.Choice, noDiscord: sfn.IChainable): sfn.IChainable {
    const forget = new tasks.DynamoDeleteItem(this.scope, S.ForgetGoneCard, {
      table: this.props.table,
      key: { [DedupeAttribute.Id]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.message.card.key')) },
      resultPath: sfn.JsonPath.DISCARD,
    });
    forget.addRetry(DYNAMODB_RETRY);
    const consumed = new sfn.Pass(this.scope, S.GoneCardEnded, { parameters: { 'message.$': '$.message', 'attempt.$': '$.attempt', pace: { waitSeconds: 0 } } });
    forget.addCatch(consumed, { errors: [sfn.Errors.ALL], resultPath: '$.cardError' });
    forget.next(consumed).next(noDiscord);
    const repost = new sfn.Pass(this.scope, S.RepostCard, {
      parameters: {
        message: {
          'channel.$': '$.message.channel', 'body.$': '$.message.body', 'ids.$': '$.message.ids', 'events.$': '$.message.events',
          card: { 'key.$': '$.message.card.key', action: CardAction.Post, 'session.$': '$.message.card.session', 'expiresAt.$': '$.message.card.expiresAt' },
        },
        'attempt.$': '$.attempt',
      },
    });
    return new sfn.Choice(this.scope, S.CardGone)
      .when(actionIs(CardAction.End), forget)
      .otherwise(repost.next(send));
  }
}
