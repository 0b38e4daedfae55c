/**
 * Example relay config. Copy it, or edit it in place: every value below is a placeholder.
 *
 * - Webhook URLs are secrets: store each in Secrets Manager and name the secret here (README
 *   "Store the webhook URL"). Nothing in this file is secret.
 * - `forwarderKeys`: replace the example key with the one `npx relay keygen --kid <name>` prints.
 *   Nobody holds the example key's private half (it was discarded), so it accepts nothing.
 * - `allowedGuildIds`: your server's id.
 * - `callers`: IAM roles/users of your forwarder(s) in the deploying account, or leave empty and
 *   attach the `CallerPolicyArn` stack output yourself.
 * - `discordApp`: your Discord application's id and public key (Developer Portal → General
 *   Information), for `/relay optout`, `pause`, `status` (README "The Discord app"). Until you put
 *   yours, the endpoint refuses every request (nobody holds this example key's private half); remove
 *   the section to deploy without it. `npm start` serves it locally with a local key.
 *
 * Optional fields, each defaulting where it is used (README "Configure" lists the defaults):
 * `throttling` ({ ingest, webhookProxy }, each { rateLimit, burstLimit }), `logLevel`,
 * `logRetentionDays`, `freshnessWindowSeconds`.
 *
 * Use another file with `npx cdk deploy -c config=path/to/file.ts` (or .json).
 */
import type { RelayConfig } from '../lib/config/relay-config';

const config: RelayConfig = {
  stackName: 'DiscordEventRelay',
  channels: {
    general: { secretName: 'discord-relay/webhooks/general', kind: 'discord' },
  },
  routes: [
    { event: 'voice.join', channel: 'general', template: '🔊 **{user}** joined {channel} · {time}' },
    { event: 'voice.leave', channel: 'general', template: '👋 **{user}** left {channel} · {time}' },
    { event: 'voice.move', channel: 'general', template: '🔀 **{user}** moved from {from} to {to} · {time}' },
  ],
  forwarderKeys: {
    'example-2026-11': 'fe279a8d257f0ba3716354b4c78d02c7ff598785babd80c02a42df3ac3c92271',
  },
  allowedGuildIds: ['123456789012345678'],
  callers: [],
  discordApp: {
    applicationId: '1111111111111111111',
    publicKey: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
  },
};

export default config;
