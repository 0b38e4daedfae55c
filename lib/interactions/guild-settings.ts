/**
 * The guild settings the commands write (docs/architecture.md §2.7): one item per guild with who
 * opted out and until when notices are paused. Every write keeps both attributes present (the
 * workflows' Choice states read them without a fallback), in one UpdateItem each.
 */
import {
  GuildSettingsAttribute as A, MAX_OPTED_OUT, NOT_PAUSED, OPTED_OUT_PLACEHOLDER, readGuildSettings, type StoredGuildSettings,
} from '../contracts/interactions';
import type { AwsJsonCall } from './aws-json';

/** Thrown when a guild already lists {@link MAX_OPTED_OUT} members. */
export class OptOutLimitError extends Error {
  constructor() {
    super(`this server already has ${MAX_OPTED_OUT} members opted out, the most the relay keeps`);
    this.name = 'OptOutLimitError';
  }
}

/** Thrown when the interaction is not newer than the last one that changed the guild's settings (a replay, or one overtaken). */
export class StaleInteractionError extends Error {
  constructor() {
    super('this command is not newer than the last change to this server\'s settings');
    this.name = 'StaleInteractionError';
  }
}

const isConditionFailed = (error: unknown) => error instanceof Error && error.name.endsWith('ConditionalCheckFailedException');
/** Appended to every write's condition: only an interaction newer than the item's last. */
const NEWER = '(attribute_not_exists(#last) OR #last < :interaction)';

export class GuildSettingsStore {
  constructor(private readonly call: AwsJsonCall, private readonly tableName: string) {}

  /** Adds the member to the guild's opt-outs; true when they were not opted out before. */
  async optOut(guildId: string, userId: string, now: Date, interactionId: string): Promise<boolean> {
    try {
      const old = await this.update(guildId, userId, now, interactionId, {
        expression: 'ADD #optedOut :ids',
        values: { ':ids': { SS: [userId, OPTED_OUT_PLACEHOLDER] }, ':max': { N: String(MAX_OPTED_OUT + 1) } },
        condition: 'attribute_not_exists(#optedOut) OR contains(#optedOut, :user) OR size(#optedOut) < :max',
        user: true,
      });
      return !(old?.optedOut?.SS ?? []).includes(userId);
    } catch (error) {
      if (isConditionFailed(error)) throw (await this.overtaken(guildId, interactionId)) ? new StaleInteractionError() : new OptOutLimitError();
      throw error;
    }
  }

  /** Removes the member from the guild's opt-outs; true when they were opted out. */
  async optIn(guildId: string, userId: string, now: Date, interactionId: string): Promise<boolean> {
    try {
      // Only an item that lists opt-outs is touched: DELETE on a new item would leave it without `optedOut`.
      const old = await this.update(guildId, userId, now, interactionId, { expression: 'DELETE #optedOut :ids', values: { ':ids': { SS: [userId] } }, condition: 'attribute_exists(#optedOut)' });
      return (old?.optedOut?.SS ?? []).includes(userId);
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      if (await this.overtaken(guildId, interactionId)) throw new StaleInteractionError();
      return false;
    }
  }

  /** Pauses (or, with `until` undefined, resumes) the guild's notices; says whether it was paused before. */
  async setPause(guildId: string, until: Date | undefined, by: string, now: Date, interactionId: string): Promise<{ wasPaused: boolean }> {
    try {
      const old = await this.update(guildId, by, now, interactionId, {
        expression: 'ADD #optedOut :placeholder',
        values: { ':placeholder': { SS: [OPTED_OUT_PLACEHOLDER] } },
        pausedUntil: until ? until.toISOString() : NOT_PAUSED,
      });
      return { wasPaused: readGuildSettings(old, now.getTime()).paused };
    } catch (error) {
      if (isConditionFailed(error)) throw new StaleInteractionError();
      throw error;
    }
  }

  /** The guild's settings now (a consistent read). */
  async read(guildId: string, now: Date): Promise<{ paused: boolean; pausedUntil?: string; optedOut: number }> {
    const answer = await this.call('GetItem', { TableName: this.tableName, Key: { [A.GuildId]: { S: guildId } }, ConsistentRead: true });
    const item = answer.Item as StoredGuildSettings | undefined;
    const { hidden, paused } = readGuildSettings(item, now.getTime());
    return { paused, ...(paused ? { pausedUntil: item?.pausedUntil?.S } : {}), optedOut: hidden.size };
  }

  /** True when the guild's item records an interaction at or above `interactionId` (why a condition failed). */
  private async overtaken(guildId: string, interactionId: string): Promise<boolean> {
    const answer = await this.call('GetItem', { TableName: this.tableName, Key: { [A.GuildId]: { S: guildId } }, ConsistentRead: true, ProjectionExpression: '#last', ExpressionAttributeNames: { '#last': A.LastInteraction } });
    const last = (answer.Item as Record<string, { N?: string }> | undefined)?.[A.LastInteraction]?.N;
    return last !== undefined && BigInt(last) >= BigInt(interactionId);
  }

  /**
   * One UpdateItem that also sets `pausedUntil` (kept, or the epoch for a new item), `updatedAt`,
   * `updatedBy` and `lastInteraction`, on condition that the interaction is newer than the last;
   * returns the item as it was.
   */
  private async update(
    guildId: string, by: string, now: Date, interactionId: string,
    change: { expression: string; values: Record<string, unknown>; condition?: string; pausedUntil?: string; user?: boolean },
  ): Promise<StoredGuildSettings | undefined> {
    if (!/^[0-9]{1,20}$/.test(interactionId)) throw new Error('an interaction id is a snowflake');
    const paused = change.pausedUntil === undefined ? '#pausedUntil = if_not_exists(#pausedUntil, :notPaused)' : '#pausedUntil = :pausedUntil';
    const answer = await this.call('UpdateItem', {
      TableName: this.tableName,
      Key: { [A.GuildId]: { S: guildId } },
      UpdateExpression: `SET ${paused}, #updatedAt = :now, #updatedBy = :by, #last = :interaction ${change.expression}`,
      ConditionExpression: change.condition ? `(${change.condition}) AND ${NEWER}` : NEWER,
      ExpressionAttributeNames: { '#pausedUntil': A.PausedUntil, '#optedOut': A.OptedOut, '#updatedAt': A.UpdatedAt, '#updatedBy': A.UpdatedBy, '#last': A.LastInteraction },
      ExpressionAttributeValues: {
        ':interaction': { N: interactionId },
        ...change.values,
        ...(change.pausedUntil === undefined ? { ':notPaused': { S: NOT_PAUSED } } : { ':pausedUntil': { S: change.pausedUntil } }),
        ':now': { S: now.toISOString() },
        ':by': { S: by },
        ...(change.user ? { ':user': { S: by } } : {}),
      },
      ReturnValues: 'ALL_OLD',
    });
    return answer.Attributes as StoredGuildSettings | undefined;
  }
}
