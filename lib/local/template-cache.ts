/**
 * Local mode's synthesized templates, kept under node_modules/.cache/discord-event-relay: a start
 * whose inputs all match a previous one's (the resolved config, the options, cdk.json,
 * package-lock.json and every source file under lib/, which the stack is built from) reads the template
 * that synth wrote then, instead of loading aws-cdk-lib and synthesizing again (~3 s). Any change
 * to any of them is a new key, so a stale template cannot be used; the newest few are kept.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findUp, projectRoot } from '../project-files';

const CACHE_DIR = join('node_modules', '.cache', 'discord-event-relay', 'local-templates');
/** Templates kept: enough for the configs and option sets one uses (the tests use a dozen), not one per edit of lib/ forever. */
export const TEMPLATES_KEPT = 32;

/** Every .ts and .js file under `dir`, sorted, for hashing. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

export class TemplateCache {
  private constructor(private readonly file: string) {}

  /** The cache entry for these inputs; undefined when the project has no place for it. */
  static for(inputs: unknown, from: string = __dirname): TemplateCache | undefined {
    try {
      const hash = createHash('sha256').update(JSON.stringify(inputs));
      // The stack's code: lib/ (or dist/lib/ when run built), and what pins the dependencies.
      for (const file of [...sourceFiles(join(from, '..')), findUp('cdk.json', from), findUp('package-lock.json', from)]) {
        hash.update(file).update(readFileSync(file));
      }
      return new TemplateCache(join(projectRoot(from), CACHE_DIR, `${hash.digest('hex')}.json`));
    } catch {
      return undefined;
    }
  }

  read<T>(): T | undefined {
    try {
      return statSync(this.file).isFile() ? (JSON.parse(readFileSync(this.file, 'utf8')) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Written whole or not at all (a temporary file renamed), so a reader never sees half a template. */
  write(value: unknown): void {
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(value));
      renameSync(temp, this.file);
      this.prune();
    } catch {
      // a read-only checkout: synthesize every time
    }
  }

  /** Removes all but the {@link TEMPLATES_KEPT} newest templates. */
  private prune(): void {
    const dir = join(this.file, '..');
    const entries = readdirSync(dir).filter((name) => name.endsWith('.json')).map((name) => ({ path: join(dir, name), at: statSync(join(dir, name)).mtimeMs }));
    for (const old of entries.sort((a, b) => b.at - a.at).slice(TEMPLATES_KEPT)) rmSync(old.path, { force: true });
  }
}
