/** Checkers for the deploy and operate sections of the config: `github`, `monitoring` and `discordApp`. */
import { isRecord, type Check } from './checks';
import { SUBJECT_FORMATS } from './relay-config';
import { PUBLIC_KEY_HEX_PATTERN } from '../contracts/envelope';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { COMMAND_SCOPES } from '../contracts/interactions';
import { MONITORING_LEVELS } from '../contracts/metrics';


const REPOSITORY_PATTERN = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;
const ENVIRONMENT_PATTERN = /^[A-Za-z0-9 ._-]{1,255}$/;
const NUMERIC_ID_PATTERN = /^[1-9][0-9]{0,19}$/;
const OIDC_PROVIDER_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/;
// Deliberately loose: SNS checks the address when it sends the confirmation.
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const GITHUB_FIELDS = ['repository', 'subjectFormat', 'ownerId', 'repositoryId', 'environments', 'oidcProviderArn'];
const DISCORD_APP_FIELDS = ['applicationId', 'publicKey', 'botTokenSecretName', 'commandScope'];
// Secrets Manager names: 1-512 of [A-Za-z0-9/_+=.@-].
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MONITORING_FIELDS = ['alarmEmail', 'alarmChannel', 'heartbeatMissingMinutes', 'ingestClientErrorThreshold', 'level', 'dashboard'];

function unknownFields(at: string, value: Record<string, unknown>, fields: readonly string[], add: Parameters<Check>[1]): void {
  for (const key of Object.keys(value)) if (!fields.includes(key)) add(`${at}.${key}`, 'is not a field here', `remove it or use one of ${fields.join(', ')}`);
}

export const checkGitHub: Check = ({ github }, add) => {
  if (github === undefined) return;
  if (!isRecord(github)) return add('github', 'must be an object', 'write { repository: "owner/name", subjectFormat: "immutable", ownerId, repositoryId }');
  unknownFields('github', github, GITHUB_FIELDS, add);
  if (typeof github.repository !== 'string' || !REPOSITORY_PATTERN.test(github.repository)) {
    add('github.repository', `${JSON.stringify(github.repository)} is not a repository`, 'write it as owner/name, e.g. "octocat/discord-event-relay"');
  }
  if (!(SUBJECT_FORMATS as readonly unknown[]).includes(github.subjectFormat)) {
    add('github.subjectFormat', `${JSON.stringify(github.subjectFormat)} is not a subject format`, 'use "immutable" (repositories created since 15 July 2026, or opted in) or "name"');
  } else if (github.subjectFormat === 'immutable') {
    for (const field of ['ownerId', 'repositoryId'] as const) {
      if (typeof github[field] !== 'string' || !NUMERIC_ID_PATTERN.test(github[field] as string)) {
        add(`github.${field}`, 'must be the numeric id, as a string, for the immutable subject format', 'run gh api repos/OWNER/NAME --jq ".owner.id, .id"');
      }
    }
  }
  if (github.environments !== undefined) {
    if (!Array.isArray(github.environments) || github.environments.length === 0) add('github.environments', 'must list at least one GitHub environment', 'write e.g. ["production"]');
    else github.environments.forEach((env: unknown, i: number) => {
      if (typeof env !== 'string' || !ENVIRONMENT_PATTERN.test(env)) add(`github.environments[${i}]`, `${JSON.stringify(env)} is not an environment name this role can trust`, 'use letters, digits, spaces, . _ - (no * ? or :, which would widen the trust)');
    });
  }
  if (github.oidcProviderArn !== undefined && (typeof github.oidcProviderArn !== 'string' || !OIDC_PROVIDER_ARN_PATTERN.test(github.oidcProviderArn))) {
    add('github.oidcProviderArn', 'is not the ARN of a GitHub OIDC provider', 'use arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com, or leave it out to create one');
  }
};

export const checkMonitoring: Check = ({ monitoring, channels }, add) => {
  if (monitoring === undefined) return;
  if (!isRecord(monitoring)) return add('monitoring', 'must be an object', 'write { level?, dashboard?, alarmEmail?, alarmChannel?, heartbeatMissingMinutes?, ingestClientErrorThreshold? }');
  unknownFields('monitoring', monitoring, MONITORING_FIELDS, add);
  const { alarmEmail, alarmChannel, heartbeatMissingMinutes: minutes, ingestClientErrorThreshold: threshold, level, dashboard } = monitoring;
  if (level !== undefined && !(MONITORING_LEVELS as readonly unknown[]).includes(level)) {
    add('monitoring.level', `${JSON.stringify(level)} is not a monitoring level`, `use one of ${MONITORING_LEVELS.join(', ')} (README "Alarms and dashboard")`);
  }
  if (dashboard !== undefined && typeof dashboard !== 'boolean') add('monitoring.dashboard', `${JSON.stringify(dashboard)} is not true or false`, 'write dashboard: true to add the CloudWatch dashboard');
  if (alarmEmail !== undefined && (typeof alarmEmail !== 'string' || !EMAIL_PATTERN.test(alarmEmail))) {
    add('monitoring.alarmEmail', `${JSON.stringify(alarmEmail)} is not an e-mail address`, 'write one address, e.g. "ops@example.com"');
  }
  if (alarmChannel !== undefined && (typeof alarmChannel !== 'string' || !isRecord(channels) || !(alarmChannel in channels))) {
    add('monitoring.alarmChannel', `${JSON.stringify(alarmChannel)} is not one of the channels`, `name a key of channels${isRecord(channels) ? ` (${Object.keys(channels).join(', ')})` : ''}`);
  }
  if (minutes !== undefined && (!Number.isInteger(minutes) || (minutes as number) < 2 || (minutes as number) > 1440)) {
    add('monitoring.heartbeatMissingMinutes', `${JSON.stringify(minutes)} is out of range`, 'use whole minutes from 2 to 1440, at least two forwarder heartbeat intervals (5 min by default)');
  }
  if (threshold !== undefined && (!Number.isInteger(threshold) || (threshold as number) < 1)) {
    add('monitoring.ingestClientErrorThreshold', `${JSON.stringify(threshold)} is not a count`, 'use a whole number ≥ 1 of 4xx answers per 5 minutes');
  }
};

export const checkDiscordApp: Check = ({ discordApp }, add) => {
  if (discordApp === undefined) return;
  if (!isRecord(discordApp)) return add('discordApp', 'must be an object', 'write { applicationId: "<snowflake>", publicKey: "<64 hex>", botTokenSecretName?: "<secret name>" }');
  unknownFields('discordApp', discordApp, DISCORD_APP_FIELDS, add);
  const { applicationId, publicKey, botTokenSecretName, commandScope } = discordApp;
  if (typeof applicationId !== 'string' || !SNOWFLAKE_PATTERN.test(applicationId)) {
    add('discordApp.applicationId', `${JSON.stringify(applicationId)} is not an application id`, 'copy "Application ID" from the Developer Portal\'s General Information page (17-20 digits, quoted)');
  }
  if (typeof publicKey !== 'string' || !PUBLIC_KEY_HEX_PATTERN.test(publicKey)) {
    add('discordApp.publicKey', 'is not an application public key', 'copy "Public Key" from the Developer Portal\'s General Information page (64 hex characters; it is public, not the bot token)');
  }
  if (botTokenSecretName !== undefined) {
    if (typeof botTokenSecretName === 'string' && /^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$/.test(botTokenSecretName)) {
      add('discordApp.botTokenSecretName', 'looks like a bot token; a token is a secret and must not be in the config', 'store the token in Secrets Manager (README "The Discord app") and put the secret\'s name here');
    } else if (typeof botTokenSecretName !== 'string' || !SECRET_NAME_PATTERN.test(botTokenSecretName)) {
      add('discordApp.botTokenSecretName', `${JSON.stringify(botTokenSecretName)} is not a Secrets Manager secret name`, 'use the name (not the ARN) of the secret holding the bot token');
    }
  }
  if (commandScope !== undefined && !(COMMAND_SCOPES as readonly unknown[]).includes(commandScope)) {
    add('discordApp.commandScope', `${JSON.stringify(commandScope)} is not a command scope`, `use one of ${COMMAND_SCOPES.join(', ')}`);
  }
};
