/**
 * `npm run diagram`: synthesizes the app from the example config, as `cdk synth` does, and writes
 * its Mermaid diagram into README.md between the architecture-diagram markers (GitHub renders it).
 * `npm test` fails when the committed diagram no longer matches the app.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { DEFAULT_CONFIG_PATH, loadRelayConfigFile } from '../lib/config/load';
import { renderMermaid, type DiagramTemplate } from '../lib/diagram/mermaid';
import { NO_BUNDLING, cdkJsonContext } from '../lib/project-files';
import { RelayStack } from '../lib/infra/relay-stack';

const ROOT = join(__dirname, '..');
export const README = join(ROOT, 'README.md');
const START = '<!-- architecture-diagram:start (generated from the synthesized app by `npm run diagram`; do not edit) -->';
const END = '<!-- architecture-diagram:end -->';

/** The Mermaid source of the relay stack the example config synthesizes. */
export function appDiagram(): string {
  // Path metadata (what the CLI asks for) names each resource's construct: the diagram's nodes.
  const app = new App({ context: { ...cdkJsonContext(), ...NO_BUNDLING, 'aws:cdk:enable-path-metadata': true }, outdir: join(ROOT, 'cdk.out', 'diagram') });
  const config = loadRelayConfigFile(join(ROOT, DEFAULT_CONFIG_PATH));
  const stack = new RelayStack(app, config.stackName, { config });
  return renderMermaid(app.synth().getStackArtifact(stack.artifactId).template as DiagramTemplate);
}

/** The diagram block as README holds it. */
export function diagramBlock(mermaid: string): string {
  return `${START}\n\`\`\`mermaid\n${mermaid}\`\`\`\n${END}`;
}

/** The block README.md holds now, or undefined without markers. */
export function committedBlock(readme: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  return start < 0 || end < start ? undefined : readme.slice(start, end + END.length);
}

if (require.main === module) {
  const readme = readFileSync(README, 'utf8');
  const current = committedBlock(readme);
  if (current === undefined) {
    console.error(`README.md has no diagram markers; add\n${START}\n${END}\nwhere the diagram goes.`);
    process.exit(1);
  }
  const next = diagramBlock(appDiagram());
  writeFileSync(README, readme.replace(current, next));
  console.log(current === next ? 'README.md diagram already matches the app' : 'README.md diagram updated');
}
