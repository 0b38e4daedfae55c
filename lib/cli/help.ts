/** Help texts: `relay --help` shows them all, `relay <command> --help` its own. */
import { DEFAULT_TIMEOUT_MS } from '../client/relay-client';
import { FORWARDER_DEFAULTS } from '../forwarder/defaults';
import { PAUSE_MINUTES } from '../contracts/interactions';
import { DISCORD_WEBHOOK_RATE_LIMIT } from '../local/discord-sink';
import { DEFAULT_LOCAL_PORT, LOCAL_SETTINGS_FILE, STOP_GRACE_MS } from '../local/local-settings';
import { FORWARD_NODE_FLOOR } from './node-floor';

const F = FORWARDER_DEFAULTS;
const SINK = DISCORD_WEBHOOK_RATE_LIMIT;

const EXIT_CODES = `Exit codes:
  0  accepted (async); queued, duplicate or ignored (--sync)
  1  unexpected error
  2  usage error
  3  configuration error: URL, key id, key file, region, token, config or Node version missing or unusable
  4  forbidden (HTTP 403): this AWS identity may not call the relay
  5  rejected: the relay refused the event (Relay.* code with --sync, or HTTP 4xx), or Discord refused the commands
  6  delivery failed: the run timed out (or, on a direct-delivery relay, Discord refused the message)
  7  unavailable: no answer, 429 or 5xx after every retry; the local relay or Discord not reachable`;

const TARGET_OPTIONS = `  --url <url>          ingest URL, the IngestUrl stack output          [RELAY_URL]
  --kid <name>         key id the relay knows your public key by       [RELAY_KID]
  --key-file <file>    your private key (must not be readable by others) [RELAY_KEY_FILE]
  --region <region>    default: from the URL, else AWS_REGION
Defaults: the flag, then the environment, then ${LOCAL_SETTINGS_FILE} (written by \`relay local\` in
this folder). AWS credentials come from the standard chain (environment, profile/SSO, instance or
container role), or from ${LOCAL_SETTINGS_FILE} for the local relay.`;

export const COMMAND_HELP = {
  local: `relay local [--port ${DEFAULT_LOCAL_PORT}] [--config <file>] [--sink-rate-limit <n>/<ms>|off] [--fast-retries] [--direct-delivery]

Runs the relay on this machine from the synthesized template (npm start): the SigV4 ingest API,
the relay workflow with the real Verify code, the dedupe table (dynalite) and the delivery lanes
(FIFO queues journaled under .relay/lanes, nothing queued is lost by a stop or a crash), the
delivery workflow, the webhook proxy, and a Discord-compatible sink (page at /_sink). It writes
${LOCAL_SETTINGS_FILE}, which send and forward then use by default. A
channel posts to a real webhook when RELAY_WEBHOOK_<CHANNEL> or .relay/secrets.json
({"<secret name>": "<url>"}) gives one; otherwise to the sink. SIGINT or SIGTERM stops it after
in-flight executions (up to ${STOP_GRACE_MS / 1000} s); a second one, a second or more later, stops it at once.
  --port <n>              ingest API and sink port (default ${DEFAULT_LOCAL_PORT}; 0 for any free port)
  --config <file>         relay config (default config/relay.config.ts)
  --sink-rate-limit <n>/<ms>|off   the sink's per-webhook limit (default ${SINK.limit}/${SINK.windowMs}, like Discord)
  --fast-retries          shorten the state machines' retry pauses to 50 ms
  --direct-delivery       run the pre-lanes design instead (one post per event, no dedupe, no
                          pacing): for comparison, as the bench does`,

  keygen: `relay keygen --kid <name> [--out <file>]

Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600; default .relay/keys/<name>.pem) and prints
its public key and the line to paste into the relay config's forwarderKeys.`,

  send: `relay send [<file>|-] [options]                 the event JSON from a file, or stdin
relay send voice-join  --user <id> --channel <id> [options]
relay send voice-leave --user <id> --channel <id> [options]
relay send voice-move  --user <id> --from <id> --to <id> [options]

Send options:
${TARGET_OPTIONS}
  --id <id>            event id (idempotency key); default: a random UUID (a batch's own id)
  --batch <file>|-     send 1-10 events in one signed envelope: a JSON array of { "id", "event" }
                       items or of events (an event's own "id" field is its id; default: random,
                       so the file sent again posts again); with --sync,
                       one line per event: queued, duplicate, ignored, rejected or failed
  --sync               wait for the outcome and print it
  --timeout <ms>       per-attempt timeout (default ${DEFAULT_TIMEOUT_MS})
  --json               print the result as JSON
Event builder options (ids are Discord snowflakes, 17-20 digits; names 1-100 characters):
  --guild <id>         default: the local relay's guildId
  --guild-name, --user-name, --display-name, --channel-name, --from-name, --to-name <text>
  --bot                the user is a bot
  --occupants <n>      how many are in the channel after the change (the one joined or moved
                       into, listing the user): what live cards count; for a leave, 0 ends
                       the card (other counts are left to the card's own list)`,

  doctor: `relay doctor [--stack <name>] [--post <channel>] [options]

Checks a relay hop by hop and prints one line per check (✓ passed, ⚠ warning, ✗ failed with the
likely cause and the fix, – not run): credentials and region; the relay (the stack's outputs, or
the local relay); the ingest accepts this identity's SigV4; a signed probe heartbeat through
POST /events/sync (the integration role, Verify, your key id, your clock); the lane pipe; the
lane; dead letters and why Discord refused them; alarms in ALARM; the last forwarder heartbeat.
With --post, one labelled test message goes through the whole path and is followed until it is
delivered, or the reason it was not is named.
Which relay: --stack (or RELAY_STACK) reads a deployed stack's outputs with the standard AWS
chain (attach the stack output OperatorPolicyArn); else --url (RELAY_URL) checks that ingest as
far as a URL allows; else ${LOCAL_SETTINGS_FILE}, the local relay of this folder.
Doctor options:
  --stack <name>       the relay's CloudFormation stack                    [RELAY_STACK]
  --region <region>    default: the standard chain's (AWS_REGION, the profile)
  --post <channel>     also post a test message to this channel and follow it
  --wait <seconds>     how long the test message may take to be delivered (default 60)
  --skip <check>       leave a check out (repeatable): credentials, relay, ingest-auth,
                       probe, pipe, lane, dead-letters, alarms, forwarder-heartbeat, post
  --json               one JSON object: { relay, ok, exitCode, checks: [{ id, title, status, detail, cause?, fix?, register?, ms }] }
  --url, --kid, --key-file   as relay forward takes them (the forwarder's key signs the probe)
                       [RELAY_URL, RELAY_KID, RELAY_KEY_FILE; for the local relay, ${LOCAL_SETTINGS_FILE}]
Exit: 0 every check passed (warnings allowed), 8 a check failed (a stopped local relay
included), 3 no relay to check (no --stack, no RELAY_URL, no .relay/local.json), 2 usage.`,

  forward: `relay forward [options]

The Discord gateway bot: forwards voice joins, leaves and moves to the relay. Needs Node.js
${FORWARD_NODE_FLOOR.major}.${FORWARD_NODE_FLOOR.minor} or later (the project's own Node 24 through npx). A start that fails exits: 3 for a refused token,
7 when Discord cannot be reached (a supervisor such as systemd restarts it). Running, it exits 3 when
Discord ends its session for good (the token was reset); any other disconnect is resumed.
Forward options:
${TARGET_OPTIONS}
  --token-file <file>  the bot token (not readable by others)           [DISCORD_TOKEN]
  --guild <id>         forward this guild only (repeatable)             [RELAY_GUILDS, comma-separated]
                       default: the local relay's guildId, else every guild the bot is in
  --include-bots       forward bots' voice changes too
  --forward-updates    forward mute/deafen/stream/video changes too
  --debounce-ms <n>    hold changes this long to drop flapping (default ${F.debounceMs})
  --spool <file>       the durable queue (default ${F.spoolFile})
  --health-port <n>    GET /healthz on ${F.healthHost}:<n> (default ${F.healthPort}; off to disable)
  --heartbeat-minutes <n>  heartbeat event interval (default ${F.heartbeatMs / 60_000}; 0 to disable)
  --name <name>        names this forwarder in heartbeats (default: the host name)
  --log-level <level>  debug, info, warn or error (default info)`,

  commands: `relay commands register --token-file <file> [--config <file>] [--global] [--guild <id>]...

Registers /relay (optout, optin, pause, resume, status) with the Discord application of the
config's discordApp, replacing the application's commands there: what the deploy does when
discordApp names botTokenSecretName. Prints one line per guild (or one for global).
  --token-file <file>  the bot token (not readable by others; never printed)
  --config <file>      relay config (default config/relay.config.ts)
  --global             register once for every server the app is in
  --guild <id>         register in this guild only (repeatable; must be in allowedGuildIds)
                       default: discordApp.commandScope, in every guild of allowedGuildIds`,

  interact: `relay interact <ping|optout|optin|pause|resume|status> [options]

Plays Discord against the local relay: builds the interaction Discord would send for /relay
<subcommand> (or a PING), signs it with the local application key from ${LOCAL_SETTINGS_FILE} (the
local relay writes it when its config has discordApp) and prints the reply.
  --minutes <n>        pause only, and required there: ${PAUSE_MINUTES.min}-${PAUSE_MINUTES.max}
  --user <id>          the member who runs it (default: a fixed local member)
  --manage             the member has Manage Server (pause, resume and status need it)
  --guild <id>         default: the local relay's guildId
  --url <url>          default: the local relay's interactions URL`,
} as const;

export type CommandName = keyof typeof COMMAND_HELP;
export const COMMANDS = Object.keys(COMMAND_HELP) as CommandName[];

export function commandHelp(command: CommandName): string {
  // The doctor's exit codes are its own, in its text.
  return command === 'doctor' ? `${COMMAND_HELP.doctor}\n` : `${COMMAND_HELP[command]}\n\n${EXIT_CODES}\n`;
}

export const HELP = `relay — send signed events to a Discord Event Relay

Usage:
  relay local [options]          run the whole relay on this machine (npm start)
  relay forward [options]        the Discord gateway bot
  relay keygen --kid <name>      make a signing key
  relay send [<file>|-|voice-join|voice-leave|voice-move] [options] [--sync]
  relay doctor [--stack <name>] [--post <channel>]   check a relay hop by hop
  relay commands register --token-file <file>   register /relay with Discord
  relay interact <subcommand> [options]   play Discord against the local relay
  relay <command> --help         one command's options
  relay --version

${COMMANDS.map((c) => COMMAND_HELP[c]).join('\n\n')}

${EXIT_CODES.replace('Exit codes:', 'Exit codes: (relay doctor has its own, in its text above)')}
`;
