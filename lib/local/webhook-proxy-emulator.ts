/**
 * The webhook proxy API as API Gateway runs it: SigV4 (the state machine's role only), the
 * template's routes (`POST /channels/<name>`, `PATCH /channels/<name>/messages/{messageId}`), and
 * HTTP_PROXY semantics — the caller's headers pass, then the template's header overwrites apply,
 * and the URL gets the template's suffix with the route's path variables filled in and its
 * query-string overwrites set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send as sendHttp, type HttpAnswer } from '../client/http';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { MESSAGE_ID_PARAMETER } from '../contracts/routes';
import { MAX_BODY_BYTES, flatHeaders, readBody, sendJson } from './http-util';
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

interface MatchedRoute { readonly route: ProxyRoute; readonly pattern: RegExp; readonly names: readonly string[] }

/** A route path as API Gateway matches it: `{name}` is one path segment. */
function compile(route: ProxyRoute): MatchedRoute {
  const names: string[] = [];
  const source = route.path.split(/(\{[A-Za-z]+\})/).map((part) => {
    const variable = /^\{([A-Za-z]+)\}$/.exec(part);
    if (!variable) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(variable[1]);
    return '([^/]+)';
  }).join('');
  return { route, pattern: new RegExp(`^${source}$`), names };
}

export class WebhookProxyEmulator {
  private readonly routes: readonly MatchedRoute[];

  constructor(private readonly props: WebhookProxyEmulatorProps) {
    this.routes = props.routes.map(compile);
  }

  /**
   * The route a request takes and the integration URL suffix with its path variables filled; a
   * message id that is not a snowflake is named (`invalid`) rather than sent on to Discord.
   */
  private match(method: string, path: string): { route: ProxyRoute; suffix: string; invalid?: string } | undefined {
    for (const r of this.routes) {
      const m = r.route.method === method ? r.pattern.exec(path) : null;
      if (!m) continue;
      const values = Object.fromEntries(r.names.map((n, i) => [n, m[i + 1]]));
      const invalid = values[MESSAGE_ID_PARAMETER] !== undefined && !SNOWFLAKE_PATTERN.test(values[MESSAGE_ID_PARAMETER]) ? MESSAGE_ID_PARAMETER : undefined;
      return { route: r.route, suffix: r.route.urlSuffix.replace(/\{([A-Za-z]+)\}/g, (_, n: string) => values[n] ?? ''), invalid };
    }
    return undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readBody(req, MAX_BODY_BYTES)) ?? Buffer.alloc(0);
    const auth = await this.props.verifier.verify({ method: req.method ?? '', rawUrl: req.url ?? '/', headers: req.headers, body });
    if (!auth.ok) return sendJson(res, 403, { message: auth.message });
    // Routed on the path the signature was checked on (normalised: `%2e%2e` and `..` resolved), never the raw one.
    const matched = this.match(req.method ?? '', new URL(req.url ?? '/', 'http://local').pathname);
    if (!matched) return sendJson(res, 404, { message: 'Not Found' });
    if (matched.invalid) return sendJson(res, 400, { message: `${matched.invalid} must be a Discord snowflake id` });
    const { route, suffix } = matched;
    let upstream: HttpAnswer;
    try {
      const url = new URL(`${this.props.destinations.for(route).url}${suffix}`);
      for (const [name, value] of Object.entries(route.queryOverwrites)) url.searchParams.set(name, value);
      upstream = await sendHttp(url, { method: route.method, headers: forwardedHeaders(req, route), body, timeoutMs: INTEGRATION_TIMEOUT_MS });
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
