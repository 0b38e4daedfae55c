import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../../lib/config/load';
import { RelayConfigError } from '../../lib/config/relay-config';
import { validateRelayConfig } from '../../lib/config/validate';
import { testConfig } from '../support/fixtures';

function problems(config: unknown): string[] {
  try {
    validateRelayConfig(config);
  } catch (e) {
    if (e instanceof RelayConfigError) return e.problems.map((p) => `${p.path}: ${p.problem}. Fix: ${p.fix}`);
    throw e;
  }
  return [];
}

const base = testConfig() as unknown as Record<string, unknown>;
const APP = { applicationId: '1111111111111111111', publicKey: 'ab'.repeat(32) };
const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

describe('validateRelayConfig', () => {
  it('accepts the committed example config and fills the config\'s own defaults', () => {
    const config = loadRelayConfigFile(DEFAULT_CONFIG_PATH);
    expect(config).toMatchObject({ stackName: 'DiscordEventRelay', callers: [], operators: [] });
    expect(config.channels.general).toEqual({ secretName: 'discord-relay/webhooks/general', kind: 'discord' });
  });

  it('fills only its own defaults; the others are left to the constructs and the Verify step that own them', () => {
    const minimal = { channels: base.channels, routes: base.routes, forwarderKeys: base.forwarderKeys, allowedGuildIds: base.allowedGuildIds };
    const resolved = validateRelayConfig(minimal);
    expect(resolved).toMatchObject({ stackName: 'DiscordEventRelay', callers: [] });
    for (const key of ['throttling', 'logLevel', 'logRetentionDays', 'freshnessWindowSeconds', 'dedupeRetentionHours']) expect(resolved).not.toHaveProperty(key);
  });

  it.each([
    ['a webhook URL pasted as the secret name', { ...base, channels: { general: { secretName: 'https://discord.com/api/webhooks/1/x' } }, routes: [] },
      'channels.general.secretName: holds a URL; a webhook URL is a secret and must not be in the config. Fix: store the URL in Secrets Manager'],
    ['a channel name that cannot be a URL path', { ...base, channels: { General: { secretName: 's' } } }, 'channels.General: channel names become URL paths'],
    ['a channel name too long for a state name', { ...base, channels: { [`c${'x'.repeat(48)}`]: { secretName: 's' } } }, `channels.c${'x'.repeat(48)}: channel names become URL paths and workflow state names. Fix: use 1-48 lowercase letters`],
    ['an unsupported channel kind', { ...base, channels: { general: { secretName: 's', kind: 'teams' } } }, 'channels.general.kind: "teams" is not a supported channel kind. Fix: use one of discord, slack'],
    ['a Slack template that can pass 4,000 characters (names escape to 5× their length)', { ...base, channels: { general: { secretName: 's', kind: 'slack' } }, routes: [{ event: 'voice.join', channel: 'general', template: '{user_mention} '.repeat(8) + '{time}' }] },
      'routes[0].template: can expand to 4044 characters in Slack, over the 4000 a message is kept under. Fix: use fewer name placeholders ({user}, {channel}, the *_mention ones)'],
    ['a live card on a Slack channel', { ...base, channels: { general: { secretName: 's', kind: 'slack' } }, routes: [{ event: 'voice.join', channel: 'general', mode: 'card' }] },
      'routes[0].mode: general includes a Slack channel, and a Slack incoming webhook cannot edit a message, so it cannot hold a live card. Fix: use mode "message" for a Slack channel, or route the cards to a Discord channel'],
    ['a route to an unknown channel', { ...base, routes: [{ event: 'voice.join', channel: 'genral', template: 'x' }] },
      'routes[0].channel: "genral" is not a configured channel. Fix: use a key of channels (general, audit)'],
    ['an unknown event kind', { ...base, routes: [{ event: 'voice.joined', channel: 'general', template: 'x' }] }, 'routes[0].event: "voice.joined" is not an event kind. Fix: use one of voice.join, voice.leave, voice.move, voice.update'],
    ['one kind routed to one channel twice', { ...base, routes: [{ event: 'voice.join', channel: 'general', template: 'a' }, { event: 'voice.join', channel: ['audit', 'general'], template: 'b' }] },
      'routes[1].channel[1]: voice.join already goes to general (routes[0].channel). Fix: route each event kind to a channel once'],
    ['a route naming no channel', { ...base, routes: [{ event: 'voice.join', channel: [], template: 'a' }] }, 'routes[0].channel: names no channel. Fix: use a key of channels (general, audit), or a list of them'],
    ['an unknown channel in a list', { ...base, routes: [{ event: 'voice.join', channel: ['general', 'genral'], template: 'a' }] }, 'routes[0].channel[1]: "genral" is not a configured channel'],
    ['one kind sent to five channels', { ...base, channels: Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((c) => [c, { secretName: c }])), routes: [{ event: 'voice.join', channel: ['a', 'b', 'c'], template: 'x' }, { event: 'voice.join', channel: ['d', 'e'], template: 'y' }] },
      'routes[1].channel: "voice.join" goes to 5 channels; an event goes to at most 4'],
    ['two minimums for one kind sent to two channels', { ...base, routes: [{ event: 'voice.join', channel: 'general', template: 'a', minMembers: 2 }, { event: 'voice.join', channel: 'audit', template: 'b' }] },
      'routes[1].minMembers: differs from routes[0].minMembers for "voice.join": the minimum is checked once per event, before it is sent to each channel'],
    ['a message minimum on a kind that also goes to a card', { ...base, routes: [{ event: 'voice.join', channel: 'general', mode: 'card' }, { event: 'voice.join', channel: 'audit', template: 'b', minMembers: 3 }] },
      'routes[1].minMembers: "voice.join" also goes to a card (routes[0]), which must see every change'],
    ['an unknown placeholder', { ...base, routes: [{ event: 'voice.join', channel: 'general', template: '{usr} joined' }] }, 'routes[0].template: unknown placeholder {usr}. Fix: use one of {user}, {user_name}'],
    ['an unclosed brace', { ...base, routes: [{ event: 'voice.join', channel: 'general', template: '{user joined' }] }, 'routes[0].template: unclosed "{" at position 0. Fix: write "{{" for a literal brace'],
    ['a backslash', { ...base, routes: [{ event: 'voice.join', channel: 'general', template: 'a\\b {user}' }] }, 'routes[0].template: a backslash at position 1 cannot be used in a template'],
    ['a template that can exceed 2000 characters', { ...base, routes: [{ event: 'voice.join', channel: 'general', template: `${'x'.repeat(1700)} {user} {guild}` }] },
      "routes[0].template: can expand to 2102 characters, over Discord's 2000. Fix: shorten the text"],
    ['a public key that is not 64 hex', { ...base, forwarderKeys: { k1: 'abc' } }, 'forwarderKeys.k1: must be the 64-hex-character Ed25519 public key. Fix: paste the public key hex `relay keygen` printed'],
    ['a private key', { ...base, forwarderKeys: { k1: '-----BEGIN PRIVATE KEY-----\nMC4C...' } }, 'forwarderKeys.k1: is a PRIVATE key; it must never be in the config. Fix: remove it now, rotate the key'],
    ['no keys', without('forwarderKeys'), 'forwarderKeys: must list at least one public key. Fix: run `npx relay keygen --kid <name>`'],
    ['a guild id as a number', { ...base, allowedGuildIds: [123456789012345680] }, 'allowedGuildIds[0]: 123456789012345680 is not a guild id. Fix: write the id as a string of 17-20 digits'],
    ['no guilds', { ...base, allowedGuildIds: [] }, 'allowedGuildIds: must list at least one guild id'],
    ['a caller that is not a role or user ARN', { ...base, callers: ['arn:aws:iam::123456789012:group/devs'] }, 'callers[0]: "arn:aws:iam::123456789012:group/devs" is not an IAM role or user ARN'],
    ['an operator that is not a role or user ARN', { ...base, operators: ['relay-operator'] }, 'operators[0]: "relay-operator" is not an IAM role or user ARN'],
    ['operators that are not a list', { ...base, operators: 'arn:aws:iam::123456789012:role/x' }, 'operators: must be a list of IAM ARNs'],
    ['a bad throttle', { ...base, throttling: { ingest: { rateLimit: 0, burstLimit: 1 } } }, 'throttling.ingest: {"rateLimit":0,"burstLimit":1} is not a throttle setting'],
    ['a bad log level', { ...base, logLevel: 'DEBUG' }, 'logLevel: "DEBUG" is not a Step Functions log level. Fix: use one of OFF, ALL, ERROR, FATAL'],
    ['a retention CloudWatch does not offer', { ...base, logRetentionDays: 10 }, 'logRetentionDays: 10 is not a retention CloudWatch Logs accepts'],
    ['a freshness window out of range', { ...base, freshnessWindowSeconds: 5 }, 'freshnessWindowSeconds: 5 is out of range. Fix: use a whole number of seconds from 30 to 3600'],
    ['a dedupe retention shorter than the spool', { ...base, dedupeRetentionHours: 24 }, 'dedupeRetentionHours: 24 is out of range. Fix: use a whole number of hours from 25'],
    ['a fractional dedupe retention', { ...base, dedupeRetentionHours: 30.5 }, 'dedupeRetentionHours: 30.5 is out of range'],
    ['a misspelt field', { ...base, callerz: [] }, 'callerz: is not a config field'],
    ['a bad stack name', { ...base, stackName: 'my stack' }, 'stackName: "my stack" is not a CloudFormation stack name'],
    ['a repository without its owner', { ...base, github: { repository: 'relay', subjectFormat: 'name' } }, 'github.repository: "relay" is not a repository. Fix: write it as owner/name'],
    ['an unknown subject format', { ...base, github: { repository: 'o/r', subjectFormat: 'ids' } }, 'github.subjectFormat: "ids" is not a subject format'],
    ['the immutable format without ids', { ...base, github: { repository: 'o/r', subjectFormat: 'immutable', ownerId: 12 } }, 'github.ownerId: must be the numeric id, as a string'],
    ['an environment that would widen the trust', { ...base, github: { repository: 'o/r', subjectFormat: 'name', environments: ['prod*'] } }, 'github.environments[0]: "prod*" is not an environment name this role can trust'],
    ['an OIDC provider ARN of another issuer', { ...base, github: { repository: 'o/r', subjectFormat: 'name', oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/gitlab.com' } }, 'github.oidcProviderArn: is not the ARN of a GitHub OIDC provider'],
    ['a misspelt github field', { ...base, github: { repository: 'o/r', subjectFormat: 'name', branch: 'main' } }, 'github.branch: is not a field here'],
    ['an alarm e-mail that is not one', { ...base, monitoring: { alarmEmail: 'ops' } }, 'monitoring.alarmEmail: "ops" is not an e-mail address'],
    ['an alarm channel that does not exist', { ...base, monitoring: { alarmChannel: 'ops' } }, 'monitoring.alarmChannel: "ops" is not one of the channels. Fix: name a key of channels (general, audit)'],
    ['a heartbeat window shorter than two beats', { ...base, monitoring: { heartbeatMissingMinutes: 1 } }, 'monitoring.heartbeatMissingMinutes: 1 is out of range'],
    ['an unknown monitoring level', { ...base, monitoring: { level: 'verbose' } }, 'monitoring.level: "verbose" is not a monitoring level. Fix: use one of essential, full'],
    ['a dashboard flag that is not a boolean', { ...base, monitoring: { dashboard: 'yes' } }, 'monitoring.dashboard: "yes" is not true or false'],
    ['a 4xx threshold of zero', { ...base, monitoring: { ingestClientErrorThreshold: 0 } }, 'monitoring.ingestClientErrorThreshold: 0 is not a count'],
    ['an application id as a number', { ...base, discordApp: { ...APP, applicationId: 1111111111111111111 } }, 'discordApp.applicationId: 1111111111111111200 is not an application id. Fix: copy "Application ID" from the Developer Portal'],
    ['a public key that is not 64 hex', { ...base, discordApp: { ...APP, publicKey: 'abc' } }, 'discordApp.publicKey: is not an application public key. Fix: copy "Public Key"'],
    ['a bot token pasted as the secret name', { ...base, discordApp: { ...APP, botTokenSecretName: `MTEx${'a'.repeat(22)}.Gq1bcd.${'b'.repeat(38)}` } }, 'discordApp.botTokenSecretName: looks like a bot token; a token is a secret and must not be in the config'],
    ['a secret name with a space', { ...base, discordApp: { ...APP, botTokenSecretName: 'bot token' } }, 'discordApp.botTokenSecretName: "bot token" is not a Secrets Manager secret name'],
    ['an unknown command scope', { ...base, discordApp: { ...APP, commandScope: 'server' } }, 'discordApp.commandScope: "server" is not a command scope. Fix: use one of guild, global'],
    ['a misspelt discordApp field', { ...base, discordApp: { ...APP, botToken: 'x' } }, 'discordApp.botToken: is not a field here'],
    ['a discordApp that is not an object', { ...base, discordApp: true }, 'discordApp: must be an object'],
  ])('refuses %s, naming the field and the fix', (_, config, expected) => {
    expect(problems(config)).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
  });

  it('turns a route naming several channels, and a second route for a kind, into one route per channel, in order', () => {
    const routes = [
      { event: 'voice.join', channel: ['general', 'audit'], template: 'in {user}' },
      { event: 'voice.leave', channel: 'general', template: 'out {user}' },
      { event: 'voice.leave', channel: 'audit', template: 'left {user}' },
    ];
    expect(validateRelayConfig({ ...base, routes }).routes).toEqual([
      { event: 'voice.join', channel: 'general', template: 'in {user}' },
      { event: 'voice.join', channel: 'audit', template: 'in {user}' },
      { event: 'voice.leave', channel: 'general', template: 'out {user}' },
      { event: 'voice.leave', channel: 'audit', template: 'left {user}' },
    ]);
    expect(problems({ ...base, routes: [{ event: 'voice.join', channel: ['general', 'audit'], template: 'x', minMembers: 2 }] })).toEqual([]);
  });

  it('accepts a full github and monitoring section', () => {
    const github = { repository: 'octo-org/relay', subjectFormat: 'immutable', ownerId: '1', repositoryId: '2', environments: ['staging', 'production'], oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' };
    const monitoring = { alarmEmail: 'ops@example.com', alarmChannel: 'audit', heartbeatMissingMinutes: 20, ingestClientErrorThreshold: 10 };
    expect(problems({ ...base, github, monitoring })).toEqual([]);
  });

  it('accepts a discordApp section, and the Discord app example', () => {
    expect(problems({ ...base, discordApp: { ...APP, botTokenSecretName: 'discord-relay/bot-token', commandScope: 'global' } })).toEqual([]);
    expect(loadRelayConfigFile('examples/discord-app.config.ts').discordApp).toMatchObject({ applicationId: expect.stringMatching(/^\d{17,20}$/) });
  });

  it('reports every problem at once', () => {
    const message = (() => {
      try {
        validateRelayConfig({ ...base, logLevel: 'X', freshnessWindowSeconds: 1, allowedGuildIds: ['1'] });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/^Invalid relay config \(3 problems\):\n {2}- allowedGuildIds\[0\]/);
    expect(message).toContain('  - logLevel:');
    expect(message).toContain('  - freshnessWindowSeconds:');
  });

  it('refuses a missing file, naming the fix', () => {
    expect(() => loadRelayConfigFile('nope/relay.config.ts')).toThrow('nope/relay.config.ts does not exist. Fix: create it (copy config/relay.config.ts) or pass -c config=<file>');
  });
});

describe('the CDK app', () => {
  const root = join(__dirname, '..', '..');
  const tsx = join(root, 'node_modules', '.bin', 'tsx');

  it('fails synth on a bad config with every problem named, and exits 1', () => {
    const run = spawnSync(tsx, ['bin/app.ts'], {
      cwd: root,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: 'test/fixtures/bad-config.json' }), CDK_OUTDIR: join(root, 'cdk.out', 'bad-config-test') },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Invalid test/fixtures/bad-config.json (4 problems):');
    expect(run.stderr).toContain('channels.general.secretName: holds a URL');
    expect(run.stderr).toContain('routes[0].channel: "genral" is not a configured channel. Fix: use a key of channels (general)');
    expect(run.stderr).toContain('forwarderKeys.k1: must be the 64-hex-character Ed25519 public key');
    expect(run.stderr).toContain('allowedGuildIds[0]: 123456789012345680 is not a guild id');
    expect(run.stderr).not.toContain('discord.com/api/webhooks/1/abc');
  });

  // One synth for both (each costs seconds): the example config plus a github section.
  it('synthesizes the example config offline, and adds the DeployRole stack for a github section, all passing cdk-nag', () => {
    const out = join(root, 'cdk.out', 'github-config-test');
    execFileSync(tsx, ['bin/app.ts'], { cwd: root, env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: 'test/fixtures/github-config.ts', 'aws:cdk:bundling-stacks': [] }), CDK_OUTDIR: out }, stdio: 'pipe' });
    const template = require(join(out, 'DiscordEventRelay.template.json')) as { Resources: Record<string, { Type: string }> };
    // The relay and delivery workflows, and the pipe between them.
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine')).toHaveLength(2);
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Pipes::Pipe')).toHaveLength(1);
    const deploy = require(join(out, 'DiscordEventRelayDeployRole.template.json')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const role = Object.values(deploy.Resources).find((r) => r.Type === 'AWS::IAM::Role');
    expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain('repo:octo-org@9919/discord-event-relay@123456789:environment:production');
  });

});
