/**
 * Slack next to Discord: #general is a Discord webhook, #team a Slack incoming webhook
 * (https://hooks.slack.com/services/…, stored in Secrets Manager like a Discord one). Joins and
 * leaves go to both, each channel posting each once on its own lane; moves to #general only. The
 * same template syntax serves both (README "Slack channels"). Live cards stay Discord-only: a
 * Slack webhook cannot edit a message.
 * Use it with `npm start -- --config examples/slack.config.ts` or `npx cdk deploy -c config=examples/slack.config.ts`.
 */
import type { RelayConfig } from '../lib/config/relay-config';
import example from '../config/relay.config';

const config: RelayConfig = {
  ...example,
  channels: {
    general: { secretName: 'discord-relay/webhooks/general', kind: 'discord' },
    team: { secretName: 'discord-relay/webhooks/team-slack', kind: 'slack' },
  },
  routes: [
    { event: 'voice.join', channel: ['general', 'team'], template: '🔊 **{user}** joined {channel} · {time}' },
    { event: 'voice.leave', channel: ['general', 'team'], template: '👋 **{user}** left {channel} · {time}' },
    { event: 'voice.move', channel: 'general', template: '🔀 **{user}** moved from {from} to {to} · {time}' },
  ],
};

export default config;
