/** Text from outside (stack outputs, doctor findings) as a Markdown table cell: a code span that cannot break the table or inject Markdown. */
export function markdownCell(text: string): string {
  return '`' + String(text).replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\r?\n/g, ' ') + '`';
}
