/**
 * What the cloud proof's relay is called and signs with, shared by the IntegTest app
 * (integ.relay.ts) and `npm run integ` (scripts/integ.ts), which ends by running relay doctor
 * against the relay it deployed.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { publicKeyToHex } from '../../lib/contracts/envelope';

export const INTEG_STACK = 'RelayInteg';
export const INTEG_CHANNEL = 'echo';
export const INTEG_KEY_ID = 'integ-test';
/** Set to an IAM role ARN (the CI's deploy role) to attach the integ relay's OperatorPolicy to it, so relay doctor can read the stack. */
export const INTEG_OPERATOR_VARIABLE = 'RELAY_INTEG_OPERATOR_ARN';

/** A fixed, public test key: it signs for the integration test's own short-lived relay only. */
export function integTestKey(): { pem: string; publicHex: string } {
  const seed = createHash('sha256').update('discord-event-relay integration test key').digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicHex: publicKeyToHex(createPublicKey(privateKey)) };
}
