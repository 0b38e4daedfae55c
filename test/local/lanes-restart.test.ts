/**
 * Nothing queued is lost by a stop: a local relay stopped while its lane holds events (one batch
 * in flight, waiting on Discord's rate limit) delivers them after a restart from the same
 * .relay folder — and what was already posted is not posted again.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../../lib/client/keys';
import { RelayClient } from '../../lib/client/relay-client';
import { RelayErrorCode } from '../../lib/contracts/errors';
import { dedupeTableId } from '../../lib/local/synthesized-template';
import { LocalRelayServer, type LocalRelayServerOptions } from '../../lib/local/local-relay-server';
import { voiceEvent } from '../support/fixtures';
import { pollUntil } from '../support/until';

const stateDir = mkdtempSync(join(tmpdir(), 'relay-restart-'));
const GUILD = '123456789012345678'; // the example config's guild
const start = (options: Partial<LocalRelayServerOptions>) => LocalRelayServer.start({ port: 0, stateDir, retryPauseMs: 0, laneVisibilityTimeoutMs: 2000, log: () => undefined, ...options });
const clientFor = (s: LocalRelayServer) => {
  const st = s.settings;
  return new RelayClient({ url: st.url, kid: st.kid, privateKey: readPrivateKeyFile(st.privateKeyFile), region: st.region, credentials: { accessKeyId: st.accessKeyId, secretAccessKey: st.secretAccessKey }, maxAttempts: 1 });
};
const join_ = (name: string) => voiceEvent('join', { guild: { id: GUILD, name: 'Local Guild' }, user: { id: '444444444444444444', name: name.toLowerCase(), display_name: name, bot: false } });
const names = (s: LocalRelayServer) => s.sink.messages.flatMap((m) => (m.body as { content: string }).content.split('\n')).map((l) => /\*\*(\w+)\*\*/.exec(l)?.[1]);

const until = (check: () => boolean | Promise<boolean>, ms = 15_000) => pollUntil(check, ms, 25);

it('events queued when the relay stops are delivered after the restart, each exactly once', async () => {
  // Discord allows one request a minute: the first post empties the bucket and its batch waits.
  const first = await start({ sinkRateLimit: { limit: 1, windowMs: 60_000 } });
  let second: LocalRelayServer | undefined;
  try {
    const client = clientFor(first);
    await client.sendSync(join_('Ann'), { id: 'restart-ann' });
    const table = dedupeTableId(first.template)!;
    const state = async () => (await first.lanes!.dynamodb.client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'restart-ann' } }, ConsistentRead: true }))).Item?.state?.S;
    await until(async () => (await state()) === 'delivered');
    await client.sendSync(join_('Bob'), { id: 'restart-bob' });
    await client.sendSync(join_('Cat'), { id: 'restart-cat' });
    expect(first.lanes!.lane.depth).toEqual({ visible: 2, inFlight: 1 });
    expect(names(first)).toEqual(['Ann']);
  } finally {
    await first.stop(0);
  }

  try {
    second = await start({ sinkRateLimit: false });
    await until(() => second!.lanes!.lane.depth.visible + second!.lanes!.lane.depth.inFlight === 0 && second!.lanes!.pipe.stats.inFlight === 0 && names(second!).length >= 2);
    // Ann's batch came back after the restart and was skipped: she was already posted.
    expect(names(second).sort()).toEqual(['Bob', 'Cat']);
    // The claims survived too: Ann again is a duplicate.
    expect(await clientFor(second).sendSync(join_('Ann'), { id: 'restart-ann' })).toMatchObject({ status: 'SUCCEEDED', code: RelayErrorCode.Duplicate });
  } finally {
    await second?.stop(0);
  }
}, 60_000);
