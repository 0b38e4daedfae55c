/**
 * The interactions endpoint's numbers: the bundle Lambda runs (≤ 20 KB), a cold start (a fresh
 * Node process loading that bundle and answering its first signed PING), and the handler's
 * answer time for `/relay` commands with the guild settings on dynalite, warm. Discord waits 3 s;
 * Lambda's own runtime start comes on top of the cold figure and cannot be measured here.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InteractionsEnv } from '../lib/contracts/env';
import { publicKeyToHex } from '../lib/contracts/envelope';
import { GuildSettingsAttribute } from '../lib/contracts/interactions';
import { createInteractionsHandler } from '../lib/interactions/handler';
import { GuildSettingsStore } from '../lib/interactions/guild-settings';
import { commandInteraction, pingInteraction, signedHeaders } from '../lib/interactions/simulate';
import { LocalDynamoDb } from '../lib/local/dynamodb-emulator';

export interface InteractionFigures {
  readonly bundleBytes: number;
  readonly registerBundleBytes: number;
  readonly coldStartMs: { p50: number; p99: number };
  readonly warmMs: { p50: number; p99: number };
  readonly commands: number;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** The Interactions and registration bundles of the Discord app example, as `cdk synth` builds them. */
function bundles(root: string): { interactions: string; register: string; cleanup: () => void } {
  const out = mkdtempSync(join(tmpdir(), 'relay-bench-app-'));
  execFileSync(join(root, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--output', out, '-c', 'config=examples/discord-app.config.ts'], { cwd: root, stdio: 'pipe' });
  const template = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.template.json'))!), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
  const asset = (prefix: string) => {
    const key = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(prefix))?.[1].Properties.Code?.S3Key;
    if (!key) throw new Error(`${prefix} not found in the cloud assembly`);
    return join(out, `asset.${key.replace(/\.zip$/, '')}`, 'index.js');
  };
  return { interactions: asset('InteractionsFunction'), register: asset('DiscordCommandsRegister'), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

/** A fresh process: load the bundle, answer one signed PING; the time from spawn to the answer. */
function coldStarts(bundle: string, runs: number): number[] {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const body = JSON.stringify(pingInteraction('1111111111111111111'));
  const script = `
    const t0 = process.hrtime.bigint();
    const { handler } = require(${JSON.stringify(bundle)});
    handler(JSON.parse(process.argv[1])).then((r) => {
      if (r.statusCode !== 200) throw new Error('PING answered ' + r.statusCode);
      process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));
    });`;
  const env = {
    ...process.env, AWS_REGION: 'eu-west-1',
    [InteractionsEnv.PublicKey]: publicKeyToHex(publicKey), [InteractionsEnv.ApplicationId]: '1111111111111111111', [InteractionsEnv.AllowedGuildIds]: '123456789012345678',
    [InteractionsEnv.SettingsTable]: 't', [InteractionsEnv.HeartbeatTable]: 'Bench-Heartbeats',
  };
  return Array.from({ length: runs }, () => {
    const started = process.hrtime.bigint();
    const inside = Number(execFileSync(process.execPath, ['-e', script, JSON.stringify({ headers: signedHeaders(body, privateKey), body })], { env, encoding: 'utf8' }));
    // The process's own start is part of a cold start too: spawn to answer.
    return Math.max(inside, Number(process.hrtime.bigint() - started) / 1e6);
  });
}

/** Warm: the handler answering optout / optin / pause / resume / status, the settings on dynalite. */
async function warm(commands: number): Promise<number[]> {
  const db = await LocalDynamoDb.start({ tables: [{ logicalId: 'Settings', keySchema: [{ AttributeName: GuildSettingsAttribute.GuildId, KeyType: 'HASH' }], attributeDefinitions: [{ AttributeName: GuildSettingsAttribute.GuildId, AttributeType: 'S' }] }], sweepIntervalMs: 0 });
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const guildId = '123456789012345678';
    const handler = createInteractionsHandler({
      publicKey, allowedGuildIds: new Set([guildId]), now: Date.now, log: () => undefined,
      settings: new GuildSettingsStore(db.jsonApi, 'Settings'),
      facts: async () => ({ lane: { waiting: 0, inFlight: 0 }, deadLetters: 0, lastDelivery: null, lastHeartbeat: null }),
    });
    const subs = ['optout', 'optin', 'pause', 'resume', 'status'] as const;
    const times: number[] = [];
    for (let i = 0; i < commands + 50; i++) {
      const subcommand = subs[i % subs.length];
      const body = JSON.stringify(commandInteraction({ subcommand, guildId, applicationId: '1', userId: String(200000000000000000n + BigInt(i % 40)), manage: true, ...(subcommand === 'pause' ? { minutes: 5 } : {}) }));
      const started = process.hrtime.bigint();
      const answer = await handler({ headers: signedHeaders(body, privateKey), body });
      if (answer.statusCode !== 200) throw new Error(`${subcommand} answered ${answer.statusCode}`);
      if (i >= 50) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return times;
  } finally {
    await db.stop();
  }
}

export async function benchInteractions(root: string, options: { coldRuns?: number; commands?: number } = {}): Promise<InteractionFigures> {
  const built = bundles(root);
  try {
    const cold = coldStarts(built.interactions, options.coldRuns ?? 20);
    const hot = await warm(options.commands ?? 500);
    return {
      bundleBytes: statSync(built.interactions).size,
      registerBundleBytes: statSync(built.register).size,
      coldStartMs: { p50: quantile(cold, 0.5), p99: quantile(cold, 0.99) },
      warmMs: { p50: quantile(hot, 0.5), p99: quantile(hot, 0.99) },
      commands: hot.length,
    };
  } finally {
    built.cleanup();
  }
}
