/**
 * Where each channel's messages go locally: a real webhook URL the user gives —
 * `RELAY_WEBHOOK_<CHANNEL>` or `.relay/secrets.json` as `{ "<secret name>": "<url>" }` — else the
 * sink. URLs are secrets: only where they came from is ever printed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSecretFile } from '../client/keys';
import { webhookVariableFor } from '../contracts/local-relay';
import { SinkRoutes } from './sink-routes';
import type { ProxyRoute } from './synthesized-template';

export interface Destination {
  readonly url: string;
  /** `sink`, or the variable or file the URL came from. */
  readonly from: string;
}

export class WebhookDestinations {
  private readonly secretsFile: string;
  private readonly secrets: Readonly<Record<string, string>>;

  constructor(stateDir: string, private readonly env: NodeJS.ProcessEnv, private readonly sinkOrigin: () => string) {
    this.secretsFile = join(stateDir, 'secrets.json');
    this.secrets = existsSync(this.secretsFile) ? readSecrets(this.secretsFile) : {};
  }

  /** Every webhook URL this process holds (environment and secrets file), for redaction. */
  knownSecrets(): string[] {
    const fromEnv = Object.entries(this.env).filter(([name, value]) => name.startsWith('RELAY_WEBHOOK_') && value).map(([, value]) => value!);
    return [...fromEnv, ...Object.values(this.secrets)];
  }

  for(route: ProxyRoute): Destination {
    const variable = webhookVariableFor(route.channel);
    if (this.env[variable]) return { url: this.env[variable]!, from: variable };
    if (this.secrets[route.secretName]) return { url: this.secrets[route.secretName], from: `${this.secretsFile} ("${route.secretName}")` };
    return { url: SinkRoutes.webhookUrl(this.sinkOrigin(), route.channel, route.kind), from: 'sink' };
  }
}

/** Real webhook URLs are secrets: a file others can read is refused, as key files are. */
function readSecrets(file: string): Record<string, string> {
  const text = readSecretFile(file, 'webhook secrets file').toString('utf8');
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, string>;
  } catch (error) {
    throw new Error(`${file} must be a JSON object of secret name to webhook URL (${(error as Error).message})`);
  }
}
