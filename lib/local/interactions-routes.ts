/**
 * `POST /interactions` in local mode, on the ingest port: the Interactions function from the
 * synthesized template's environment (with the local application key in place of the
 * configured one), called as API Gateway's Lambda proxy integration calls it (payload 2.0: header
 * names lower case, the body as base64 so its bytes reach the signature check unchanged). The
 * guild settings live in the same dynalite as the dedupe table; `/relay status` reads what
 * `GET /_status` reports.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { publicKeyFromHex } from '../contracts/envelope';
import { InteractionsEnv } from '../contracts/env';
import { GuildSettingsStore } from '../interactions/guild-settings';
import { createInteractionsHandler, type InteractionRequest, type InteractionResponse } from '../interactions/handler';
import type { RelayFacts } from '../interactions/status';
import { MAX_BODY_BYTES, readBody, sendJson } from './http-util';
import type { LocalDynamoDb } from './dynamodb-emulator';
import type { StatusRoutes } from './status-routes';

export interface InteractionsRoutesProps {
  /** The route's path, from the template. */
  readonly path: string;
  /** The function's environment, from the template. */
  readonly env: Readonly<Record<string, string>>;
  /** The local application key's public half (hex). */
  readonly publicKeyHex: string;
  readonly dynamodb: LocalDynamoDb;
  readonly status: StatusRoutes;
  readonly log: (line: string) => void;
  readonly now?: () => number;
}

/** `/_status` as `/relay status` reports it. */
export async function localFacts(status: StatusRoutes): Promise<RelayFacts> {
  const s = await status.status();
  const last = status.lastDelivery();
  return {
    lane: s.lane ? { waiting: s.lane.visible, inFlight: s.lane.inFlight, oldestAgeSeconds: s.lane.oldestAgeSeconds ?? undefined } : undefined,
    deadLetters: s.deadLetters?.count,
    lastDelivery: s.lane ? (last === undefined ? null : new Date(last).toISOString()) : undefined,
    lastHeartbeat: s.heartbeats.last,
  };
}

export class InteractionsRoutes {
  private readonly handler: (request: InteractionRequest) => Promise<InteractionResponse>;

  constructor(private readonly props: InteractionsRoutesProps) {
    const table = props.env[InteractionsEnv.SettingsTable];
    if (!table) throw new Error(`the template's Interactions function has no ${InteractionsEnv.SettingsTable}`);
    this.handler = createInteractionsHandler({
      publicKey: publicKeyFromHex(props.publicKeyHex),
      allowedGuildIds: new Set((props.env[InteractionsEnv.AllowedGuildIds] ?? '').split(',').filter(Boolean)),
      settings: new GuildSettingsStore(props.dynamodb.jsonApi, table),
      facts: () => localFacts(props.status),
      now: props.now ?? Date.now,
      log: () => undefined,
    });
  }

  matches(path: string): boolean {
    return path === this.props.path;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 404, { message: 'Not Found' });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return sendJson(res, 413, { message: 'Request Entity Too Large' });
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : v]));
    const answer = await this.handler({ headers, body: body.toString('base64'), isBase64Encoded: true });
    const subcommand = /"name":"(optout|optin|pause|resume|status)"/.exec(body.toString('utf8'))?.[1];
    // A 401 is the endpoint doing its job (relay doctor and Discord's save check send two on purpose): not marked as a failure.
    const why = answer.statusCode === 401 ? ' refused: not signed by the application key (or stale), as it should be (relay doctor checks this twice)' : '';
    const mark = answer.statusCode === 200 ? '✓' : answer.statusCode === 401 ? '·' : '✗';
    this.props.log(`${mark} ${answer.statusCode}        interaction${subcommand ? ` /relay ${subcommand}` : ''}${why}`);
    res.writeHead(answer.statusCode, answer.headers).end(answer.body);
  }
}
