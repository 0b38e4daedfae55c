/** Keys, configs and events for tests. Keys are generated per run; nothing secret is committed. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BATCH_ENVELOPE_VERSION, ENVELOPE_VERSION, publicKeyToHex, signEnvelope, type BatchItem, type Envelope } from '../../lib/contracts/envelope';
import { EventType, type VoiceStateUpdateEvent } from '../../lib/contracts/events';
import type { RelayConfig } from '../../lib/config/relay-config';
import { validateRelayConfig } from '../../lib/config/validate';
import { RelayStack } from '../../lib/infra/relay-stack';
import { NO_BUNDLING, cdkJsonContext } from '../../lib/project-files';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const KID = 'test-key';
export const GUILD_ID = '111111111111111111';
export const OTHER_GUILD_ID = '999999999999999999';

export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyHex: string;
}

export function newKey(kid: string = KID): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, privateKey, publicKey, publicKeyHex: publicKeyToHex(publicKey) };
}

export const KEY = newKey();

export function testConfig(overrides: Partial<RelayConfig> = {}): RelayConfig {
  return {
    stackName: 'TestRelay',
    channels: {
      general: { secretName: 'relay-test/webhooks/general' },
      audit: { secretName: 'relay-test/webhooks/audit' },
    },
    routes: [
      { event: 'voice.join', channel: 'general', template: '🔊 {user} joined {channel}' },
      { event: 'voice.leave', channel: 'general', template: '👋 {user} left {channel}' },
      { event: 'voice.move', channel: 'audit', template: "🔀 {user} moved from {from} to {to} {{it's}}" },
    ],
    forwarderKeys: { [KEY.kid]: KEY.publicKeyHex },
    allowedGuildIds: [GUILD_ID],
    callers: [`arn:aws:iam::${ACCOUNT}:role/relay-forwarder`, `arn:aws:iam::${ACCOUNT}:user/ci/relay-ci`],
    operators: [`arn:aws:iam::${ACCOUNT}:role/relay-operator`],
    throttling: { ingest: { rateLimit: 20, burstLimit: 40 }, webhookProxy: { rateLimit: 2, burstLimit: 5 } },
    logLevel: 'ERROR',
    logRetentionDays: 14,
    freshnessWindowSeconds: 240,
    // Everything the monitoring construct can make; the default (essential, no dashboard) has its own tests.
    monitoring: { level: 'full', dashboard: true, alarmEmail: 'ops@example.com', alarmChannel: 'audit', heartbeatMissingMinutes: 20 },
    ...overrides,
  };
}

/** `cdk synth`'s context: its feature flags, and the Lambda bundles built. */
export const CDK_CONTEXT_BUNDLED = cdkJsonContext(__dirname);
/**
 * What tests synthesize with: `cdk synth`'s feature flags, so tests synthesize what deploys, but no
 * Lambda bundling (`aws:cdk:bundling-stacks: []`, what `cdk synth --exclusively` does to other
 * stacks): the tests run the handlers from lib/, and the bundles only cost time. The templates are
 * the same but for the code assets' hashes; the tests that read a bundle use CDK_CONTEXT_BUNDLED.
 */
export const CDK_CONTEXT: Record<string, unknown> = { ...CDK_CONTEXT_BUNDLED, ...NO_BUNDLING };

/** Synthesizes a RelayStack; call once per test file. */
export function synthRelayStack(config: RelayConfig = testConfig(), options: { directDelivery?: boolean; bundle?: boolean } = {}): { stack: RelayStack; template: Template } {
  const app = new App({ context: options.bundle ? CDK_CONTEXT_BUNDLED : CDK_CONTEXT });
  const stack = new RelayStack(app, 'TestRelay', { config: validateRelayConfig(config), env: { account: ACCOUNT, region: REGION }, directDelivery: options.directDelivery });
  return { stack, template: Template.fromStack(stack) };
}

/** When fixture events happen: now (to the second), since Verify accepts an `at` only near the envelope's `ts`. */
export const EVENT_AT = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();

const CHANNEL_A = { channel_id: '222222222222222222', channel_name: 'General' };
const CHANNEL_B = { channel_id: '333333333333333333', channel_name: 'Gaming' };

export function voiceEvent(kind: 'join' | 'leave' | 'move' | 'mute', overrides: Partial<VoiceStateUpdateEvent> = {}): VoiceStateUpdateEvent {
  const sides = { join: [null, CHANNEL_A], leave: [CHANNEL_A, null], move: [CHANNEL_A, CHANNEL_B], mute: [CHANNEL_A, CHANNEL_A] }[kind];
  return {
    type: EventType.VoiceStateUpdate,
    guild: { id: GUILD_ID, name: 'Test Guild' },
    user: { id: '444444444444444444', name: 'alice', display_name: 'Alice', bot: false },
    before: sides[0],
    after: sides[1],
    at: EVENT_AT,
    ...overrides,
  };
}

let counter = 0;

export function signed(
  payload: unknown,
  options: { key?: TestKey; kid?: string; ts?: number; id?: string } = {},
): Envelope {
  const key = options.key ?? KEY;
  return signEnvelope(
    {
      v: ENVELOPE_VERSION,
      id: options.id ?? `evt-${process.pid}-${++counter}`,
      kid: options.kid ?? key.kid,
      ts: options.ts ?? Math.floor(Date.now() / 1000),
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    },
    key.privateKey,
  );
}

/** A v2 envelope of `items` (their own ids), signed like {@link signed}. */
export function signedBatch(items: readonly BatchItem[], options: { key?: TestKey; ts?: number; id?: string } = {}): Envelope {
  const key = options.key ?? KEY;
  return signEnvelope(
    { v: BATCH_ENVELOPE_VERSION, id: options.id ?? `batch-${process.pid}-${++counter}`, kid: key.kid, ts: options.ts ?? Math.floor(Date.now() / 1000), payload: JSON.stringify(items) },
    key.privateKey,
  );
}
