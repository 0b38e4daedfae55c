/**
 * Makes the sink page's screenshots in docs/: a live card's life (docs/cards-*.png, from
 * examples/cards.config.ts) and Slack next to Discord (docs/sink-slack.png, from
 * examples/slack.config.ts), each on its own local relay, shot with Debian's headless Chromium
 * (`apt-get install chromium fonts-noto-color-emoji`). Not part of the tests (CI has no browser).
 * Run: npx node --import tsx scripts/sink-screenshots.ts (the project's Node)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../lib/client/keys';
import { RelayClient } from '../lib/client/relay-client';
import type { VoiceChannelRef } from '../lib/contracts/events';
import { LocalRelayServer } from '../lib/local/local-relay-server';

const ROOT = join(__dirname, '..');
const GUILD = '123456789012345678';
const GENERAL = { channel_id: '222222222222222222', channel_name: 'General' };
const LOUNGE = { channel_id: '333333333333333333', channel_name: 'Lounge' };
type Person = { id: string; name: string };
const people: Person[] = ['Alice', 'Bob', 'Chidi', '@everyone', 'Eleanor', 'Tahani', 'Jason'].map((name, i) => ({ id: String(400000000000000001n + BigInt(i)), name }));

/** A local relay for `config`, a client signing as its key, a voice change sender and the page's shooter. */
async function relayFor(config: string, width: number, height: number) {
  const server = await LocalRelayServer.start({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'relay-shots-')), configPath: join(ROOT, 'examples', config), sinkRateLimit: false, log: () => undefined, env: {} });
  const s = server.settings;
  const client = new RelayClient({ url: s.url, kid: s.kid, privateKey: readPrivateKeyFile(s.privateKeyFile), region: s.region, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } });
  const voice = async (who: Person, before: VoiceChannelRef | null, after: VoiceChannelRef | null, at: Date) => {
    const outcome = await client.sendSync({ type: 'VOICE_STATE_UPDATE', guild: { id: GUILD, name: 'Guild' }, user: { id: who.id, name: who.name.toLowerCase(), display_name: who.name, bot: false }, before, after, at: at.toISOString() });
    if (outcome.status !== 'SUCCEEDED') throw new Error(`the relay refused a scene's event: ${JSON.stringify(outcome)}`);
    await server.lanes!.pipe.idle();
  };
  // Asynchronous: the relay serving the page runs in this process.
  const shoot = (name: string) => promisify(execFile)('timeout', ['60', 'chromium',
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chromium-'))}`, '--virtual-time-budget=3000', `--window-size=${width},${height}`, `--screenshot=${join(ROOT, 'docs', name)}`, `${s.url}/_sink`,
  ]);
  return { server, voice, shoot };
}

async function cards(): Promise<void> {
  const { server, voice, shoot } = await relayFor('cards.config.ts', 760, 300);
  const inRoom: Person[] = [];
  let minute = 0;
  const start = Date.now() - 100 * 60_000; // the session began 100 minutes ago (15 changes, 6 minutes apart, none in the future)
  const change = async (who: Person, joins: boolean) => {
    if (joins) inRoom.push(who);
    else inRoom.splice(inRoom.indexOf(who), 1);
    const side = { ...GENERAL, occupants: { count: inRoom.length, members: [...inRoom] } };
    await voice(who, joins ? null : side, joins ? side : null, new Date(start + (minute += 6) * 60_000));
  };
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
  } finally {
    await server.stop();
  }
}

/** Joins and leaves in #team (Slack), a move in #general (Discord), and a hostile name made inert. */
async function slack(): Promise<void> {
  const { server, voice, shoot } = await relayFor('slack.config.ts', 900, 420);
  const at = (i: number) => new Date(Date.now() - (10 - i) * 60_000);
  try {
    await voice(people[0], null, GENERAL, at(1));
    await voice({ id: '400000000000000099', name: '<!channel> & <@U123>' }, null, GENERAL, at(2));
    await voice(people[2], GENERAL, LOUNGE, at(3));
    await voice(people[0], GENERAL, null, at(4));
    await shoot('sink-slack.png');
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  await cards();
  await slack();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
