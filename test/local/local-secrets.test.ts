/** Local secret hygiene: the files holding the local credentials and real webhook URLs stay private. */
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRelayServer } from '../../lib/local/local-relay-server';
import { readLocalSettings, writeLocalSettings } from '../../lib/local/local-settings';

const settings = { url: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'x'.repeat(40), kid: 'local', privateKeyFile: '/nowhere.pem', guildId: '123456789012345678' };

it('rewriting an existing local.json that others could read makes it 0600', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'relay-secrets-')), 'local.json');
  writeFileSync(file, '{}', { mode: 0o644 });
  chmodSync(file, 0o644);
  writeLocalSettings(settings, file);
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

it('refuses a secrets.json (real webhook URLs) that others can read, naming the chmod to run; nothing starts', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'relay-secrets-'));
  const secrets = join(stateDir, 'secrets.json');
  writeFileSync(secrets, JSON.stringify({ 'discord-relay/webhooks/general': 'https://discord.com/api/webhooks/1/canary-token' }), { mode: 0o644 });
  chmodSync(secrets, 0o644);
  const started = LocalRelayServer.start({ port: 0, stateDir, log: () => undefined });
  await expect(started).rejects.toThrow(`webhook secrets file ${secrets} is readable by others (mode 0644); run: chmod 600 ${secrets}`);
  await expect(started).rejects.not.toThrow(/canary-token/);
});

describe('.relay/local.json that cannot be read', () => {
  it('is an error naming why, not a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-unreadable-'));
    const file = join(dir, 'local.json');
    mkdirSync(file); // a directory where the file should be: EISDIR, as EACCES would be for another user's file
    expect(() => readLocalSettings(file)).toThrow(`cannot read ${file} (EISDIR)`);
    expect(readLocalSettings(join(dir, 'nothing.json'))).toBeUndefined();
  });
});
