import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repository, version } from '../package.json';

/**
 * The nearest `file` in `from` or above. Used to find this project's own files (package-lock.json,
 * cdk.json) from its source or build location, whatever the current directory is.
 */
export function findUp(file: string, from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, file))) return join(dir, file);
    if (dirname(dir) === dir) throw new Error(`${file} not found in ${from} or any folder above it`);
  }
}

/**
 * The project's root folder: where package-lock.json is. From `lib/` and from `dist/lib/` alike
 * (`dist/` holds a copy of package.json, never the lockfile).
 */
export function projectRoot(from: string = __dirname): string {
  return dirname(findUp('package-lock.json', from));
}

/**
 * A Lambda entry file, `lambda/<name>/index.ts`, found from the project root so that the CDK app
 * synthesizes the same way from the sources (tsx) and from the build (`dist/`, as `npx relay local`
 * runs). The built `.js` is used only where the sources are absent.
 */
export function lambdaEntry(name: string, from: string = __dirname): string {
  const root = projectRoot(from);
  const source = join(root, 'lambda', name, 'index.ts');
  if (existsSync(source)) return source;
  const built = join(root, 'dist', 'lambda', name, 'index.js');
  if (existsSync(built)) return built;
  throw new Error(`the ${name} Lambda's entry is missing: neither ${source} nor ${built} exists. Run \`npm ci\` in the project folder`);
}

/** The feature flags and settings of cdk.json (its `context`), so an app built in code synthesizes as `cdk synth` does. */
export function cdkJsonContext(from: string = __dirname): Record<string, unknown> {
  return (JSON.parse(readFileSync(findUp('cdk.json', from), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/**
 * Context that skips Lambda bundling (what `cdk synth --exclusively` does to the stacks it leaves
 * out): for apps built in code that read the template but never deploy it — local mode, the cost
 * model, the diagram, the tests — which run the handlers from lib/ (and print nothing of esbuild).
 */
export const NO_BUNDLING: Readonly<Record<string, unknown>> = { 'aws:cdk:bundling-stacks': [] };

/** This project as Discord requires every bot to name itself: `DiscordBot (<url>, <version>)`. */
export const DISCORD_USER_AGENT = `DiscordBot (${repository.url}, ${version})`;
