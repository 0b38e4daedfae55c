/** cdk.json sets every feature flag aws-cdk-lib recommends for a new app, so `cdk synth` warns of none. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const recommended = JSON.parse(readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8')) as Record<string, unknown>;
const context = (JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
/** Flags deliberately set against the recommendation (docs/architecture.md "Feature flags"): none today. */
const KEPT_OFF: Record<string, string> = {};

it('configures every recommended flag, at the recommended value unless kept off on purpose', () => {
  expect(Object.keys(recommended).length).toBeGreaterThan(50);
  for (const [flag, value] of Object.entries(recommended)) {
    expect({ flag, configured: flag in context }).toEqual({ flag, configured: true });
    if (!(flag in KEPT_OFF)) expect({ flag, value: context[flag] }).toEqual({ flag, value });
  }
});
