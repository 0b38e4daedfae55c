/**
 * `npm run integ`: the cloud proof (test/integration/integ.relay.ts) with the project's own CDK
 * CLI — deploy every stack of the IntegTest app (its assertions run as custom resources during
 * the deploy: one that fails fails the deploy), run `relay doctor --post` against the relay it
 * deployed (so the tool users rely on after a deploy is proven on a real one), then destroy them
 * all, pass or fail.
 *
 * Why not integ-runner: the newest on npm (2.197.10) reads cloud assemblies up to schema 53, and
 * aws-cdk-lib 2.276 writes 55 ("Cloud assembly schema version mismatch"). The test file is an
 * ordinary IntegTest app: `integ-runner --directory test/integration --language typescript
 * --app "node --import tsx {filePath}"` runs it unchanged once a release reads schema 55.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTEG_CHANNEL, INTEG_KEY_ID, INTEG_STACK, integTestKey } from '../test/integration/integ-settings';

const ROOT = join(__dirname, '..');

/** The doctor's arguments against the integ relay: its stack, its one channel, its test key. */
export function integDoctorArgs(keyFile: string): string[] {
  return ['doctor', '--stack', INTEG_STACK, '--post', INTEG_CHANNEL, '--kid', INTEG_KEY_ID, '--key-file', keyFile];
}

function cdk(...args: string[]): number {
  return spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), [
    ...args, '--app', `${process.execPath} --import tsx test/integration/integ.relay.ts`, '--output', 'cdk.out/integ',
  ], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
}

/** relay doctor with the integ relay's public test key (written 0600, as relay doctor requires). */
function doctor(): number {
  const dir = mkdtempSync(join(tmpdir(), 'relay-integ-'));
  const keyFile = join(dir, `${INTEG_KEY_ID}.pem`);
  writeFileSync(keyFile, integTestKey().pem, { mode: 0o600 });
  try {
    return spawnSync(process.execPath, ['--import', 'tsx', 'bin/relay.ts', ...integDoctorArgs(keyFile)], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): number {
  if (!process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION) {
    console.error('npm run integ deploys to AWS: set AWS_REGION and credentials for a bootstrapped account first.');
    return 2;
  }
  const deployed = cdk('deploy', '--all', '--require-approval', 'never');
  const checked = deployed === 0 ? doctor() : 1;
  const destroyed = cdk('destroy', '--all', '--force');
  if (deployed !== 0) console.log('integration test FAILED (see the failed assertion resource above)');
  else console.log(checked === 0 ? 'integration test passed (assertions and relay doctor)' : 'integration test FAILED: relay doctor found a problem (its lines above)');
  if (destroyed !== 0) console.error('destroy failed: delete the RelayInteg* stacks by hand');
  return deployed === 0 && checked === 0 && destroyed === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main());
