/**
 * Against a deployed stack: do the SigV4 headers of a call to the webhook proxy reach the
 * HTTP_PROXY destination (SECURITY.md, "Do the SigV4 headers reach Discord?")? Only a real API
 * Gateway can answer. Configure a channel whose webhook URL secret is a header-echoing endpoint
 * (e.g. https://httpbin.org/anything), deploy, then:
 *
 *   RELAY_PROXY_URL=<WebhookProxyUrl output> RELAY_ECHO_CHANNEL=<channel> AWS_REGION=<region> \
 *     npx jest test/integration
 *
 * with credentials allowed `execute-api:Invoke` on that route (from the environment or a profile).
 * Without them the test is skipped, and its name says why.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { signRequest } from '../../lib/client/sigv4';

const { RELAY_PROXY_URL: proxyUrl, RELAY_ECHO_CHANNEL: channel } = process.env;
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_WEB_IDENTITY_TOKEN_FILE);
const enabled = Boolean(proxyUrl && channel && region && hasCredentials);
if (!enabled) process.stdout.write('proxy-headers integration test skipped: no deployed stack configured (RELAY_PROXY_URL, RELAY_ECHO_CHANNEL, AWS_REGION, AWS credentials)\n');
const SIGV4_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];

(enabled ? describe : describe.skip)(
  enabled ? 'webhook proxy against a deployed stack' : 'webhook proxy against a deployed stack — SKIPPED: set RELAY_PROXY_URL, RELAY_ECHO_CHANNEL, AWS_REGION and AWS credentials',
  () => {
    it('does not pass the caller\'s SigV4 headers to the destination', async () => {
      const url = new URL(`/channels/${channel}`, proxyUrl);
      const body = JSON.stringify({ content: 'relay header check', allowed_mentions: { parse: [] } });
      const credentials = await fromNodeProviderChain()();
      const headers = await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: region!, credentials });
      delete (headers as Record<string, string>).host;
      const response = await fetch(url, { method: 'POST', headers, body });
      expect(response.status).toBe(200);
      const echoed = (await response.json()) as { headers?: Record<string, string> };
      const received = Object.keys(echoed.headers ?? {}).map((h) => h.toLowerCase());
      expect(received).toContain('user-agent'); // the echo works
      // Present means Discord sees them too: SECURITY.md says what that exposes and how to avoid it.
      expect(received.filter((h) => SIGV4_HEADERS.includes(h))).toEqual([]);
    }, 30_000);
  },
);
