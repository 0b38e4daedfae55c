/**
 * The import rules of docs/architecture.md ("Layers and import rules"), checked on every source
 * file. Each rule names who may be imported; a violation lists the file, the import and the rule.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const ROOT = join(__dirname, '..');

interface Rule {
  /** Files the rule applies to (path prefix, relative to the repo). */
  readonly files: string;
  /** Files it must not import (path prefixes); `*` in `packages` means any npm package. */
  readonly forbidden: readonly string[];
  /** Packages it must not import: any but node: built-ins when true. */
  readonly noPackages?: boolean;
  /** Files among `files` the rule does not apply to. */
  readonly exceptFiles?: readonly string[];
  /** Targets allowed although a `forbidden` prefix covers them. */
  readonly allowed?: readonly string[];
  readonly why: string;
}

const RULES: readonly Rule[] = [
  { files: 'lib/contracts/', forbidden: ['lib/', 'bin/', 'lambda/', 'test/', 'testkit/', 'bench/'], allowed: ['lib/contracts/'], noPackages: true, why: 'contracts are dependency-free and import nothing of ours' },
  { files: 'lib/', forbidden: ['lambda/', 'test/', 'testkit/', 'bench/', 'bin/'], why: 'nothing in lib/ imports the Lambda entries, tests, bench or bin' },
  { files: 'lib/infra/', forbidden: ['lib/config/'], exceptFiles: ['lib/infra/relay-stack.ts'], why: 'constructs take typed props, never the app config (only the stack reads it)' },
  { files: 'lib/', forbidden: ['lib/cli/'], exceptFiles: ['lib/cli/'], why: 'nothing below the CLI imports it' },
  { files: 'lib/', forbidden: ['lib/local/'], exceptFiles: ['lib/local/', 'lib/cli/'], why: 'local mode sits on top; only the CLI uses it' },
  { files: 'lib/verify/', forbidden: ['lib/infra/', 'lib/config/', 'lib/client/', 'lib/forwarder/'], why: 'the Verify step needs the contracts only (its bundle stays small)' },
  { files: 'lib/delivery/', forbidden: ['lib/infra/', 'lib/config/', 'lib/client/', 'lib/forwarder/', 'lib/verify/'], why: 'the delivery steps need the contracts only (their bundles stay small)' },
  { files: 'lib/interactions/', forbidden: ['lib/infra/', 'lib/config/', 'lib/client/', 'lib/forwarder/', 'lib/verify/', 'lib/delivery/', 'lib/local/', 'lib/doctor/'], allowed: ['lib/client/http'], why: 'the Discord app\'s handlers need the contracts and the client\'s node:http transport only (the Interactions bundle stays under 20 KB)' },
  { files: 'lib/client/', forbidden: ['lib/infra/', 'lib/config/', 'lib/forwarder/', 'lib/verify/'], why: 'the client is a library: contracts and its own modules' },
  { files: 'lib/forwarder/', forbidden: ['lib/infra/', 'lib/config/', 'lib/verify/'], why: 'the forwarder needs the contracts and the client only' },
  { files: 'lib/doctor/', forbidden: ['lib/infra/', 'lib/config/', 'lib/forwarder/', 'lib/verify/', 'lib/delivery/'], why: 'relay doctor needs the contracts and the client only (a relay is read over its APIs)' },
  { files: 'lib/config/', forbidden: ['lib/infra/', 'lib/client/', 'lib/forwarder/', 'lib/verify/'], why: 'the config is checked against the contracts only' },
  { files: 'lambda/', forbidden: ['lib/infra/', 'lib/config/', 'lib/local/', 'lib/cli/'], why: 'a Lambda entry is a thin file over its handler in lib/' },
  { files: 'bench/', forbidden: ['test/'], why: 'bench/ uses testkit/, never test/' },
];

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

export function importsOf(file: string, text: string): Array<{ spec: string; target?: string }> {
  const out: Array<{ spec: string; target?: string }> = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2];
    out.push({ spec, target: spec.startsWith('.') ? normalize(join(dirname(file), spec)) : undefined });
  }
  return out;
}

export function violations(files: ReadonlyArray<{ path: string; text: string }>, rules: readonly Rule[] = RULES): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    for (const rule of rules) {
      if (!path.startsWith(rule.files) || rule.exceptFiles?.some((e) => path.startsWith(e))) continue;
      for (const { spec, target } of importsOf(path, text)) {
        if (target && rule.forbidden.some((f) => `${target}/`.startsWith(f)) && !rule.allowed?.some((a) => target.startsWith(a))) {
          found.push(`${path} imports ${spec}: ${rule.why}`);
        }
        if (!target && rule.noPackages && !spec.startsWith('node:')) found.push(`${path} imports ${spec}: ${rule.why}`);
      }
    }
  }
  return found;
}

const sources = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
  .trim().split('\n').filter((f) => f && !f.endsWith('.d.ts'))
  .map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));

it('every source file follows the import rules', () => {
  expect(sources.length).toBeGreaterThan(50);
  expect(violations(sources)).toEqual([]);
});

it.each(['verify', 'coalesce', 'pace', 'interactions', 'register-commands'])('the %s Lambda entry is a thin file over lib/', (name) => {
  const entry = sources.find((s) => s.path === `lambda/${name}/index.ts`)!;
  expect(entry.text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('/') && !l.trim().startsWith('*')).length).toBeLessThanOrEqual(3);
});

describe('the checker catches what it should', () => {
  it.each([
    ['a contract importing another layer', 'lib/contracts/x.ts', "import { a } from '../client/relay-client';", 'contracts are dependency-free'],
    ['a contract importing a package', 'lib/contracts/x.ts', "import { App } from 'aws-cdk-lib';", 'contracts are dependency-free'],
    ['a construct importing the config', 'lib/infra/ingest-api.ts', "import type { RelayConfig } from '../config/relay-config';", 'constructs take typed props'],
    ['lib importing a Lambda entry', 'lib/local/x.ts', "import { handler } from '../../lambda/verify/index';", 'nothing in lib/ imports the Lambda entries'],
    ['lib importing test code', 'lib/forwarder/x.ts', "const f = require('../../test/support/fixtures');", 'nothing in lib/ imports the Lambda entries, tests'],
    ['bench importing test code', 'bench/x.ts', "import { KEY } from '../test/support/fixtures';", 'bench/ uses testkit/'],
    ['the client importing local mode', 'lib/client/x.ts', "await import('../local/local-relay-server');", 'local mode sits on top'],
  ])('%s', (_, path, text, why) => {
    expect(violations([{ path, text }])).toEqual([expect.stringContaining(why)]);
  });

  it('allows what the rules allow', () => {
    expect(violations([
      { path: 'lib/contracts/x.ts', text: "import { a } from './errors';\nimport { b } from 'node:crypto';" },
      { path: 'lib/infra/relay-stack.ts', text: "import type { ResolvedRelayConfig } from '../config/relay-config';" },
      { path: 'lib/cli/x.ts', text: "import { LocalRelayServer } from '../local/local-relay-server';" },
      { path: 'bench/x.ts', text: "import { FakeDiscord } from '../testkit/fake-discord';" },
    ])).toEqual([]);
  });
});
