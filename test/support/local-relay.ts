/** A local relay for an end-to-end test (any free port, its own state folder, no waits) and a client signing as its local key. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../../lib/client/keys';
import { RelayClient } from '../../lib/client/relay-client';
import { LocalRelayServer } from '../../lib/local/local-relay-server';

export async function startTestRelay(configPath: string, folderPrefix: string): Promise<{ server: LocalRelayServer; client: RelayClient }> {
  const server = await LocalRelayServer.start({ port: 0, stateDir: mkdtempSync(join(tmpdir(), folderPrefix)), configPath, retryPauseMs: 100, sinkRateLimit: false, log: () => undefined, env: {} });
  const s = server.settings;
  const client = new RelayClient({ url: s.url, kid: s.kid, privateKey: readPrivateKeyFile(s.privateKeyFile), region: s.region, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey }, maxAttempts: 1 });
  return { server, client };
}
