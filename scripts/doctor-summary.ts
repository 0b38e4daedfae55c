/**
 * `relay doctor --json` → a Markdown job summary (deploy.yml): one row per check with its mark,
 * what it found, and for a failure or warning the cause and the fix. Every value is a code span
 * (scripts/markdown.ts), so nothing a relay or Discord answered can break the table.
 */
import type { CheckStatus, DoctorReport } from '../lib/doctor/results';
import { markdownCell as cell, printSummaryOf } from './markdown';

const MARK: Record<CheckStatus, string> = { pass: '✅', warn: '⚠️', fail: '❌', skip: '➖' };

export function doctorSummary(report: DoctorReport): string {
  const rows = report.checks.map((c) => `| ${MARK[c.status]} | ${c.title} | ${cell(c.detail)} | ${c.cause ? cell(c.cause) : ''} | ${c.fix ? cell(c.fix) : ''} |`);
  const verdict = report.ok ? 'every check passed' : `${report.checks.filter((c) => c.status === 'fail').length} check(s) failed`;
  return [`### relay doctor: ${verdict}`, '', cell(report.relay), '', '| | Check | Found | Cause | Fix |', '| --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
}

if (require.main === module) printSummaryOf<DoctorReport>('doctor-summary.ts', 'relay doctor', doctorSummary);
