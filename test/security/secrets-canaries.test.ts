/**
 * Secrets canaries: a webhook URL, a bot token and a private key, planted where a careless change
 * could leak them, must never show in the template, cdk.out, local logs, CLI output, a cause or
 * an HTTP answer — including when the destination echoes its own URL back.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { readPrivateKeyFile } from '../../lib/client/keys';
import { describeCause } from '../../lib/cli/causes';
import { ENVELOPE_VERSION, signEnvelope } from '../../lib/contracts/envelope';
import { validateRelayConfig } from '../../lib/config/validate';
import { RelayStack } from '../../lib/infra/relay-stack';
import { LocalRelayServer } from '../../lib/local/local-relay-server';
import { signRequest } from '../../lib/client/sigv4';
import { ACCOUNT, CDK_CONTEXT_BUNDLED, REGION, testConfig, voiceEvent } from '../support/fixtures';

const WEBHOOK_TOKEN = 'CanaryWebhookToken-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN';
const BOT_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.Canary.CanaryBotTokenCanaryBotTokenCanary01';
const ENV_CANARIES = { RELAY_WEBHOOK_GENERAL: `https://discord.com/api/webhooks/123456789012345678/${WEBHOOK_TOKEN}`, DISCORD_TOKEN: BOT_TOKEN, DISCORD_BOT_TOKEN: BOT_TOKEN };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the synthesized app', () => {
  it('holds no canary in its template or anywhere in cdk.out, even with the secrets in the environment', () => {
    const saved = { ...process.env };
    Object.assign(process.env, ENV_CANARIES);
    try {
      const outdir = mkdtempSync(join(tmpdir(), 'relay-canary-out-'));
      const app = new App({ context: CDK_CONTEXT_BUNDLED, outdir });
      new RelayStack(app, 'Canary', { config: validateRelayConfig(testConfig()), env: { account: ACCOUNT, region: REGION } });
      app.synth();
      const files = filesUnder(outdir);
      expect(files.some((f) => f.endsWith('.template.json'))).toBe(true);
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        expect({ file, webhook: text.includes(WEBHOOK_TOKEN), bot: text.includes(BOT_TOKEN) }).toEqual({ file, webhook: false, bot: false });
      }
    } finally {
      process.env = saved;
    }
  });
});

describe('the local relay, with a destination that echoes its URL', () => {
  const lines: string[] = [];
  const answers: string[] = [];
  let echo: Server;
  let status = 404;
  let server: LocalRelayServer;
  let privateKeyBody: string;

  beforeAll(async () => {
    // Answers every post with its own full URL in the body, as a misbehaving proxy might.
    echo = createServer((req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Unknown Webhook', code: 10015, url: `http://${req.headers.host}${req.url}` }));
    });
    await new Promise<void>((ok) => echo.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/api/webhooks/123456789012345678/${WEBHOOK_TOKEN}`;
    server = await LocalRelayServer.start({
      port: 0, stateDir: mkdtempSync(join(tmpdir(), 'relay-canary-')), retryPauseMs: 20, sinkRateLimit: false, log: (l) => lines.push(l),
      env: { RELAY_WEBHOOK_GENERAL: url, DISCORD_TOKEN: BOT_TOKEN },
    });
    privateKeyBody = readFileSync(server.settings.privateKeyFile, 'utf8').split('\n')[1];
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((ok) => echo.close(ok));
  });

  async function call(method: 'GET' | 'POST', path: string, body?: string): Promise<string> {
    const url = new URL(path, server.url);
    const st = server.settings;
    const headers = body === undefined ? {} : await signRequest({ method, url, headers: { 'content-type': 'application/json' }, body, region: st.region, credentials: { accessKeyId: st.accessKeyId, secretAccessKey: st.secretAccessKey } });
    delete (headers as Record<string, string>).host;
    const text = await (await fetch(url, { method, headers, body })).text();
    answers.push(text);
    return text;
  }

  const send = (name: string) => {
    const st = server.settings;
    const e = voiceEvent('join', { guild: { id: st.guildId, name: 'G' }, user: { id: '444444444444444444', name: 'u', display_name: name, bot: false } });
    return call('POST', '/events/sync', JSON.stringify(signEnvelope({ v: ENVELOPE_VERSION, id: `canary-${name}`, kid: st.kid, ts: Math.floor(Date.now() / 1000), payload: JSON.stringify(e) }, readPrivateKeyFile(st.privateKeyFile))));
  };

  it('a refusal (404) dead-letters the event with the reason redacted', async () => {
    status = 404;
    expect(JSON.parse(await send('Refused')).status).toBe('SUCCEEDED');
    await server.lanes!.pipe.idle();
    const lanes = JSON.parse(await call('GET', '/_lanes')) as { deadLetters: Array<{ attributes: Record<string, string> }> };
    expect(JSON.stringify(lanes.deadLetters)).toContain('Unknown Webhook');
    expect(JSON.stringify(lanes.deadLetters)).toContain('[redacted]');
  });

  it('a server error (500) that outlasts the retries is logged with the cause redacted', async () => {
    status = 500;
    await send('Broken');
    for (const t0 = Date.now(); !lines.some((l) => l.includes('failed')) && Date.now() - t0 < 10_000;) await new Promise((r) => setTimeout(r, 50));
    expect(lines.some((l) => l.includes('failed'))).toBe(true);
    status = 404;
  });

  it('no log line, HTTP answer or sink message carries a canary or the private key', async () => {
    answers.push(await call('GET', '/_sink/messages'), await call('GET', '/_sink'));
    for (const text of [...lines, ...answers]) {
      expect(text).not.toContain(WEBHOOK_TOKEN);
      expect(text).not.toContain(BOT_TOKEN);
      expect(text).not.toContain(privateKeyBody);
      expect(text).not.toContain(server.settings.secretAccessKey);
    }
    expect(lines.length).toBeGreaterThan(2);
  });
});

describe('CLI output', () => {
  it('a cause that quotes a webhook URL, a bot token or a key is printed redacted', () => {
    const cause = `general webhook answered ApiGateway.404: {"message": "Unknown Webhook ${ENV_CANARIES.RELAY_WEBHOOK_GENERAL} ${BOT_TOKEN}", "code": 10015}`;
    const printed = describeCause(cause);
    expect(printed).toContain('Unknown Webhook');
    expect(printed).not.toContain(WEBHOOK_TOKEN);
    expect(printed).not.toContain(BOT_TOKEN);
  });
});
