/** `relay local` (npm start): the whole relay on this machine, from the synthesized template. */
import { RelayConfigError } from '../config/relay-config';
import type { RateLimit } from '../local/discord-sink';
import { LOCAL_SETTINGS_FILE, readLocalSettings } from '../local/local-settings';
import type { LocalRelayServer } from '../local/local-relay-server';
import { noPositionals, parseCommandArgs, wholeNumber } from './args';
import { ConfigError, ExitCode, UsageError } from './errors';
import { LOCAL_NODE_FLOOR, checkNodeFloor } from './node-floor';

const OPTIONS = {
  port: { type: 'string' }, config: { type: 'string' }, 'sink-rate-limit': { type: 'string' }, 'fast-retries': { type: 'boolean' }, 'direct-delivery': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

function parseRateLimit(value: string | undefined): RateLimit | false | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError('--sink-rate-limit takes <requests>/<milliseconds> (e.g. 5/2000) or off', 'local');
  return { limit: Number(m[1]), windowMs: Number(m[2]) };
}

/** What `relay local` prints once it is up: where everything is, and the first command to try. */
export function banner(server: Pick<LocalRelayServer, 'settings' | 'proxyUrl' | 'destinations'>, out: (line: string) => void, deadLetters = 0): void {
  const s = server.settings;
  out('Discord Event Relay — running locally from the synthesized template');
  out(`  ingest API     ${s.url}/events and /events/sync  (SigV4: region ${s.region}, credentials in ${LOCAL_SETTINGS_FILE})`);
  out(`  webhook proxy  ${server.proxyUrl}/channels/<name>`);
  out(`  sink           ${s.url}/_sink  (JSON: ${s.url}/_sink/messages)`);
  for (const d of server.destinations) {
    const where = d.kind === 'slack'
      ? (d.to === 'sink' ? 'the sink (as a Slack incoming webhook)' : `your Slack webhook (URL from ${d.to})`)
      : (d.to === 'sink' ? 'the sink' : `your webhook (URL from ${d.to})`);
    out(`  #${d.channel.padEnd(13)} → ${where}${d.cards ? ' · live voice cards: one message per voice session, edited in place' : ''}`);
  }
  out(`  signing key    "${s.kid}" (${s.privateKeyFile})`);
  if (s.interactions) out(`  interactions   ${s.interactions.url}  (/relay commands, signed by the local app key ${s.interactions.privateKeyFile}: npx relay interact optout)`);
  // Kept in .relay/lanes across restarts: say so, or they are found only by looking.
  if (deadLetters > 0) out(`  dead letters   ${deadLetters} waiting from an earlier run (reasons: curl ${s.url}/_lanes; move them back: curl -X POST ${s.url}/_lanes/redrive)`);
  out('');
  out('Send a test event from another terminal:');
  out('  npx relay send voice-join --user 444444444444444444 --display-name Alice --channel 222222222222222222 --channel-name General --sync');
  out('');
  out('Ctrl-C stops (a second Ctrl-C at once).');
}

/**
 * One keypress sends SIGINT twice: the terminal signals the whole process group (npm and the
 * relay), and npm forwards its own to the relay. A signal this soon after the first is that echo.
 */
export const SAME_SIGNAL_MS = 1000;

/** Resolves on the first SIGINT/SIGTERM once the server has stopped; a second, deliberate one (after SAME_SIGNAL_MS) exits at once. */
function stopOnSignal(server: LocalRelayServer, out: (line: string) => void): Promise<void> {
  return new Promise<void>((resolveStop) => {
    let stoppingSince: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stoppingSince !== undefined) {
        if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
        out(`${signal} again: exiting now`);
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      }
      stoppingSince = Date.now();
      out(`${signal}: stopping after in-flight executions…`);
      void server.stop().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        out('stopped');
        resolveStop();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function local(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('local', argv, OPTIONS);
  noPositionals('local', positionals);
  const port = wholeNumber('local', 'port', values.port, 0, 65535);
  const sinkRateLimit = parseRateLimit(values['sink-rate-limit']);
  checkNodeFloor('local', LOCAL_NODE_FLOOR);
  // Loaded on demand: the CDK app is heavy, and only `local` needs it.
  const { LocalRelayServer: Server, PortInUseError, RelayRunningError } = await import('../local/local-relay-server');
  let server: LocalRelayServer;
  try {
    server = await Server.start({ port, configPath: values.config, sinkRateLimit, retryPauseMs: values['fast-retries'] ? 50 : undefined, directDelivery: values['direct-delivery'], log: out });
  } catch (error) {
    if (error instanceof RelayRunningError) {
      const running = readLocalSettings()?.url;
      throw new ConfigError(`a local relay is already running in this folder (pid ${error.pid}${running ? `, ${running}` : ''}, from ${LOCAL_SETTINGS_FILE}): stop it first (Ctrl-C where it runs), or start this one from another folder`);
    }
    if (error instanceof PortInUseError) {
      throw new ConfigError(`port ${error.port} is in use: another local relay (or another program) may be running there. Stop it, or pass --port <another port>`);
    }
    if (error instanceof RelayConfigError) throw new ConfigError(error.message);
    // The stack's own checks (node.addValidation), e.g. card routes with --direct-delivery: a config problem, said plainly.
    const problems = /^Validation failed with the following errors:\n([\s\S]*)$/.exec((error as Error).message ?? '')?.[1];
    if (problems) {
      const lines = problems.split('\n').map((l) => l.replace(/^\s*\[[^\]]*\]\s*/, '').trim()).filter((l) => l && !l.startsWith('...'));
      throw new ConfigError(`the relay cannot be built from this config${values['direct-delivery'] ? ' with --direct-delivery' : ''}: ${[...new Set(lines)].join('; ')}`);
    }
    throw error;
  }
  const waiting = server.lanes?.deadLetters.depth;
  banner(server, out, waiting ? waiting.visible + waiting.inFlight : 0);
  await stopOnSignal(server, out);
  return ExitCode.Ok;
}
