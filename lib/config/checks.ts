/**
 * One checker per config section. Each reports problems (field path, what is wrong, the fix) and
 * never throws; `validateRelayConfig` runs them all so a user sees every problem at once.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { KEY_ID_PATTERN, PUBLIC_KEY_HEX_PATTERN } from '../contracts/envelope';
import { ROUTABLE_EVENT_KINDS, SNOWFLAKE_PATTERN } from '../contracts/events';
import { STACK_NAME_PATTERN } from '../contracts/outputs';
import { CARD_EVENT_KINDS, CHANNEL_NAME_PATTERN, CHANNEL_NAME_RULE, MAX_CHANNELS_PER_KIND, ROUTE_MODES } from '../contracts/routes';
import { CHANNEL_KINDS, LOG_LEVELS } from './relay-config';
import { checkDiscordApp, checkGitHub, checkMonitoring } from './checks-operate';
import { DISCORD_CONTENT_LIMIT, TemplateSyntaxError, maxRenderedLength, parseTemplate } from '../contracts/template';
import { SLACK_TEXT_LIMIT, maxSlackRenderedLength } from '../contracts/slack';

export type ProblemSink = (path: string, problem: string, fix: string) => void;
export type Check = (config: Record<string, unknown>, add: ProblemSink) => void;

// Secrets Manager names: 1-512 of [A-Za-z0-9/_+=.@-].
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const CALLER_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;
/** Retention periods CloudWatch Logs accepts: aws-cdk-lib's own list. */
const RETENTION_DAYS: readonly unknown[] = Object.values(RetentionDays).filter((v) => typeof v === 'number');
const FIELDS = ['stackName', 'channels', 'routes', 'forwarderKeys', 'allowedGuildIds', 'callers', 'operators', 'throttling', 'logLevel', 'logRetentionDays', 'freshnessWindowSeconds', 'dedupeRetentionHours', 'github', 'monitoring', 'discordApp'];

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const checkFields: Check = (config, add) => {
  for (const key of Object.keys(config)) {
    if (!FIELDS.includes(key)) add(key, 'is not a config field', `remove it or use one of ${FIELDS.join(', ')}`);
  }
};

const checkStackName: Check = ({ stackName }, add) => {
  if (stackName !== undefined && (typeof stackName !== 'string' || !STACK_NAME_PATTERN.test(stackName))) {
    add('stackName', `${show(stackName)} is not a CloudFormation stack name`, 'use letters, digits and hyphens, starting with a letter');
  }
};

function checkChannel(name: string, ch: unknown, add: ProblemSink): void {
  const at = `channels.${name}`;
  if (!CHANNEL_NAME_PATTERN.test(name)) add(at, 'channel names become URL paths and workflow state names', `use ${CHANNEL_NAME_RULE}`);
  if (!isRecord(ch)) return add(at, 'must be an object', 'write { secretName: "..." }');
  if (ch.kind !== undefined && !(CHANNEL_KINDS as readonly unknown[]).includes(ch.kind)) {
    add(`${at}.kind`, `${show(ch.kind)} is not a supported channel kind`, `use one of ${CHANNEL_KINDS.join(', ')}`);
  }
  if (typeof ch.secretName === 'string' && /^https?:/i.test(ch.secretName)) {
    add(`${at}.secretName`, 'holds a URL; a webhook URL is a secret and must not be in the config', 'store the URL in Secrets Manager (README "Store the webhook URL") and put the secret\'s name here');
  } else if (typeof ch.secretName !== 'string' || !SECRET_NAME_PATTERN.test(ch.secretName)) {
    add(`${at}.secretName`, `${show(ch.secretName)} is not a Secrets Manager secret name`, 'use the name (not the ARN) of the secret holding the webhook URL');
  }
  for (const key of Object.keys(ch)) {
    if (key !== 'secretName' && key !== 'kind') add(`${at}.${key}`, 'is not a channel field', 'remove it; a channel has secretName and kind');
  }
}

const checkChannels: Check = ({ channels }, add) => {
  if (!isRecord(channels) || Object.keys(channels).length === 0) {
    return add('channels', 'must name at least one channel', 'add e.g. channels: { general: { secretName: "discord-relay/webhooks/general" } }');
  }
  for (const [name, ch] of Object.entries(channels)) checkChannel(name, ch, add);
};

function checkTemplate(at: string, template: unknown, add: ProblemSink, slack: boolean): void {
  if (typeof template !== 'string' || template.trim() === '') {
    return add(`${at}.template`, 'must be non-empty text', 'write the message, e.g. "🔊 {user} joined {channel}"');
  }
  try {
    const parts = parseTemplate(template);
    const longest = maxRenderedLength(parts);
    if (longest > DISCORD_CONTENT_LIMIT) {
      add(`${at}.template`, `can expand to ${longest} characters, over Discord's ${DISCORD_CONTENT_LIMIT}`, 'shorten the text or use fewer placeholders');
    }
    // In Slack a name escapes to up to five times its length, and mentions read as names.
    const slackLongest = maxSlackRenderedLength(parts);
    if (slack && slackLongest > SLACK_TEXT_LIMIT) {
      add(`${at}.template`, `can expand to ${slackLongest} characters in Slack, over the ${SLACK_TEXT_LIMIT} a message is kept under`, 'use fewer name placeholders ({user}, {channel}, the *_mention ones)');
    }
  } catch (e) {
    if (!(e instanceof TemplateSyntaxError)) throw e;
    // TemplateSyntaxError messages read "<problem>; <fix>".
    const [problem, fix = 'fix the placeholder'] = e.message.split('; ');
    add(`${at}.template`, problem, fix);
  }
}

const checkRoutes: Check = ({ routes, channels }, add) => {
  if (!Array.isArray(routes) || routes.length === 0) {
    return add('routes', 'must have at least one route', 'add e.g. { event: "voice.join", channel: "general", template: "🔊 {user} joined {channel}" }');
  }
  // Each (kind, channel) once: where it was first routed.
  const seen = new Map<string, string>();
  routes.forEach((r: unknown, i: number) => {
    const at = `routes[${i}]`;
    if (!isRecord(r)) return add(at, 'must be an object', 'write { event, channel, template }');
    const known = (ROUTABLE_EVENT_KINDS as readonly unknown[]).includes(r.event);
    if (!known) add(`${at}.event`, `${show(r.event)} is not an event kind`, `use one of ${ROUTABLE_EVENT_KINDS.join(', ')}`);
    const named = routeChannels(at, r.channel, channels, add);
    for (const { channel, path } of named) {
      const key = `${String(r.event)}\u0000${channel}`;
      if (known && seen.has(key)) add(path, `${r.event} already goes to ${channel} (${seen.get(key)})`, 'route each event kind to a channel once');
      else seen.set(key, path);
    }
    const toSlack = named.some(({ channel }) => isRecord(channels) && isRecord(channels[channel]) && (channels[channel] as Record<string, unknown>).kind === 'slack');
    checkRouteMode(at, r, add, toSlack);
    if (r.mode === 'card' && toSlack) {
      add(`${at}.mode`, `${named.map((n) => n.channel).join(', ')} includes a Slack channel, and a Slack incoming webhook cannot edit a message, so it cannot hold a live card`, 'use mode "message" for a Slack channel, or route the cards to a Discord channel');
    }
  });
  checkCardSettings(routes, add);
  checkFanOutMinimums(routes, add);
};

/**
 * The channels a route names (`channel: "general"` or `channel: ["general", "team"]`), each with
 * its field path; every one not configured is a problem.
 */
function routeChannels(at: string, channel: unknown, channels: unknown, add: ProblemSink): Array<{ channel: string; path: string }> {
  const fix = `use a key of channels${isRecord(channels) ? ` (${Object.keys(channels).join(', ')})` : ''}`;
  if (Array.isArray(channel) && channel.length === 0) {
    add(`${at}.channel`, 'names no channel', `${fix}, or a list of them`);
    return [];
  }
  const list = Array.isArray(channel) ? channel.map((c, j) => ({ channel: c as unknown, path: `${at}.channel[${j}]` })) : [{ channel, path: `${at}.channel` }];
  return list.filter(({ channel: c, path }) => {
    const ok = typeof c === 'string' && isRecord(channels) && Object.prototype.hasOwnProperty.call(channels, c);
    if (!ok) add(path, `${show(c)} is not a configured channel`, fix);
    return ok;
  }) as Array<{ channel: string; path: string }>;
}

/**
 * A message route's `minMembers` is checked once per event, before its copies are made: a kind
 * going to several channels takes one minimum, and none when one of them is a card (which counts
 * people itself, and must see every change).
 */
function checkFanOutMinimums(routes: unknown[], add: ProblemSink): void {
  const byKind = new Map<unknown, Array<{ r: Record<string, unknown>; i: number; channels: number }>>();
  routes.forEach((r, i) => {
    if (!isRecord(r)) return;
    const list = byKind.get(r.event) ?? [];
    list.push({ r, i, channels: Array.isArray(r.channel) ? r.channel.length : 1 });
    byKind.set(r.event, list);
  });
  for (const [kind, list] of byKind) {
    const channels = list.reduce((n, l) => n + l.channels, 0);
    if (channels > MAX_CHANNELS_PER_KIND) {
      add(`routes[${list[list.length - 1]!.i}].channel`, `${show(kind)} goes to ${channels} channels; an event goes to at most ${MAX_CHANNELS_PER_KIND} (each copy travels in the workflow's state, which Step Functions caps at 256 KiB)`, `route ${show(kind)} to ${MAX_CHANNELS_PER_KIND} channels or fewer`);
    }
    if (channels < 2) continue;
    const minimum = (l: { r: Record<string, unknown> }) => (l.r.minMembers as number | undefined) ?? 1;
    const messages = list.filter((l) => (l.r.mode ?? 'message') === 'message');
    const card = list.find((l) => l.r.mode === 'card');
    for (const l of messages) {
      if (card && minimum(l) > 1) add(`routes[${l.i}].minMembers`, `${show(kind)} also goes to a card (routes[${card.i}]), which must see every change; a message route's minimum would hold the event back from the card too`, 'set minMembers on the card route (the card applies it), or give this kind a card or messages, not both');
      else if (minimum(l) !== minimum(messages[0]!)) add(`routes[${l.i}].minMembers`, `differs from routes[${messages[0]!.i}].minMembers for ${show(kind)}: the minimum is checked once per event, before it is sent to each channel`, 'give every message route of this kind the same minMembers');
    }
  }
}

/** A card's settings are its channel's: two card routes of one channel may not set them differently. */
function checkCardSettings(routes: unknown[], add: ProblemSink): void {
  const first = new Map<string, number>();
  routes.forEach((r, i) => {
    if (!isRecord(r) || r.mode !== 'card') return;
    for (const setting of ['pingRoleId', 'minMembers'] as const) {
      if (r[setting] === undefined) continue;
      for (const channel of Array.isArray(r.channel) ? r.channel : [r.channel]) {
        const key = `${String(channel)}\u0000${setting}`;
        const j = first.get(key);
        if (j === undefined) first.set(key, i);
        else if ((routes[j] as Record<string, unknown>)[setting] !== r[setting]) {
          add(`routes[${i}].${setting}`, `differs from routes[${j}].${setting} for channel ${show(channel)}: a card's settings belong to its channel, whichever event started or changed it`, `set ${setting} once, on one card route of the channel (it applies to all of them), or the same on each`);
        }
      }
    }
  });
}

function checkRouteMode(at: string, r: Record<string, unknown>, add: ProblemSink, toSlack: boolean): void {
  const mode = r.mode ?? 'message';
  if (!(ROUTE_MODES as readonly unknown[]).includes(mode)) return add(`${at}.mode`, `${show(r.mode)} is not a route mode`, `use one of ${ROUTE_MODES.join(', ')}`);
  if (mode === 'message') checkTemplate(at, r.template, add, toSlack);
  else if (r.template !== undefined) add(`${at}.template`, 'is not used by a card route (the card has its own text)', 'remove it, or use mode "message"');
  if (mode === 'card' && !(CARD_EVENT_KINDS as readonly unknown[]).includes(r.event)) {
    add(`${at}.mode`, `a card follows who is in a channel; ${show(r.event)} does not change that`, `use mode card with ${CARD_EVENT_KINDS.join(', ')} only`);
  }
  if (r.minMembers !== undefined && (!Number.isInteger(r.minMembers) || (r.minMembers as number) < 1 || (r.minMembers as number) > 99)) {
    add(`${at}.minMembers`, `${show(r.minMembers)} is out of range`, 'use a whole number of people from 1 to 99');
  }
  if (r.pingRoleId !== undefined) {
    if (mode !== 'card') add(`${at}.pingRoleId`, 'pings only on the first post of a card session', 'use mode "card", or remove it');
    else if (typeof r.pingRoleId !== 'string' || !SNOWFLAKE_PATTERN.test(r.pingRoleId)) add(`${at}.pingRoleId`, `${show(r.pingRoleId)} is not a role id`, 'write the role id as a string of 17-20 digits (Server Settings → Roles → Copy Role ID)');
  }
}

const checkForwarderKeys: Check = ({ forwarderKeys }, add) => {
  if (!isRecord(forwarderKeys) || Object.keys(forwarderKeys).length === 0) {
    return add('forwarderKeys', 'must list at least one public key', 'run `npx relay keygen --kid <name>` and paste the line it prints');
  }
  for (const [kid, hex] of Object.entries(forwarderKeys)) {
    if (!KEY_ID_PATTERN.test(kid)) add(`forwarderKeys.${kid}`, 'is not a valid key id', 'use 1-64 characters of [A-Za-z0-9._-]');
    if (typeof hex === 'string' && hex.includes('PRIVATE KEY')) {
      add(`forwarderKeys.${kid}`, 'is a PRIVATE key; it must never be in the config', 'remove it now, rotate the key, and paste the public key hex `relay keygen` printed');
    } else if (typeof hex !== 'string' || !PUBLIC_KEY_HEX_PATTERN.test(hex)) {
      add(`forwarderKeys.${kid}`, 'must be the 64-hex-character Ed25519 public key', 'paste the public key hex `relay keygen` printed');
    }
  }
};

const checkAllowedGuildIds: Check = ({ allowedGuildIds }, add) => {
  if (!Array.isArray(allowedGuildIds) || allowedGuildIds.length === 0) {
    return add('allowedGuildIds', 'must list at least one guild id', 'add your server\'s id (Discord: Server Settings → Widget → Server ID, or right-click the server with Developer Mode on)');
  }
  allowedGuildIds.forEach((id: unknown, i: number) => {
    if (typeof id !== 'string' || !SNOWFLAKE_PATTERN.test(id)) {
      add(`allowedGuildIds[${i}]`, `${show(id)} is not a guild id`, 'write the id as a string of 17-20 digits (quoted: ids exceed JavaScript\'s safe integers)');
    }
  });
};

/** `callers` and `operators`: IAM role or user ARNs a managed policy is attached to. */
function principalList(field: 'callers' | 'operators', example: string): Check {
  return (config, add) => {
    const list = config[field];
    if (list === undefined) return;
    if (!Array.isArray(list)) return add(field, 'must be a list of IAM ARNs', `write e.g. ["arn:aws:iam::123456789012:role/${example}"]`);
    list.forEach((arn: unknown, i: number) => {
      if (typeof arn !== 'string' || !CALLER_ARN_PATTERN.test(arn)) {
        add(`${field}[${i}]`, `${show(arn)} is not an IAM role or user ARN`, 'use arn:aws:iam::<account>:role/<name> or arn:aws:iam::<account>:user/<name>');
      }
    });
  };
}
const checkCallers = principalList('callers', 'discord-relay-forwarder');
const checkOperators = principalList('operators', 'relay-operator');

const checkThrottling: Check = ({ throttling }, add) => {
  if (throttling === undefined) return;
  if (!isRecord(throttling)) return add('throttling', 'must be an object', 'write { ingest: { rateLimit, burstLimit }, webhookProxy: { ... } }');
  for (const [which, t] of Object.entries(throttling)) {
    if (which !== 'ingest' && which !== 'webhookProxy') {
      add(`throttling.${which}`, 'is not a throttled API', 'use ingest or webhookProxy');
    } else if (!isRecord(t) || !Number.isFinite(t.rateLimit) || (t.rateLimit as number) <= 0 || !Number.isInteger(t.burstLimit) || (t.burstLimit as number) <= 0) {
      add(`throttling.${which}`, `${show(t)} is not a throttle setting`, 'write { rateLimit: <requests per second, > 0>, burstLimit: <whole number, > 0> }');
    }
  }
};

const checkLogging: Check = ({ logLevel, logRetentionDays }, add) => {
  if (logLevel !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(logLevel)) {
    add('logLevel', `${show(logLevel)} is not a Step Functions log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  if (logRetentionDays !== undefined && !RETENTION_DAYS.includes(logRetentionDays)) {
    add('logRetentionDays', `${show(logRetentionDays)} is not a retention CloudWatch Logs accepts`, `use one of ${RETENTION_DAYS.join(', ')}`);
  }
};

const checkFreshness: Check = ({ freshnessWindowSeconds: s }, add) => {
  if (s !== undefined && (!Number.isInteger(s) || (s as number) < 30 || (s as number) > 3600)) {
    add('freshnessWindowSeconds', `${show(s)} is out of range`, 'use a whole number of seconds from 30 to 3600');
  }
};

const checkDedupeRetention: Check = ({ dedupeRetentionHours: h }, add) => {
  if (h !== undefined && (!Number.isInteger(h) || (h as number) < 25 || (h as number) > 8760)) {
    add('dedupeRetentionHours', `${show(h)} is out of range`, 'use a whole number of hours from 25 (the forwarder re-sends spooled events for up to 24 h) to 8760');
  }
};

/** In the order problems are listed. */
export const CHECKS: readonly Check[] = [
  checkFields, checkStackName, checkChannels, checkRoutes, checkForwarderKeys, checkAllowedGuildIds, checkCallers, checkOperators, checkThrottling, checkLogging, checkFreshness, checkDedupeRetention, checkGitHub, checkMonitoring, checkDiscordApp,
];
