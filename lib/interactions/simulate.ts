/**
 * Interactions as Discord sends them, for the local relay (`relay interact`), the tests and the
 * bench: a `/relay <subcommand>` from a guild member, or a PING, signed with an application key
 * as Discord signs them (Ed25519 over the timestamp and the body).
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { InteractionHeader, InteractionType, PAUSE_OPTION, Permission, RelayCommand, type RelaySubcommand } from '../contracts/interactions';

/** Who runs the command when nobody is named: a member id no real account has. */
export const LOCAL_MEMBER_ID = '100000000000000001';

const DISCORD_EPOCH_MS = 1_420_070_400_000;
let lastId = 0n;

/**
 * A snowflake made now (ms since Discord's epoch, shifted 22 bits), always above the last one this
 * process made: the relay refuses a command whose id is not above the guild's last (a replay).
 */
export function interactionId(nowMs: number = Date.now()): string {
  const next = BigInt(nowMs - DISCORD_EPOCH_MS) << 22n;
  lastId = next > lastId ? next : lastId + 1n;
  return lastId.toString();
}
const snowflake = () => interactionId();

export interface SimulatedCommand {
  readonly subcommand: RelaySubcommand;
  readonly guildId: string;
  readonly applicationId: string;
  /** @default LOCAL_MEMBER_ID */
  readonly userId?: string;
  /** Give the member Manage Server. @default false */
  readonly manage?: boolean;
  /** `pause` only. */
  readonly minutes?: number;
}

/** The body of an APPLICATION_COMMAND interaction for `/relay <subcommand>`. */
export function commandInteraction(c: SimulatedCommand): Record<string, unknown> {
  const userId = c.userId ?? LOCAL_MEMBER_ID;
  return {
    id: snowflake(), application_id: c.applicationId, type: InteractionType.ApplicationCommand, token: randomBytes(48).toString('base64url'), version: 1,
    guild_id: c.guildId, channel_id: snowflake(), locale: 'en-US', guild_locale: 'en-US',
    member: { user: { id: userId, username: 'local-member', global_name: 'Local member' }, roles: [], permissions: c.manage ? Permission.ManageGuild.toString() : '0', joined_at: new Date(0).toISOString() },
    data: {
      id: snowflake(), name: RelayCommand.Name, type: 1,
      options: [{ type: 1, name: c.subcommand, options: c.minutes === undefined ? [] : [{ type: 4, name: PAUSE_OPTION, value: c.minutes }] }],
    },
  };
}

export function pingInteraction(applicationId: string): Record<string, unknown> {
  return { id: snowflake(), application_id: applicationId, type: InteractionType.Ping, token: randomBytes(48).toString('base64url'), version: 1 };
}

/** Discord's signature: Ed25519 over the timestamp's bytes followed by the body's, in hex. */
export function discordSignature(timestamp: string, body: Buffer, privateKey: KeyObject): string {
  return sign(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), body]), privateKey).toString('hex');
}

/** The headers Discord sends with `body`, signed by `privateKey` at `nowMs`. */
export function signedHeaders(body: string, privateKey: KeyObject, nowMs: number = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = discordSignature(timestamp, Buffer.from(body, 'utf8'), privateKey);
  return { 'content-type': 'application/json', [InteractionHeader.Signature]: signature, [InteractionHeader.Timestamp]: timestamp };
}
