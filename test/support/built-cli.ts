/**
 * The built CLI (`dist/bin/relay.js`), as `npx relay` runs it: rebuilt first when a source file is
 * newer than the build (CI's `npm ci` builds it through `prepare`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { buildIsStale } from '../../scripts/prepare';

export const ROOT = join(__dirname, '..', '..');
export const BUILT_CLI = join(ROOT, 'dist', 'bin', 'relay.js');
/** The Node the project installs (node_modules/.bin/node), as npx would pick it. */
export const PROJECT_NODE = join(ROOT, 'node_modules', '.bin', 'node');

export function ensureBuilt(): void {
  if (buildIsStale(ROOT)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<CliRun>;
}

/** Starts `node dist/bin/relay.js …` with `node` (the project's by default). */
export function startBuiltCli(args: string[], options: { cwd: string; env?: Record<string, string>; node?: string; input?: string }): RunningCli {
  const started = Date.now();
  const child = spawn(options.node ?? PROJECT_NODE, [BUILT_CLI, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: options.cwd, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(options.cwd, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(options.cwd, 'none'), ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin!.end(options.input ?? '');
  const exited = new Promise<CliRun>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
  return { child, output: () => stdout + stderr, exited };
}

export function runBuiltCli(args: string[], options: { cwd: string; env?: Record<string, string>; node?: string; input?: string }): Promise<CliRun> {
  return startBuiltCli(args, options).exited;
}
