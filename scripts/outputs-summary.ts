/**
 * `cdk deploy --outputs-file` JSON → a Markdown job summary (deploy.yml): one table per stack.
 * Values are written as code spans, with backticks and pipes neutralised, so that an output can
 * never break the table or inject Markdown.
 */
import { markdownCell as cell, printSummaryOf } from './markdown';

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

if (require.main === module) printSummaryOf<StackOutputs>('outputs-summary.ts', 'Deployed', outputsSummary);
