/**
 * `npm run integ`: the cloud proof (test/integration/integ.relay.ts) with the project's own CDK
 * CLI — deploy every stack of the IntegTest app (its assertions run as custom resources during
 * the deploy: one that fails fails the deploy), then destroy them all, pass or fail.
 *
 * Why not integ-runner: the newest on npm (2.197.10) reads cloud assemblies up to schema 53, and
 * aws-cdk-lib 2.276 writes 55 ("Cloud assembly schema version mismatch"). The test file is an
 * ordinary IntegTest app: `integ-runner --directory test/integration --language typescript
 * --app "node --import tsx {filePath}"` runs it unchanged once a release reads schema 55.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const cdk = (...args: string[]) => spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), [
  ...args, '--app', `${process.execPath} --import tsx test/integration/integ.relay.ts`, '--output', 'cdk.out/integ',
], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;

if (!process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION) {
  console.error('npm run integ deploys to AWS: set AWS_REGION and credentials for a bootstrapped account first.');
  process.exit(2);
}
const deployed = cdk('deploy', '--all', '--require-approval', 'never');
const destroyed = cdk('destroy', '--all', '--force');
console.log(deployed === 0 ? 'integration test passed' : 'integration test FAILED (see the failed assertion resource above)');
if (destroyed !== 0) console.error('destroy failed: delete the RelayInteg* stacks by hand');
process.exit(deployed === 0 && destroyed === 0 ? 0 : 1);
