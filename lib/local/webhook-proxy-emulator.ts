/**
 * The webhook proxy API as API Gateway runs it: SigV4 (the state machine's role only), the
 * template's `POST /channels/<name>` routes, and HTTP_PROXY semantics — the caller's headers pass,
 * then the template's header overwrites apply, and the URL gets the template's suffix (`?wait=true`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send as sendHttp, type HttpAnswer } from '../client/http';
import { MAX_BODY_BYTES, flatHeaders, pathOf, readBody, sendJson } from './http-util';
import type { SigV4Verifier } from './sigv4-verifier';
import type { ProxyRoute } from './synthesized-template';
import type { WebhookDestinations } from './webhook-destinations';

/** HTTP API integrations time out after 30 s. */
const INTEGRATION_TIMEOUT_MS = 30_000;
// Hop-by-hop headers a proxy does not forward.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);

export interface WebhookProxyEmulatorProps {
  readonly routes: readonly ProxyRoute[];
  readonly verifier: SigV4Verifier;
  readonly destinations: WebhookDestinations;
}

export class WebhookProxyEmulator {
  private readonly routes: ReadonlyMap<string, ProxyRoute>;

  constructor(private readonly props: WebhookProxyEmulatorProps) {
    this.routes = new Map(props.routes.map((r) => [`${r.method} ${r.path}`, r]));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readBody(req, MAX_BODY_BYTES)) ?? Buffer.alloc(0);
    const auth = await this.props.verifier.verify({ method: req.method ?? '', rawUrl: req.url ?? '/', headers: req.headers, body });
    if (!auth.ok) return sendJson(res, 403, { message: auth.message });
    const route = this.routes.get(`${req.method} ${pathOf(req)}`);
    if (!route) return sendJson(res, 404, { message: 'Not Found' });
    let upstream: HttpAnswer;
    try {
      const url = new URL(`${this.props.destinations.for(route).url}${route.urlSuffix}`);
      upstream = await sendHttp(url, { method: 'POST', headers: forwardedHeaders(req, route), body, timeoutMs: INTEGRATION_TIMEOUT_MS });
    } catch {
      return sendJson(res, 504, { message: 'Service Unavailable' });
    }
    const passed: Record<string, string> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (name === 'retry-after' || name.startsWith('x-ratelimit-') || name === 'content-type') passed[name] = value;
    }
    sendJson(res, upstream.status, upstream.text, passed);
  }
}

function forwardedHeaders(req: IncomingMessage, route: ProxyRoute): Record<string, string> {
  const headers = Object.fromEntries(Object.entries(flatHeaders(req)).filter(([name]) => !HOP_BY_HOP.has(name)));
  for (const [name, value] of Object.entries(route.headerOverwrites)) {
    delete headers[name.toLowerCase()];
    headers[name] = value;
  }
  return headers;
}
