/**
 * `relay doctor --json` → a Markdown job summary (deploy.yml): one row per check with its mark,
 * what it found, and for a failure or warning the cause and the fix. Every value is a code span
 * (scripts/markdown.ts), so nothing a relay or Discord answered can break the table.
 */
import { readFileSync } from 'node:fs';
import type { CheckStatus, DoctorReport } from '../lib/doctor/results';
import { markdownCell as cell } from './markdown';

const MARK: Record<CheckStatus, string> = { pass: '✅', warn: '⚠️', fail: '❌', skip: '➖' };

export function doctorSummary(report: DoctorReport): string {
  const rows = report.checks.map((c) => `| ${MARK[c.status]} | ${c.title} | ${cell(c.detail)} | ${c.cause ? cell(c.cause) : ''} | ${c.fix ? cell(c.fix) : ''} |`);
  const verdict = report.ok ? 'every check passed' : `${report.checks.filter((c) => c.status === 'fail').length} check(s) failed`;
  return [`### relay doctor: ${verdict}`, '', cell(report.relay), '', '| | Check | Found | Cause | Fix |', '| --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx scripts/doctor-summary.ts <relay-doctor.json>');
    process.exit(2);
  }
  let report: DoctorReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as DoctorReport;
  } catch (error) {
    // relay doctor stopped before its report (exit 3: no relay to check): say so rather than fail twice.
    process.stdout.write(`### relay doctor\n\nNo report (${(error as Error).message.split('\n')[0]}).\n`);
    process.exit(0);
  }
  process.stdout.write(doctorSummary(report));
}
