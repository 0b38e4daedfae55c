/**
 * `cdk deploy --outputs-file` JSON → a Markdown job summary (deploy.yml): one table per stack.
 * Values are written as code spans, with backticks and pipes neutralised, so that an output can
 * never break the table or inject Markdown.
 */
import { readFileSync } from 'node:fs';
import { markdownCell as cell } from './markdown';

export type StackOutputs = Record<string, Record<string, string>>;

export function outputsSummary(outputs: StackOutputs): string {
  const stacks = Object.entries(outputs);
  if (stacks.length === 0) return '### Deployed\n\nNo stack outputs (was the stack deployed?).\n';
  return stacks
    .map(([stack, values]) => {
      const rows = Object.entries(values).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `| ${key} | ${cell(value)} |`);
      return [`### ${stack}`, '', '| Output | Value |', '| --- | --- |', ...rows, ''].join('\n');
    })
    .join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx scripts/outputs-summary.ts <cdk-outputs.json>');
    process.exit(2);
  }
  let outputs: StackOutputs;
  try {
    outputs = JSON.parse(readFileSync(file, 'utf8')) as StackOutputs;
  } catch (error) {
    // The deploy failed before writing outputs: say so in the summary rather than fail twice.
    process.stdout.write(`### Deployed\n\nNo outputs file (${(error as Error).message.split('\n')[0]}).\n`);
    process.exit(0);
  }
  process.stdout.write(outputsSummary(outputs));
}
