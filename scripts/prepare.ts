/**
 * `prepare`: what `npm ci` runs, and what npx runs when it installs this folder to start its
 * `relay` bin (`npx relay …` in the project: npm installs the project itself into its npx cache).
 * It builds dist/ only when a source is newer than the build, so a first `npx relay` after
 * `npm ci` starts at once instead of compiling the project again.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
/** What the build compiles, and what says it is done. */
const SOURCES = ['bin', 'lib', 'lambda', 'package.json', 'tsconfig.build.json'];
export const BUILT = join(ROOT, 'dist', 'bin', 'relay.js');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** True when dist/ is missing or older than a source. */
export function buildIsStale(root: string = ROOT): boolean {
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'bin', 'relay.js')).mtimeMs;
  } catch {
    return true;
  }
  return Math.max(...SOURCES.map((s) => newest(join(root, s)))) > built;
}

if (require.main === module) {
  if (!buildIsStale()) process.exit(0);
  process.exit(spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' }).status ?? 1);
}
