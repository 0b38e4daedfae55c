/**
 * The sink's HTTP face, served on the ingest port: Discord's webhook endpoint
 * (`POST /_sink/api/webhooks/<channel>/<token>`, and `PATCH …/messages/<id>` to edit one), a Slack
 * incoming webhook for each Slack channel (`POST /_sink/slack/services/<channel>/<token>`), the
 * channel page (`GET /_sink`), what it received (`GET /_sink/messages`, each with its `kind`,
 * `GET /_sink/stats`), and webhook controls (`DELETE|PUT /_sink/webhooks/<channel>`, either kind).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelKind } from '../contracts/routes';
import type { DiscordSink } from './discord-sink';
import type { SlackSink } from './slack-sink';
import { MAX_BODY_BYTES, flatHeaders, readBody, sendJson } from './http-util';
import { renderSinkPage } from './sink-page';

import { LocalRelayPath } from '../contracts/local-relay';

export const SINK_PREFIX = LocalRelayPath.Sink;
/** The token of every sink webhook's URL; another token is refused as Discord refuses it. */
export const SINK_TOKEN = 'local';

/** A path segment decoded, or undefined for a malformed percent-encoding (`%E0%A4%A`). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export class SinkRoutes {
  constructor(private readonly sink: DiscordSink, private readonly slack?: SlackSink, private readonly title = 'Discord Event Relay — local sink') {}

  /** The base URL a channel's webhook has on a server at `origin`: Discord's shape, or Slack's (`/services/…`). */
  static webhookUrl(origin: string, channel: string, kind: ChannelKind = 'discord'): string {
    return kind === 'slack' ? `${origin}${SINK_PREFIX}/slack/services/${channel}/${SINK_TOKEN}` : `${origin}${SINK_PREFIX}/api/webhooks/${channel}/${SINK_TOKEN}`;
  }

  matches(path: string): boolean {
    return path === SINK_PREFIX || path.startsWith(`${SINK_PREFIX}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'GET' && path === SINK_PREFIX) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(renderSinkPage(this.title));
      return;
    }
    if (req.method === 'GET' && path === `${SINK_PREFIX}/messages`) return sendJson(res, 200, this.sink.messages);
    if (req.method === 'GET' && path === `${SINK_PREFIX}/stats`) return sendJson(res, 200, this.slack ? { ...this.sink.stats, slack: this.slack.stats } : this.sink.stats);
    const slackHook = /^\/_sink\/slack\/services\/([^/]+)\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && slackHook) {
      // Slack's answer to a webhook URL it does not know (a wrong token is one).
      if (!this.slack || slackHook[2] !== SINK_TOKEN) return sendJson(res, 404, 'no_service', { 'content-type': 'text/plain; charset=utf-8' });
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === undefined) return sendJson(res, 413, 'request_too_large', { 'content-type': 'text/plain; charset=utf-8' });
      const answer = this.slack.post(slackHook[1], body.toString('utf8'));
      return sendJson(res, answer.status, answer.body, answer.headers);
    }
    const hook = /^\/_sink\/api\/webhooks\/([^/]+)\/([^/]+)$/.exec(path);
    const edit = /^\/_sink\/api\/webhooks\/([^/]+)\/([^/]+)\/messages\/([^/]+)$/.exec(path);
    // Discord's answer to a webhook URL with the wrong token.
    if ((hook && req.method === 'POST' && hook[2] !== SINK_TOKEN) || (edit && req.method === 'PATCH' && edit[2] !== SINK_TOKEN)) {
      return sendJson(res, 401, { message: 'Invalid Webhook Token', code: 50027 });
    }
    if (req.method === 'POST' && hook) {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === undefined) return sendJson(res, 413, { message: 'Request entity too large', code: 40005 });
      const wait = new URL(req.url ?? '/', 'http://local').searchParams.get('wait') === 'true';
      const answer = this.sink.execute(hook[1], wait, body.toString('utf8'), flatHeaders(req));
      return sendJson(res, answer.status, answer.body, answer.headers);
    }
    if (req.method === 'PATCH' && edit) {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === undefined) return sendJson(res, 413, { message: 'Request entity too large', code: 40005 });
      const messageId = decodePathSegment(edit[3]);
      if (messageId === undefined) return sendJson(res, 404, { message: 'Unknown Message', code: 10008 });
      const answer = this.sink.edit(edit[1], messageId, body.toString('utf8'), flatHeaders(req));
      return sendJson(res, answer.status, answer.body, answer.headers);
    }
    const control = /^\/_sink\/webhooks\/([^/]+)$/.exec(path);
    if (control && (req.method === 'DELETE' || req.method === 'PUT')) {
      const channel = decodePathSegment(control[1]) ?? control[1];
      const sink = this.slack?.channels.has(channel) ? this.slack : this.sink;
      const known = req.method === 'DELETE' ? sink.deleteWebhook(channel) : sink.restoreWebhook(channel);
      const all = [...this.sink.channels, ...(this.slack?.channels ?? [])];
      if (!known) return sendJson(res, 404, { message: `no channel "${channel.slice(0, 64)}" in the relay config; channels: ${all.join(', ')}` });
      return sendJson(res, 204);
    }
    return sendJson(res, 404, { message: 'Not Found' });
  }
}
