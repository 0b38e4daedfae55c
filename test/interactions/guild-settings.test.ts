/**
 * The guild settings store on dynalite (a real DynamoDB API): every write leaves both attributes
 * the workflows read, opt-out and opt-in say whether anything changed, the opt-out list is capped,
 * and a pause is read back as the workflows read it.
 */
import { GuildSettingsAttribute as A, MAX_OPTED_OUT, NOT_PAUSED, OPTED_OUT_PLACEHOLDER, readGuildSettings } from '../../lib/contracts/interactions';
import { interactionId } from '../../lib/interactions/simulate';
import { GuildSettingsStore, OptOutLimitError, StaleInteractionError } from '../../lib/interactions/guild-settings';
import { LocalDynamoDb } from '../../lib/local/dynamodb-emulator';

const TABLE = 'GuildSettings';
let db: LocalDynamoDb;
let store: GuildSettingsStore;
const now = new Date('2026-12-01T20:00:00.000Z');
let n = 0;
const guild = () => String(300000000000000000n + BigInt(++n));
const USER = '400000000000000001';

beforeAll(async () => {
  db = await LocalDynamoDb.start({ tables: [{ logicalId: TABLE, keySchema: [{ AttributeName: A.GuildId, KeyType: 'HASH' }], attributeDefinitions: [{ AttributeName: A.GuildId, AttributeType: 'S' }] }], sweepIntervalMs: 0 });
  store = new GuildSettingsStore(db.jsonApi, TABLE);
});
afterAll(() => db.stop());

const item = async (g: string) => ((await db.call('getItem', { TableName: TABLE, Key: { [A.GuildId]: { S: g } } })) as { Item?: Record<string, any> }).Item;

it('every write leaves pausedUntil and optedOut (with its placeholder), whatever wrote the item first', async () => {
  for (const first of ['optout', 'pause', 'resume'] as const) {
    const g = guild();
    if (first === 'optout') await store.optOut(g, USER, now, interactionId());
    else await store.setPause(g, first === 'pause' ? new Date(now.getTime() + 60_000) : undefined, USER, now, interactionId());
    const written = await item(g);
    expect(written?.[A.PausedUntil]?.S).toEqual(expect.any(String));
    expect(written?.[A.OptedOut]?.SS).toContain(OPTED_OUT_PLACEHOLDER);
    expect(written).toMatchObject({ [A.UpdatedAt]: { S: now.toISOString() }, [A.UpdatedBy]: { S: USER } });
  }
});

it('opt-out then opt-in: each says whether it changed anything, and the member is gone from the set after', async () => {
  const g = guild();
  expect(await store.optIn(g, USER, now, interactionId())).toBe(false);
  expect(await item(g)).toBeUndefined(); // an opt-in never creates a half item
  expect(await store.optOut(g, USER, now, interactionId())).toBe(true);
  expect(await store.optOut(g, USER, now, interactionId())).toBe(false);
  expect(readGuildSettings(await item(g), now.getTime()).hidden).toEqual(new Set([USER]));
  expect(await store.optIn(g, USER, now, interactionId())).toBe(true);
  expect((await item(g))?.[A.OptedOut]?.SS).toEqual([OPTED_OUT_PLACEHOLDER]);
  expect(await store.optIn(g, USER, now, interactionId())).toBe(false);
});

it('a pause is read back until it ends; resume sets it to the epoch and says whether it was paused', async () => {
  const g = guild();
  const until = new Date(now.getTime() + 30 * 60_000);
  expect(await store.setPause(g, until, USER, now, interactionId())).toEqual({ wasPaused: false });
  expect(await store.read(g, now)).toEqual({ paused: true, pausedUntil: until.toISOString(), optedOut: 0 });
  expect(await store.read(g, new Date(until.getTime() + 1))).toMatchObject({ paused: false });
  expect(await store.setPause(g, undefined, USER, now, interactionId())).toEqual({ wasPaused: true });
  expect((await item(g))?.[A.PausedUntil]).toEqual({ S: NOT_PAUSED });
  expect(await store.setPause(g, undefined, USER, now, interactionId())).toEqual({ wasPaused: false });
});

it(`refuses the opt-out that would pass ${MAX_OPTED_OUT} members, but lets a member already listed opt out again`, async () => {
  const g = guild();
  const ids = Array.from({ length: MAX_OPTED_OUT }, (_, i) => String(500000000000000000n + BigInt(i)));
  await db.call('putItem', { TableName: TABLE, Item: { [A.GuildId]: { S: g }, [A.PausedUntil]: { S: NOT_PAUSED }, [A.OptedOut]: { SS: [OPTED_OUT_PLACEHOLDER, ...ids] } } });
  await expect(store.optOut(g, USER, now, interactionId())).rejects.toBeInstanceOf(OptOutLimitError);
  expect(await store.optOut(g, ids[0], now, interactionId())).toBe(false);
});

it('refuses a replayed or overtaken interaction (its id is not above the last change), whatever the command', async () => {
  const g = guild();
  const optOut = interactionId();
  const optIn = interactionId();
  expect(await store.optIn(g, USER, now, interactionId())).toBe(false);
  expect(await store.optOut(g, USER, now, optOut)).toBe(true);
  // A copy of the optout sent again, then the optin that came before a later optout: neither changes anything.
  await expect(store.optOut(g, USER, now, optOut)).rejects.toBeInstanceOf(StaleInteractionError);
  const later = interactionId();
  expect(await store.optIn(g, USER, now, later)).toBe(true);
  expect(await store.optOut(g, USER, now, interactionId())).toBe(true);
  await expect(store.optIn(g, USER, now, optIn)).rejects.toBeInstanceOf(StaleInteractionError);
  await expect(store.setPause(g, undefined, USER, now, later)).rejects.toBeInstanceOf(StaleInteractionError);
  expect(readGuildSettings(await item(g), now.getTime()).hidden).toEqual(new Set([USER]));
  expect((await item(g))?.[A.LastInteraction]?.N).toMatch(/^\d+$/);
});
