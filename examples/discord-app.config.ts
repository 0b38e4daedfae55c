/**
 * The live-cards example plus the Discord app: `/relay optout`, `optin`, `pause`, `resume` and
 * `status` (README "The Discord app"). Replace the application id and public key with your
 * application's (Developer Portal → General Information); locally, `npx relay local --config
 * examples/discord-app.config.ts` serves the endpoint with a local key in place of this one, and
 * `npx relay interact optout` plays Discord.
 */
import type { RelayConfig } from '../lib/config/relay-config';
import cards from './cards.config';

const config: RelayConfig = {
  ...cards,
  discordApp: {
    applicationId: '1111111111111111111',
    // Public (Discord shows it to anyone with the app's page open); this one is an example.
    publicKey: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
    // Registers /relay at deploy; leave it out and run `npx relay commands register --token-file …` instead.
    botTokenSecretName: 'discord-relay/bot-token',
  },
};

export default config;
