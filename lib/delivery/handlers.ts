/** The delivery workflow's Lambda steps; Lambda runs them from lambda/coalesce, lambda/pace and lambda/card, local mode directly. */
import { RelayError, RelayErrorCode } from '../contracts/errors';
import { DeliveryStateName } from '../contracts/state-names';
import { renderCard, type RenderedCard, type StoredCard } from './card';
import { coalesce, type BatchItem, type CoalescedBatch, type GuildRead, type OutgoingMessage } from './coalesce';
import { paceAfter, type PaceDecision, type PostAnswer } from './pace';

export function createCoalesceHandler(now: () => number = Date.now): (input: { batch: readonly BatchItem[]; guilds?: readonly GuildRead[]; slackChannels?: readonly string[] }) => Promise<CoalescedBatch> {
  return async (input) => coalesce(input?.batch, { nowMs: now(), guilds: input?.guilds, slackChannels: input?.slackChannels });
}

/** Render card: the card update (from Coalesce) and its stored item become the message to send and the session to keep. */
export function createCardHandler(now: () => number = Date.now): (input: { message: OutgoingMessage; stored?: { Item?: StoredCard } }) => Promise<RenderedMessage> {
  return async ({ message, stored }) => {
    if (!message?.card) throw new RelayError(RelayErrorCode.Malformed, 'Render card needs a message with a card update');
    const card = renderCard(message.card, stored?.Item, now());
    return {
      channel: message.channel, ids: message.ids, events: message.events, messageIds: message.messageIds, body: card.body,
      card: {
        key: message.card.key, action: card.action, ...(card.messageId ? { messageId: card.messageId } : {}), session: card.session, expiresAt: card.expiresAt,
        ...(card.endedAt ? { endedAt: card.endedAt } : {}),
      },
    };
  };
}

/** A card message after Render card: what Send, Edit and Keep card read. */
export interface RenderedMessage {
  readonly channel: string;
  readonly ids: readonly string[];
  readonly events: OutgoingMessage['events'];
  readonly messageIds: OutgoingMessage['messageIds'];
  readonly body: RenderedCard['body'];
  readonly card: { readonly key: string; readonly action: RenderedCard['action']; readonly messageId?: string; readonly session: string; readonly expiresAt: string; readonly endedAt?: string };
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
    [DeliveryStateName.RenderCard]: createCardHandler(),
  };
}
