/**
 * The Discord app's endpoint, checked as Discord checks it when the Interactions Endpoint URL is
 * saved: an unsigned PING and one with a well-formed but wrong signature must both be refused
 * with 401. (A signed PING needs the application's private key, which only Discord holds.)
 */
import { send, type HttpAnswer } from '../client/http';
import { InteractionHeader, InteractionType } from '../contracts/interactions';
import { REGISTER } from './register';
import { fail, pass, skip, type Finding } from './results';

type Sender = (url: URL, options: Parameters<typeof send>[1]) => Promise<HttpAnswer>;

export async function interactionsFinding(url: string | undefined, now: () => number, post: Sender = send): Promise<Finding> {
  if (!url) return skip('the relay has no Discord app (discordApp in the config)');
  const body = JSON.stringify({ type: InteractionType.Ping, id: '0', application_id: '0', token: 'relay-doctor', version: 1 });
  const attempt = async (headers: Record<string, string>) => {
    try {
      return await post(new URL(url), { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close', ...headers }, body, timeoutMs: 5000 });
    } catch (error) {
      return (error as Error).message;
    }
  };
  const started = now();
  const unsigned = await attempt({});
  const forged = await attempt({ [InteractionHeader.Signature]: '0'.repeat(128), [InteractionHeader.Timestamp]: String(Math.floor(now() / 1000)) });
  for (const [what, answer] of [['an unsigned PING', unsigned], ['a PING with a wrong signature', forged]] as const) {
    if (typeof answer === 'string') return fail(`${url} did not answer ${what}: ${answer}`, 'the endpoint is unreachable from here', 'check the InteractionsUrl output; Discord must reach it too');
    if (answer.status === 401) continue;
    if (answer.status === 200) return fail(`${what} was answered 200`, 'the endpoint does not check Discord\'s signature: Discord refuses such an endpoint, and anyone could run /relay commands', 'deploy this version (npx cdk deploy); the interactions function must be this relay\'s', REGISTER.InteractionSignature);
    if (answer.status === 403) return fail(`${what} was answered 403`, 'the route requires IAM: Discord cannot sign with SigV4', 'the interactions route must have no authorizer; deploy this version', REGISTER.InteractionSignature);
    return fail(`${what} was answered ${answer.status}: ${answer.text.slice(0, 120)}`, answer.status >= 500 ? 'the interactions function fails (its log group says why)' : 'the URL is not the relay\'s interactions endpoint', 'use the InteractionsUrl output as the Interactions Endpoint URL', REGISTER.Payload2);
  }
  return pass(`${url} refuses unsigned and wrongly signed PINGs with 401, as Discord's endpoint check requires (${now() - started} ms)`);
}
