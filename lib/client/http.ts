import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

// Kept-alive connections, shared by the client and the local relay's own hops.
const agents = { 'http:': new HttpAgent({ keepAlive: true, maxSockets: 64 }), 'https:': new HttpsAgent({ keepAlive: true, maxSockets: 16 }) };

export class HttpTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** A plain HTTP(S) request with a timeout; rejects on network errors and timeouts (HttpTimeoutError). */
export function send(url: URL, options: { method: string; headers: Record<string, string>; body: string | Buffer; timeoutMs: number }): Promise<HttpAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
        resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    // Bounds the whole exchange (a request's own `timeout` is only socket idleness).
    const timer = setTimeout(() => req.destroy(new HttpTimeoutError(options.timeoutMs)), options.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Closes idle kept-alive connections (on shutdown). */
export function closeIdleConnections(): void {
  agents['http:'].destroy();
  agents['https:'].destroy();
}
