/** Local mode's template cache: one entry per set of inputs, written whole, read back as written. */
import { existsSync } from 'node:fs';
import { TemplateCache } from '../../lib/local/template-cache';

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
