/**
 * docs/architecture.md §4a, the register of outside behaviour: every row complete, with a source
 * and how sure; every assumed row with a default that works either way or a doctor check; every
 * row relay doctor points at present.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGISTER } from '../../lib/doctor/register';
import { CHECK_IDS } from '../../lib/doctor/results';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'architecture.md'), 'utf8');
const section = doc.slice(doc.indexOf('## 4a. Register of outside behaviour'), doc.indexOf('## 5. '));
const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Row ') && !l.startsWith('| ---'))
  .map((l) => l.slice(2, -2).split(' | ').map((c) => c.trim()));

it('has a row per outside behaviour, each with all seven columns filled', () => {
  expect(rows.length).toBeGreaterThanOrEqual(25);
  for (const row of rows) expect({ row: row[0], columns: row.length, empty: row.filter((c) => c === '').length }).toEqual({ row: row[0], columns: 7, empty: 0 });
  expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length);
});

it('gives every row a source and says how sure it is', () => {
  for (const [name, , source, sure] of rows) {
    expect({ name, sure: /documented|publicly reported|assumed/.test(sure) }).toEqual({ name, sure: true });
    expect({ name, source: source.length > 10 }).toEqual({ name, source: true });
  }
});

it('an assumed row has a default that works either way, or a doctor check that names it', () => {
  for (const [name, relied, , , , broken, doctor] of rows.filter((r) => r[3].includes('assumed'))) {
    const checks = CHECK_IDS.filter((id) => doctor.includes(id));
    const eitherWay = /either way/.test(`${relied} ${broken}`);
    expect({ name, covered: checks.length > 0 || eitherWay }).toEqual({ name, covered: true });
  }
});

it('holds every row relay doctor points at', () => {
  const names = rows.map((r) => r[0]);
  for (const row of Object.values(REGISTER)) expect(names).toContain(row);
});

it('names the behaviours issue 18 asked for', () => {
  for (const name of ['ingest trust', 'proxy headers', 'Discord Authorization', 'apigateway:invoke', 'path variables', 'secret in URI', 'pipe FIFO batches', 'pipe start', 'express metrics', 'EventBridge FIFO target', 'DynamoDB TTL', 'wait seconds', 'payload limits', 'Discord wait', 'Discord rate limits', 'Discord 10008/10015']) {
    expect(rows.map((r) => r[0])).toContain(name);
  }
});
