/**
 * What `relay doctor` reports: one result per check, in order, each saying what was checked and,
 * when it is not a pass, the likely cause and the fix. The text and `--json` are both built from
 * these; nothing else decides an exit code.
 */

/** The checks, in the order they run. Stable: `--json` consumers and `--skip` name them. */
export const CheckId = {
  Credentials: 'credentials',
  Relay: 'relay',
  IngestAuth: 'ingest-auth',
  Probe: 'probe',
  Pipe: 'pipe',
  Lane: 'lane',
  DeadLetters: 'dead-letters',
  Alarms: 'alarms',
  ForwarderHeartbeat: 'forwarder-heartbeat',
  /** The Discord app's endpoint refuses unsigned and badly signed interactions (as Discord's own check requires). */
  Interactions: 'interactions',
  Post: 'post',
} as const;
export type CheckId = (typeof CheckId)[keyof typeof CheckId];
export const CHECK_IDS = Object.values(CheckId);

/** pass ✓ · warn ⚠ (worth a look, not a failure) · fail ✗ · skip – (not applicable, or an earlier check failed). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  readonly id: CheckId;
  /** What was checked, e.g. "the ingest accepts this identity's SigV4". */
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** For warn and fail: the likely cause. */
  readonly cause?: string;
  /** For warn and fail: what to do. */
  readonly fix?: string;
  /** The row of docs/architecture.md's register of outside behaviour this result depends on. */
  readonly register?: string;
  readonly ms?: number;
}

/** A finding without its id, title and timing, which the runner adds. */
export type Finding = Omit<CheckResult, 'id' | 'title' | 'ms'>;

export const pass = (detail: string): Finding => ({ status: 'pass', detail });
export const skip = (detail: string): Finding => ({ status: 'skip', detail });
export const warn = (detail: string, cause: string, fix: string, register?: string): Finding => ({ status: 'warn', detail, cause, fix, register });
export const fail = (detail: string, cause: string, fix: string, register?: string): Finding => ({ status: 'fail', detail, cause, fix, register });

/** Exit codes of `relay doctor` (the CLI's own 1, 2 and 3 keep their meaning). */
export const DoctorExit = {
  /** Every check passed (warnings allowed). */
  Ok: 0,
  /** At least one check failed. */
  Failed: 8,
} as const;

export interface DoctorReport {
  /** Which relay was checked: "stack DiscordEventRelay in eu-west-1" or "the local relay at http://127.0.0.1:8787". */
  readonly relay: string;
  readonly ok: boolean;
  readonly exitCode: number;
  readonly checks: readonly CheckResult[];
}

export function report(relay: string, checks: readonly CheckResult[]): DoctorReport {
  const ok = checks.every((c) => c.status !== 'fail');
  return { relay, ok, exitCode: ok ? DoctorExit.Ok : DoctorExit.Failed, checks };
}

const MARK: Record<CheckStatus, string> = { pass: '✓', warn: '⚠', fail: '✗', skip: '–' };

/** One line per check (and its cause and fix indented below it), then a summary line. */
export function renderReport(r: DoctorReport): string[] {
  const width = Math.max(...r.checks.map((c) => c.title.length));
  const lines = [`relay doctor — ${r.relay}`];
  for (const c of r.checks) {
    lines.push(`${MARK[c.status]} ${c.title.padEnd(width)}  ${c.detail}`);
    const indent = ' '.repeat(width + 4);
    if (c.cause) lines.push(`${indent}cause: ${c.cause}`);
    if (c.fix) lines.push(...c.fix.split('\n').map((l, i) => `${indent}${i === 0 ? 'fix:   ' : '       '}${l}`));
    if (c.register && c.status !== 'pass') lines.push(`${indent}see:   docs/architecture.md, register row "${c.register}"`);
  }
  const count = (s: CheckStatus) => r.checks.filter((c) => c.status === s).length;
  const failed = count('fail');
  lines.push('', failed === 0
    ? `All checks passed${count('warn') ? ` (${count('warn')} warning${count('warn') === 1 ? '' : 's'})` : ''}.`
    : `${failed} check${failed === 1 ? '' : 's'} failed (exit ${r.exitCode}).`);
  return lines;
}
