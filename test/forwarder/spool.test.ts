import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../lib/forwarder/spool';

const dir = mkdtempSync(join(tmpdir(), 'spool-'));

describe('Spool', () => {
  it('keeps events in arrival order, once per id, until removed', () => {
    const spool = new Spool(':memory:');
    expect(spool.add('a', '{"n":1}')).toEqual({ added: true, dropped: 0 });
    expect(spool.add('b', '{"n":2}')).toEqual({ added: true, dropped: 0 });
    expect(spool.add('a', '{"n":1}')).toEqual({ added: false, dropped: 0 });
    expect(spool.depth()).toBe(2);
    expect(spool.head()).toMatchObject({ id: 'a', payload: '{"n":1}', attempts: 0 });
    spool.markFailed('a', 'HTTP 503', 12345);
    expect(spool.head()).toMatchObject({ id: 'a', attempts: 1, nextAttemptAt: 12345, lastError: 'HTTP 503' });
    spool.remove('a');
    expect(spool.head()?.id).toBe('b');
    spool.close();
  });

  it('drops the oldest when over capacity, and expires old events', () => {
    const spool = new Spool(':memory:', { maxEvents: 3, maxAgeMs: 1000 });
    for (const id of ['1', '2', '3']) spool.add(id, '{}', 0);
    expect(spool.add('4', '{}', 500)).toEqual({ added: true, dropped: 1 });
    expect(spool.head()?.id).toBe('2');
    expect(spool.expire(1200)).toBe(2);
    expect(spool.head()?.id).toBe('4');
    spool.close();
  });

  it('buries an event the relay will never take, keeping it out of the queue', () => {
    const spool = new Spool(':memory:');
    spool.add('bad', '{}');
    spool.bury('bad', 'HTTP 400');
    expect([spool.depth(), spool.deadCount()]).toEqual([0, 1]);
    spool.close();
  });

  it('survives the process being killed right after a write (kill -9)', () => {
    const file = join(dir, 'killed.db');
    // A child writes, then kills itself with SIGKILL before any orderly close.
    const script = `
      const { Spool } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'forwarder', 'spool.ts'))});
      const s = new Spool(${JSON.stringify(file)});
      s.add('survivor-1', '{"n":1}'); s.add('survivor-2', '{"n":2}');
      process.kill(process.pid, 'SIGKILL');`;
    try {
      execFileSync(join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx'), ['-e', script], { stdio: 'pipe' });
    } catch (e) {
      // tsx runs the script in a child: either it or tsx reports the SIGKILL.
      const { signal, status } = e as { signal?: string; status?: number };
      expect(signal === 'SIGKILL' || status === 128 + 9).toBe(true);
    }
    const spool = new Spool(file);
    expect(spool.depth()).toBe(2);
    expect(spool.head()?.id).toBe('survivor-1');
    spool.close();
  });
});
