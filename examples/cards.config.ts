/**
 * Live voice cards: one message per voice session in #general, edited as people join, leave and
 * move, ended with a summary. Sessions start by pinging a role (replace the id with yours, or
 * remove pingRoleId); `minMembers: 2` would wait for a second person before the card appears.
 * Use it with `npx relay local --config examples/cards.config.ts` or `npx cdk deploy -c config=examples/cards.config.ts`.
 */
import type { RelayConfig } from '../lib/config/relay-config';
import example from '../config/relay.config';

export const PING_ROLE = '777777777777777777';

const config: RelayConfig = {
  ...example,
  routes: [
    { event: 'voice.join', channel: 'general', mode: 'card', pingRoleId: PING_ROLE },
    { event: 'voice.leave', channel: 'general', mode: 'card' },
    { event: 'voice.move', channel: 'general', mode: 'card' },
  ],
};

export default config;
