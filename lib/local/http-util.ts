/** Small HTTP helpers and API Gateway's limits, shared by the local emulators. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** API Gateway HTTP API limits, which both local APIs apply. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_HEADER_BYTES = 10 * 1024;

/** Answers with a JSON (or given text) body and API Gateway's request id header. */
export function sendJson(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'apigw-requestid': randomUUID(), ...headers });
  res.end(text);
}

/** Reads a request body, or undefined when it is over `limit` bytes (the rest is drained). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolveBody(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request line and headers, in bytes, as API Gateway counts them against its limit. */
export function headerBytes(req: IncomingMessage): number {
  return (req.method?.length ?? 0) + (req.url?.length ?? 0) + req.rawHeaders.reduce((n, h) => n + Buffer.byteLength(h), 0);
}

/** Request headers as single strings (repeated headers joined with commas). */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
}

export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0];
}

/** A port another process holds. */
export class PortInUseError extends Error {
  constructor(public readonly port: number, public readonly host: string) {
    super(`port ${port} on ${host} is in use`);
    this.name = 'PortInUseError';
  }
}

/** Listens, resolving with the port bound; a taken port rejects with {@link PortInUseError}. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, host) : error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolveListen((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Stops accepting connections; resolves once the open ones are gone (cut them with `closeAllConnections`). */
export function close(server: Server): Promise<void> {
  return new Promise((ok) => server.close(() => ok()));
}
