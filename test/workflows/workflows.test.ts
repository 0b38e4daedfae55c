/**
 * .github/workflows: parsed with GitHub's own parser (@actions/workflow-parser), then checked for
 * what makes a pipeline safe to trust: triggers, third-party actions pinned to full commit SHAs
 * with their version in a comment, least-privilege permissions, OIDC only where AWS is reached.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctorSummary } from '../../scripts/doctor-summary';
import { outputsSummary } from '../../scripts/outputs-summary';

interface ParsedStep { uses?: string; run?: string; if?: string; continueOnError?: unknown; with?: Record<string, string> }
interface ParsedJob { id: string; needs: string[]; if?: string; environment?: string; permissions?: Record<string, string>; steps: ParsedStep[] }
interface ParsedWorkflow { file: string; errors: string[]; events: Record<string, unknown>; permissions?: Record<string, string>; jobs: ParsedJob[] }

const ROOT = join(__dirname, '..', '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');

function parse(...paths: string[]): ParsedWorkflow[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'support', 'parse-workflow.mjs'), ...paths], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as ParsedWorkflow[];
}

const [ci, deploy] = parse(join(WORKFLOWS, 'ci.yml'), join(WORKFLOWS, 'deploy.yml'));
const job = (wf: ParsedWorkflow, id: string): ParsedJob => {
  const found = wf.jobs.find((j) => j.id === id);
  if (!found) throw new Error(`${wf.file} has no job ${id}`);
  return found;
};

describe('the parser is live', () => {
  it('reports a schema error in a broken workflow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'on: push\npermissions:\n  id-token: writ\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    stepz: []\n');
    expect(parse(bad)[0].errors.length).toBeGreaterThan(0);
  });
});

describe.each([ci, deploy])('$file', (wf) => {
  it('parses without errors', () => expect(wf.errors).toEqual([]));

  it('pins every action to a full commit SHA with its version in a comment', () => {
    const text = readFileSync(join(WORKFLOWS, wf.file), 'utf8');
    const uses = wf.jobs.flatMap((j) => j.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
    expect(uses.length).toBeGreaterThan(0);
    for (const ref of uses) {
      expect(ref).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      expect(text).toMatch(new RegExp(`uses: ${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} # v\\d+\\.\\d+\\.\\d+\\s*$`, 'm'));
    }
  });

  it('reads the repository and nothing more at the top level', () => expect(wf.permissions).toEqual({ contents: 'read' }));

  it('checks out without leaving the token in .git/config', () => {
    for (const step of wf.jobs.flatMap((j) => j.steps).filter((s) => s.uses?.startsWith('actions/checkout@'))) {
      expect(step.with?.['persist-credentials']).toBe('false');
    }
  });
});

describe('ci.yml', () => {
  it('runs on pull requests and on pushes to main', () => {
    expect(Object.keys(ci.events).sort()).toEqual(['pull_request', 'push']);
    expect(ci.events.push).toEqual({ branches: ['main'] });
  });

  it('runs npm ci, npm test and cdk synth, and never asks for an OIDC token', () => {
    const test = job(ci, 'test');
    expect(test.steps.map((s) => s.run).filter(Boolean)).toEqual(['npm ci --no-audit --no-fund', 'npm test', 'npx cdk synth --quiet']);
    expect(test.permissions).toBeUndefined();
  });
});

describe('deploy.yml', () => {
  it('runs on pushes to main and by hand', () => {
    expect(Object.keys(deploy.events).sort()).toEqual(['push', 'workflow_dispatch']);
    expect(deploy.events.push).toEqual({ branches: ['main'] });
  });

  it.each(['integ', 'deploy'])('%s: id-token write only here, in a protected environment, credentials from OIDC and repository variables', (id) => {
    const j = job(deploy, id);
    expect(j.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect(j.environment).toBe(id === 'deploy' ? 'production' : 'staging');
    const creds = j.steps.filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(creds).toHaveLength(1);
    expect(creds[0].with).toMatchObject({ 'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}', 'aws-region': '${{ vars.AWS_REGION }}' });
    expect(Object.keys(creds[0].with ?? {})).not.toEqual(expect.arrayContaining(['aws-access-key-id']));
  });

  it('uses configure-aws-credentials v6, the current major', () => {
    const text = readFileSync(join(WORKFLOWS, 'deploy.yml'), 'utf8');
    const versions = [...text.matchAll(/configure-aws-credentials@[0-9a-f]{40} # (v\d+)\./g)].map((m) => m[1]);
    expect(versions).toEqual(['v6', 'v6']);
  });

  it('deploys only after the integration test passed or was not enabled', () => {
    const integ = job(deploy, 'integ');
    const prod = job(deploy, 'deploy');
    expect(integ.if).toContain("vars.RELAY_INTEG_TEST == 'true'");
    expect(prod.needs).toEqual(['integ']);
    expect(prod.if).toContain("needs.integ.result == 'success'");
    expect(prod.if).toContain("needs.integ.result == 'skipped'");
    expect(prod.if).not.toMatch(/always\(\)/);
  });

  it('deploys the relay stack without prompting and writes its outputs to the job summary', () => {
    const runs = job(deploy, 'deploy').steps.map((s) => s.run ?? '');
    const deployStep = runs.find((r) => r.includes('cdk deploy'));
    expect(deployStep).toMatch(/--require-approval never/);
    expect(deployStep).toMatch(/--outputs-file cdk-outputs\.json/);
    expect(deployStep).not.toMatch(/--all|DeployRole/);
    expect(runs.some((r) => r.includes('scripts/outputs-summary.ts cdk-outputs.json') && r.includes('$GITHUB_STEP_SUMMARY'))).toBe(true);
  });
});

describe('deploy.yml: relay doctor after the deploy', () => {
  const step = () => job(deploy, 'deploy').steps.find((s) => s.run?.includes('doctor'))!;

  it('runs after every deploy (after the outputs summary, even when the deploy failed); a failed check fails the job once RELAY_DOCTOR is true', () => {
    const steps = job(deploy, 'deploy').steps;
    expect(steps.indexOf(step())).toBe(steps.length - 1);
    expect(step().if).toContain('!cancelled()');
    expect(step().if).not.toContain('RELAY_DOCTOR');
    expect(step().continueOnError).toBe("${{ vars.RELAY_DOCTOR != 'true' }}");
  });

  it('checks the deployed stack with the built CLI, writes its findings to the job summary, and keeps its exit code', () => {
    const run = step().run!;
    expect(run).toContain('args=(doctor --stack "${RELAY_STACK:-DiscordEventRelay}" --json)');
    expect(run).toContain('node dist/bin/relay.js "${args[@]}" > relay-doctor.json || status=$?');
    expect(run).toContain('scripts/doctor-summary.ts relay-doctor.json >> "$GITHUB_STEP_SUMMARY"');
    expect(run.trim().split('\n').at(-1)).toBe('exit "$status"');
  });

  it('posts a test message only when RELAY_DOCTOR_POST names a channel; the key comes from a secret, written 0600 and removed', () => {
    const run = step().run!;
    expect(run).toContain('if [ -n "$RELAY_DOCTOR_POST" ]; then args+=(--post "$RELAY_DOCTOR_POST"); fi');
    expect(run).toContain('install -m 600 /dev/null "$RUNNER_TEMP/doctor-key.pem"');
    expect(run).toContain('rm -f "$RUNNER_TEMP/doctor-key.pem"');
    const text = readFileSync(join(WORKFLOWS, 'deploy.yml'), 'utf8');
    expect(text).toContain('RELAY_DOCTOR_KEY: ${{ secrets.RELAY_DOCTOR_KEY }}');
    expect(text).toContain('RELAY_DOCTOR_POST: ${{ vars.RELAY_DOCTOR_POST }}');
  });

  it('the integration test makes the deploy role an operator of the relay it deploys, for the doctor it runs', () => {
    expect(readFileSync(join(WORKFLOWS, 'deploy.yml'), 'utf8')).toContain('RELAY_INTEG_OPERATOR_ARN: ${{ vars.AWS_DEPLOY_ROLE_ARN }}');
  });
});

describe('doctor summary', () => {
  const report = {
    relay: 'stack DiscordEventRelay in eu-west-1', ok: false, exitCode: 8,
    checks: [
      { id: 'credentials' as const, title: 'credentials and region', status: 'pass' as const, detail: 'arn:aws:sts::1:assumed-role/x/y, region eu-west-1' },
      { id: 'post' as const, title: 'test message', status: 'fail' as const, detail: '#general: dead-lettered | `x`', cause: 'the webhook\n# was deleted', fix: 'do `this`' },
    ],
  };

  it('one row per check, the verdict in the heading, values as inert code spans', () => {
    const md = doctorSummary(report);
    expect(md).toContain('### relay doctor: 1 check(s) failed');
    expect(md).toContain("| ❌ | test message | `#general: dead-lettered \\| 'x'` | `the webhook # was deleted` | `do 'this'` |");
    expect(md).toContain('| ✅ | credentials and region |');
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(4);
  });
});

describe('outputs summary', () => {
  it('writes one table per stack, values as inert code spans', () => {
    const md = outputsSummary({ DiscordEventRelay: { IngestUrl: 'https://x.execute-api.eu-west-1.amazonaws.com/', Evil: 'a|b`c\n# h' } });
    expect(md).toContain('### DiscordEventRelay');
    expect(md).toContain('| IngestUrl | `https://x.execute-api.eu-west-1.amazonaws.com/` |');
    expect(md).toContain("| Evil | `a\\|b'c # h` |");
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(4); // header, rule, two rows
  });

  it('says so when there is nothing to show', () => expect(outputsSummary({})).toMatch(/No stack outputs/));
});
