/**
 * The integration test's forwarder: signs a voice join with the test's key and sends it twice,
 * SigV4-signed with this function's role, through the real ingest API's /events/sync.
 */
import { RelayClient } from '../../../lib/client/relay-client';

export async function handler(input: { id: string }): Promise<{ first: unknown; duplicate: unknown }> {
  const client = new RelayClient({ url: process.env.INGEST_URL!, kid: process.env.KEY_ID!, privateKey: process.env.PRIVATE_KEY_PEM!, region: process.env.AWS_REGION });
  const event = {
    type: 'VOICE_STATE_UPDATE',
    guild: { id: process.env.GUILD_ID!, name: 'Integration' },
    user: { id: '444444444444444444', name: 'integ', display_name: process.env.DISPLAY_NAME!, bot: false },
    before: null,
    after: { channel_id: '222222222222222222', channel_name: 'General' },
    at: new Date().toISOString(),
  };
  const first = await client.sendSync(event, { id: input.id });
  const duplicate = await client.sendSync(event, { id: input.id });
  return { first, duplicate };
}
