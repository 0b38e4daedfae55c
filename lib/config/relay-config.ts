/**
 * The relay's one config (DESIGN §2.3): its type, defaults and validator. Validated at synth
 * (bin/app.ts) and at local start; every problem is reported at once, each naming the field and
 * the fix. Secrets appear by name only.
 */
import { KEY_ID_PATTERN, PUBLIC_KEY_HEX_PATTERN, DEFAULT_FRESHNESS_SECONDS } from '../contracts/envelope';
import { ROUTABLE_EVENT_KINDS, SNOWFLAKE_PATTERN, type RoutableEventKind } from '../contracts/events';
import { DISCORD_CONTENT_LIMIT, TemplateSyntaxError, maxRenderedLength, parseTemplate } from '../contracts/template';

export const CHANNEL_KINDS = ['discord'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const LOG_LEVELS = ['OFF', 'ALL', 'ERROR', 'FATAL'] as const;
export type RelayLogLevel = (typeof LOG_LEVELS)[number];
/** Channel names become URL path segments (`POST /channels/<name>`) and construct ids. */
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Secrets Manager names: 1-512 of [A-Za-z0-9/_+=.@-].
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const CALLER_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;
/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export interface ChannelConfig {
  /** Name of the Secrets Manager secret whose plain-text value is the webhook URL (no query string). */
  readonly secretName: string;
  /** @default 'discord' */
  readonly kind?: ChannelKind;
}

export interface RouteConfig {
  readonly event: RoutableEventKind;
  /** A key of `channels`. */
  readonly channel: string;
  /** Message text with placeholders such as `{user}` and `{channel}` (see `TEMPLATE_FIELDS`). */
  readonly template: string;
}

export interface ThrottleConfig {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

export interface RelayConfig {
  /** @default 'DiscordEventRelay' */
  readonly stackName?: string;
  /** Channel name → where its webhook URL is kept. */
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  /** At most one route per event kind; kinds without a route are ignored (`Relay.Ignored`). */
  readonly routes: readonly RouteConfig[];
  /** Key id → Ed25519 public key (64 hex). Several at once allow rotation. */
  readonly forwarderKeys: Readonly<Record<string, string>>;
  /** Only events from these guilds are posted. */
  readonly allowedGuildIds: readonly string[];
  /**
   * IAM role or user ARNs (in the deploying account) that get the caller policy attached.
   * @default - none; attach the `CallerPolicyArn` output yourself
   */
  readonly callers?: readonly string[];
  readonly throttling?: {
    /** @default { rateLimit: 50, burstLimit: 100 } */
    readonly ingest?: ThrottleConfig;
    /** Protects Discord (and our IP's standing with Cloudflare) from floods. @default { rateLimit: 5, burstLimit: 10 } */
    readonly webhookProxy?: ThrottleConfig;
  };
  /** State machine log level. @default 'ERROR' */
  readonly logLevel?: RelayLogLevel;
  /** @default 30 */
  readonly logRetentionDays?: (typeof LOG_RETENTION_DAYS)[number];
  /** Accepted clock distance of an envelope's `ts`, in seconds. @default 300 */
  readonly freshnessWindowSeconds?: number;
}

/** A config with every default filled in. */
export interface ResolvedRelayConfig extends Required<Omit<RelayConfig, 'throttling' | 'channels'>> {
  readonly channels: Readonly<Record<string, Required<ChannelConfig>>>;
  readonly throttling: { readonly ingest: ThrottleConfig; readonly webhookProxy: ThrottleConfig };
}

export const DEFAULT_STACK_NAME = 'DiscordEventRelay';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `routes[1].channel`. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

export class RelayConfigError extends Error {
  constructor(public readonly problems: readonly ConfigProblem[], source = 'relay config') {
    super(
      `Invalid ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.problem}. Fix: ${p.fix}`).join('\n'),
    );
    this.name = 'RelayConfigError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Checks an untrusted config value and returns it with defaults filled in, or throws a
 * {@link RelayConfigError} listing every problem.
 */
export function validateRelayConfig(input: unknown, source?: string): ResolvedRelayConfig {
  const problems: ConfigProblem[] = [];
  const add = (path: string, problem: string, fix: string): void => {
    problems.push({ path, problem, fix });
  };
  if (!isRecord(input)) {
    throw new RelayConfigError([{ path: '(root)', problem: 'the config must be an object', fix: 'export an object of type RelayConfig' }], source);
  }
  const known = ['stackName', 'channels', 'routes', 'forwarderKeys', 'allowedGuildIds', 'callers', 'throttling', 'logLevel', 'logRetentionDays', 'freshnessWindowSeconds'];
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) add(key, 'is not a config field', `remove it or use one of ${known.join(', ')}`);
  }

  const stackName = input.stackName ?? DEFAULT_STACK_NAME;
  if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    add('stackName', `${show(stackName)} is not a CloudFormation stack name`, 'use letters, digits and hyphens, starting with a letter');
  }

  const channels: Record<string, Required<ChannelConfig>> = {};
  if (!isRecord(input.channels) || Object.keys(input.channels).length === 0) {
    add('channels', 'must name at least one channel', 'add e.g. channels: { general: { secretName: "discord-relay/webhooks/general" } }');
  } else {
    for (const [name, ch] of Object.entries(input.channels)) {
      const at = `channels.${name}`;
      if (!CHANNEL_NAME_PATTERN.test(name)) {
        add(at, 'channel names become URL paths', 'use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit');
      }
      if (!isRecord(ch)) {
        add(at, 'must be an object', 'write { secretName: "..." }');
        continue;
      }
      const kind = ch.kind ?? 'discord';
      if (!(CHANNEL_KINDS as readonly unknown[]).includes(kind)) {
        add(`${at}.kind`, `${show(kind)} is not a supported channel kind`, `use one of ${CHANNEL_KINDS.join(', ')}`);
      }
      if (typeof ch.secretName === 'string' && /^https?:/i.test(ch.secretName)) {
        add(`${at}.secretName`, 'holds a URL; a webhook URL is a secret and must not be in the config', 'store the URL in Secrets Manager (README "Store the webhook URL") and put the secret\'s name here');
      } else if (typeof ch.secretName !== 'string' || !SECRET_NAME_PATTERN.test(ch.secretName)) {
        add(`${at}.secretName`, `${show(ch.secretName)} is not a Secrets Manager secret name`, 'use the name (not the ARN) of the secret holding the webhook URL');
      }
      for (const key of Object.keys(ch)) {
        if (key !== 'secretName' && key !== 'kind') add(`${at}.${key}`, 'is not a channel field', 'remove it; a channel has secretName and kind');
      }
      channels[name] = { secretName: ch.secretName as string, kind: kind as ChannelKind };
    }
  }

  const routes: RouteConfig[] = [];
  if (!Array.isArray(input.routes) || input.routes.length === 0) {
    add('routes', 'must have at least one route', 'add e.g. { event: "voice.join", channel: "general", template: "🔊 {user} joined {channel}" }');
  } else {
    const seen = new Map<string, number>();
    input.routes.forEach((r: unknown, i: number) => {
      const at = `routes[${i}]`;
      if (!isRecord(r)) {
        add(at, 'must be an object', 'write { event, channel, template }');
        return;
      }
      if (!(ROUTABLE_EVENT_KINDS as readonly unknown[]).includes(r.event)) {
        add(`${at}.event`, `${show(r.event)} is not an event kind`, `use one of ${ROUTABLE_EVENT_KINDS.join(', ')}`);
      } else if (seen.has(r.event as string)) {
        add(`${at}.event`, `${r.event} already has a route (routes[${seen.get(r.event as string)}])`, 'keep one route per event kind');
      } else {
        seen.set(r.event as string, i);
      }
      if (typeof r.channel !== 'string' || !isRecord(input.channels) || !(r.channel in input.channels)) {
        add(`${at}.channel`, `${show(r.channel)} is not a configured channel`, `use a key of channels${isRecord(input.channels) ? ` (${Object.keys(input.channels).join(', ')})` : ''}`);
      }
      if (typeof r.template !== 'string' || r.template.trim() === '') {
        add(`${at}.template`, 'must be non-empty text', 'write the message, e.g. "🔊 {user} joined {channel}"');
      } else {
        try {
          const longest = maxRenderedLength(parseTemplate(r.template));
          if (longest > DISCORD_CONTENT_LIMIT) {
            add(`${at}.template`, `can expand to ${longest} characters, over Discord's ${DISCORD_CONTENT_LIMIT}`, 'shorten the text or use fewer placeholders');
          }
        } catch (e) {
          if (!(e instanceof TemplateSyntaxError)) throw e;
          // TemplateSyntaxError messages read "<problem>; <fix>".
          const [problem, fix = 'fix the placeholder'] = e.message.split('; ');
          add(`${at}.template`, problem, fix);
        }
      }
      routes.push(r as unknown as RouteConfig);
    });
  }

  if (!isRecord(input.forwarderKeys) || Object.keys(input.forwarderKeys).length === 0) {
    add('forwarderKeys', 'must list at least one public key', 'run `npx relay keygen --kid <name>` and paste the line it prints');
  } else {
    for (const [kid, hex] of Object.entries(input.forwarderKeys)) {
      if (!KEY_ID_PATTERN.test(kid)) add(`forwarderKeys.${kid}`, 'is not a valid key id', 'use 1-64 characters of [A-Za-z0-9._-]');
      if (typeof hex !== 'string' || !PUBLIC_KEY_HEX_PATTERN.test(hex)) {
        const looksPrivate = typeof hex === 'string' && hex.includes('PRIVATE KEY');
        add(`forwarderKeys.${kid}`, looksPrivate ? 'is a PRIVATE key; it must never be in the config' : 'must be the 64-hex-character Ed25519 public key',
          looksPrivate ? 'remove it now, rotate the key, and paste the public key hex `relay keygen` printed' : 'paste the public key hex `relay keygen` printed');
      }
    }
  }

  if (!Array.isArray(input.allowedGuildIds) || input.allowedGuildIds.length === 0) {
    add('allowedGuildIds', 'must list at least one guild id', 'add your server\'s id (Discord: Server Settings → Widget → Server ID, or right-click the server with Developer Mode on)');
  } else {
    input.allowedGuildIds.forEach((id: unknown, i: number) => {
      if (typeof id !== 'string' || !SNOWFLAKE_PATTERN.test(id)) {
        add(`allowedGuildIds[${i}]`, `${show(id)} is not a guild id`, 'write the id as a string of 17-20 digits (quoted: ids exceed JavaScript\'s safe integers)');
      }
    });
  }

  const callers = input.callers ?? [];
  if (!Array.isArray(callers)) {
    add('callers', 'must be a list of IAM ARNs', 'write e.g. ["arn:aws:iam::123456789012:role/discord-relay-forwarder"]');
  } else {
    callers.forEach((arn: unknown, i: number) => {
      if (typeof arn !== 'string' || !CALLER_ARN_PATTERN.test(arn)) {
        add(`callers[${i}]`, `${show(arn)} is not an IAM role or user ARN`, 'use arn:aws:iam::<account>:role/<name> or arn:aws:iam::<account>:user/<name>');
      }
    });
  }

  const throttling = input.throttling ?? {};
  const resolvedThrottling = {
    ingest: { rateLimit: 50, burstLimit: 100 },
    webhookProxy: { rateLimit: 5, burstLimit: 10 },
  };
  if (!isRecord(throttling)) {
    add('throttling', 'must be an object', 'write { ingest: { rateLimit, burstLimit }, webhookProxy: { ... } }');
  } else {
    for (const which of ['ingest', 'webhookProxy'] as const) {
      const t = throttling[which];
      if (t === undefined) continue;
      if (!isRecord(t) || !Number.isFinite(t.rateLimit) || (t.rateLimit as number) <= 0 || !Number.isInteger(t.burstLimit) || (t.burstLimit as number) <= 0) {
        add(`throttling.${which}`, `${show(t)} is not a throttle setting`, 'write { rateLimit: <requests per second, > 0>, burstLimit: <whole number, > 0> }');
      } else {
        resolvedThrottling[which] = { rateLimit: t.rateLimit as number, burstLimit: t.burstLimit as number };
      }
    }
  }

  const logLevel = input.logLevel ?? 'ERROR';
  if (!(LOG_LEVELS as readonly unknown[]).includes(logLevel)) {
    add('logLevel', `${show(logLevel)} is not a Step Functions log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  const logRetentionDays = input.logRetentionDays ?? 30;
  if (!(LOG_RETENTION_DAYS as readonly unknown[]).includes(logRetentionDays)) {
    add('logRetentionDays', `${show(logRetentionDays)} is not a retention CloudWatch Logs accepts`, `use one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  const freshnessWindowSeconds = input.freshnessWindowSeconds ?? DEFAULT_FRESHNESS_SECONDS;
  if (!Number.isInteger(freshnessWindowSeconds) || (freshnessWindowSeconds as number) < 30 || (freshnessWindowSeconds as number) > 3600) {
    add('freshnessWindowSeconds', `${show(freshnessWindowSeconds)} is out of range`, 'use a whole number of seconds from 30 to 3600');
  }

  if (problems.length > 0) throw new RelayConfigError(problems, source);
  return {
    stackName: stackName as string,
    channels,
    routes,
    forwarderKeys: input.forwarderKeys as Record<string, string>,
    allowedGuildIds: input.allowedGuildIds as string[],
    callers: callers as string[],
    throttling: resolvedThrottling,
    logLevel: logLevel as RelayLogLevel,
    logRetentionDays: logRetentionDays as ResolvedRelayConfig['logRetentionDays'],
    freshnessWindowSeconds: freshnessWindowSeconds as number,
  };
}
