/**
 * The Interactions endpoint (API Gateway HTTP API, Lambda proxy, payload 2.0): Discord's
 * signature is checked before anything of the body is read; then PING → PONG, `/relay …` → an
 * ephemeral reply, anything else 400. Every refusal of an unsigned request is a bare 401 (Discord's
 * endpoint check sends bad signatures and requires one). Nothing of the request is logged but the
 * interaction's id, type and subcommand: its token is a credential for 15 minutes.
 */
import type { KeyObject } from 'node:crypto';
import { EPHEMERAL, InteractionHeader, InteractionResponseType, InteractionType, MAX_INTERACTION_BYTES } from '../contracts/interactions';
import { isSignedByDiscord } from './signature';
import { parseSubcommand, runCommand, type CommandContext, type CommandInteraction } from './commands';

/** An HTTP API payload 2.0 request, as far as the handler reads it (header names lower case). */
export interface InteractionRequest {
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export interface InteractionResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface InteractionsHandlerProps extends CommandContext {
  readonly publicKey: KeyObject;
  readonly log?: (line: string) => void;
}

const json = (statusCode: number, body: unknown): InteractionResponse => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const refuse = (statusCode: number, message: string) => json(statusCode, { message });

/** An ephemeral message that can ping nobody. */
export function ephemeralReply(content: string): { type: number; data: { content: string; flags: number; allowed_mentions: { parse: never[] } } } {
  return { type: InteractionResponseType.ChannelMessageWithSource, data: { content, flags: EPHEMERAL, allowed_mentions: { parse: [] } } };
}

export function createInteractionsHandler(props: InteractionsHandlerProps): (request: InteractionRequest) => Promise<InteractionResponse> {
  const log = props.log ?? ((line: string) => console.warn(line));
  return async (request) => {
    const raw = request.body ?? '';
    // Base64 text is 4/3 of its bytes: refused on the text's length before anything is decoded.
    if (raw.length > (request.isBase64Encoded ? Math.ceil(MAX_INTERACTION_BYTES / 3) * 4 : MAX_INTERACTION_BYTES * 3)) return refuse(413, 'Payload Too Large');
    const body = Buffer.from(raw, request.isBase64Encoded ? 'base64' : 'utf8');
    if (body.length > MAX_INTERACTION_BYTES) return refuse(413, 'Payload Too Large');
    const headers = request.headers ?? {};
    if (!isSignedByDiscord(headers[InteractionHeader.Signature], headers[InteractionHeader.Timestamp], body, props.publicKey, props.now())) {
      return refuse(401, 'invalid request signature');
    }
    if (!/^application\/json\b/i.test(headers['content-type'] ?? '')) return refuse(415, 'Unsupported Media Type');
    let interaction: { id?: unknown; type?: unknown } & CommandInteraction;
    try {
      interaction = JSON.parse(body.toString('utf8')) as typeof interaction;
    } catch {
      return refuse(400, 'the body is not JSON');
    }
    if (typeof interaction !== 'object' || interaction === null) return refuse(400, 'the body is not an interaction');
    if (interaction.type === InteractionType.Ping) return json(200, { type: InteractionResponseType.Pong });
    if (interaction.type !== InteractionType.ApplicationCommand) return refuse(400, 'this endpoint answers PING and application commands only');
    const id = typeof interaction.id === 'string' && /^[0-9]{1,20}$/.test(interaction.id) ? interaction.id : undefined;
    try {
      const content = await runCommand(interaction, props);
      log(JSON.stringify({ level: 'INFO', message: 'command answered', interaction: id, subcommand: parseSubcommand(interaction.data)?.name }));
      return json(200, ephemeralReply(content));
    } catch (error) {
      // The name only: a message can quote what it was given, and the interaction's token is a credential.
      log(JSON.stringify({ level: 'ERROR', message: 'command failed', interaction: id, error: (error as Error).name }));
      return json(200, ephemeralReply('The relay could not do that just now (its settings table did not answer). Try again in a minute; if it keeps failing, ask the operator to run `relay doctor`.'));
    }
  };
}
