/**
 * The Post tasks' HTTP call, as `apigateway:invoke` with `AuthType: IAM_ROLE` makes it: SigV4-signed
 * with the state machine role's credentials, to the webhook proxy.
 */
import { send as sendHttp } from '../client/http';
import { signRequest } from '../client/sigv4';
import { NodeSha256 } from './node-sha256';
import type { PostRequest, PostResponse } from './state-machine-runner';
import type { LocalCredential } from './sigv4-verifier';

const TASK_HTTP_TIMEOUT_MS = 30_000;

export function createProxyCaller(proxyOrigin: () => string, role: LocalCredential, region: string): (request: PostRequest) => Promise<PostResponse> {
  return async (request) => {
    const target = new URL(request.path, proxyOrigin());
    const body = JSON.stringify(request.body);
    const headers = await signRequest({ method: request.method, url: target, headers: { 'content-type': 'application/json' }, body, region, credentials: role, sha256: NodeSha256 });
    const answer = await sendHttp(target, { method: request.method, headers, body, timeoutMs: TASK_HTTP_TIMEOUT_MS });
    let parsed: unknown = answer.text;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      // keep the text
    }
    // As `apigateway:invoke` returns them: every header with its list of values.
    return { status: answer.status, body: parsed, headers: Object.fromEntries(Object.entries(answer.headers).map(([name, value]) => [name, [value]])) };
  };
}
