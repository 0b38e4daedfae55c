import { readFileSync } from 'node:fs';

/** Text from outside (stack outputs, doctor findings) as a Markdown table cell: a code span that cannot break the table or inject Markdown. */
export function markdownCell(text: string): string {
  return '`' + String(text).replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\r?\n/g, ' ') + '`';
}

/**
 * A summary script's entry: reads the JSON file named on the command line and prints `render` of
 * it; a missing or unreadable file (the step before it failed) is said in the summary, exit 0.
 */
export function printSummaryOf<T>(script: string, heading: string, render: (value: T) => string): void {
  const file = process.argv[2];
  if (!file) {
    console.error(`usage: node --import tsx scripts/${script} <file.json>`);
    process.exit(2);
  }
  let value: T;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    process.stdout.write(`### ${heading}\n\nNothing to show (${(error as Error).message.split('\n')[0]}).\n`);
    return;
  }
  process.stdout.write(render(value));
}
