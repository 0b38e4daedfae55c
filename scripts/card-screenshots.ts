/**
 * Makes docs/cards-*.png: a live card's life on the local relay's sink page, shot with Debian's
 * headless Chromium (`apt-get install chromium`). Not part of the tests (CI has no browser).
 * Run: node --import tsx scripts/card-screenshots.ts
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../lib/client/keys';
import { RelayClient } from '../lib/client/relay-client';
import { LocalRelayServer } from '../lib/local/local-relay-server';

const ROOT = join(__dirname, '..');
const GUILD = '123456789012345678';
const GENERAL = { channel_id: '222222222222222222', channel_name: 'General' };
const people = ['Alice', 'Bob', 'Chidi', '@everyone', 'Eleanor', 'Tahani', 'Jason'].map((name, i) => ({ id: String(400000000000000001n + BigInt(i)), name }));

async function main(): Promise<void> {
  const server = await LocalRelayServer.start({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'relay-shots-')), configPath: join(ROOT, 'examples', 'cards.config.ts'), sinkRateLimit: false, log: () => undefined, env: {} });
  const s = server.settings;
  const client = new RelayClient({ url: s.url, kid: s.kid, privateKey: readPrivateKeyFile(s.privateKeyFile), region: s.region, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } });
  const inRoom: typeof people = [];
  let minute = 0;
  const start = Date.now() - 80 * 60_000; // the session began 80 minutes ago
  const change = async (who: (typeof people)[number], joins: boolean) => {
    if (joins) inRoom.push(who);
    else inRoom.splice(inRoom.indexOf(who), 1);
    const side = { ...GENERAL, occupants: { count: inRoom.length, members: [...inRoom] } };
    await client.sendSync({
      type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Guild' }, user: { id: who.id, name: who.name.toLowerCase(), display_name: who.name, bot: false },
      before: joins ? null : side, after: joins ? side : null, at: new Date(start + (minute += 6) * 60_000).toISOString(),
    });
    await server.lanes!.pipe.idle();
  };
  // Asynchronous: the relay serving the page runs in this process.
  const shoot = (name: string) => promisify(execFile)('timeout', ['60', 'chromium',
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chromium-'))}`, '--virtual-time-budget=3000', '--window-size=760,300', `--screenshot=${join(ROOT, 'docs', name)}`, `${s.url}/_sink`,
  ]);
  try {
    await change(people[0], true);
    await change(people[1], true);
    await shoot('cards-1-live.png');
    for (const p of people.slice(2)) await change(p, true);
    await change(people[1], false);
    await shoot('cards-2-edited.png');
    for (const p of [...inRoom]) await change(p, false);
    await change(people[1], true);
    await shoot('cards-3-ended-and-new.png');
    console.log(JSON.stringify(server.sink.messages.map((m) => ({ edits: m.edits, content: (m.body as { content: string }).content })), null, 1));
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
