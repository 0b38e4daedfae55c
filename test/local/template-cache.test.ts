/** Local mode's template cache: one entry per set of inputs, written whole, read back as written. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATES_KEPT, TemplateCache } from '../../lib/local/template-cache';

it('keys an entry on the inputs (and the sources): other inputs, another entry', () => {
  const a = TemplateCache.for({ config: { stackName: 'A' }, test: process.pid })!;
  const b = TemplateCache.for({ config: { stackName: 'B' }, test: process.pid })!;
  expect(a).toBeDefined();
  expect((a as unknown as { file: string }).file).not.toBe((b as unknown as { file: string }).file);
  expect((TemplateCache.for({ config: { stackName: 'A' }, test: process.pid }) as unknown as { file: string }).file).toBe((a as unknown as { file: string }).file);
});

it('reads back what was written, and nothing before it was', () => {
  const entry = TemplateCache.for({ unique: `${process.pid}-${Date.now()}` })!;
  expect(entry.read()).toBeUndefined();
  entry.write({ Resources: { X: { Type: 'AWS::SQS::Queue' } } });
  expect(entry.read()).toEqual({ Resources: { X: { Type: 'AWS::SQS::Queue' } } });
  const file = (entry as unknown as { file: string }).file;
  expect(existsSync(file)).toBe(true);
  expect(file).toContain(`node_modules/.cache/discord-event-relay/local-templates/`);
});

it(`keeps the ${TEMPLATES_KEPT} newest templates, not one per change forever`, () => {
  // A project of its own: its lockfile, cdk.json and one source under lib/.
  const root = mkdtempSync(join(tmpdir(), 'relay-cache-'));
  mkdirSync(join(root, 'lib', 'local'), { recursive: true });
  for (const [file, text] of [['package-lock.json', '{}'], ['cdk.json', '{}'], ['lib/stack.ts', 'export {};']]) writeFileSync(join(root, file), text);
  const from = join(root, 'lib', 'local');
  const files: string[] = [];
  for (let i = 0; i < TEMPLATES_KEPT + 3; i++) {
    const entry = TemplateCache.for({ i }, from)!;
    entry.write({ i });
    const file = (entry as unknown as { file: string }).file;
    utimesSync(file, 1_000_000 + i, 1_000_000 + i); // written in this order
    files.push(file);
  }
  const kept = readdirSync(join(files[0], '..'));
  expect(kept).toHaveLength(TEMPLATES_KEPT);
  expect(existsSync(files.at(-1)!)).toBe(true);
  expect(existsSync(files[0])).toBe(false);
});
