/**
 * The forwarder's durable queue (node:sqlite, no native build): every event is written here before
 * its first send and removed only once the relay has accepted it. WAL with synchronous=FULL, so
 * an accepted write survives `kill -9` and power loss. Ordered by arrival; bounded by count and age.
 */
import type { DatabaseSync as Database } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SpooledEvent {
  readonly seq: number;
  readonly id: string;
  readonly payload: string;
  readonly createdAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
}

export interface SpoolOptions {
  /** @default 10000 */
  readonly maxEvents?: number;
  /** @default 24 hours */
  readonly maxAgeMs?: number;
}

export interface AddResult {
  /** False when an event with this id was already queued (the same gateway event twice). */
  readonly added: boolean;
  /** Oldest events dropped to stay within maxEvents. */
  readonly dropped: number;
}

let sqlite: typeof import('node:sqlite') | undefined;

/** node:sqlite prints an ExperimentalWarning on load in Node 24; silence that one warning only. */
function loadSqlite(): typeof import('node:sqlite') {
  if (!sqlite) {
    const listeners = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', (w) => {
      if (w.name === 'ExperimentalWarning' && /SQLite/i.test(w.message)) return;
      for (const l of listeners) l(w);
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sqlite = require('node:sqlite') as typeof import('node:sqlite');
  }
  return sqlite;
}

export class Spool {
  private readonly db: Database;
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;

  constructor(public readonly file: string, options: SpoolOptions = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new (loadSqlite().DatabaseSync)(file);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE TABLE IF NOT EXISTS dead (
        id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at INTEGER NOT NULL, failed_at INTEGER NOT NULL, error TEXT NOT NULL
      );
    `);
    this.maxEvents = options.maxEvents ?? 10_000;
    this.maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
  }

  /** Queues an event (idempotent by id). Drops the oldest when full. */
  add(id: string, payload: string, now = Date.now()): AddResult {
    const inserted = this.db.prepare('INSERT OR IGNORE INTO events (id, payload, created_at) VALUES (?, ?, ?)').run(id, payload, now);
    let dropped = 0;
    const over = this.depth() - this.maxEvents;
    if (over > 0) {
      dropped = Number(this.db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)').run(over).changes);
    }
    return { added: Number(inserted.changes) === 1, dropped };
  }

  /** The oldest queued event, due or not. */
  head(): SpooledEvent | undefined {
    return this.oldest(1)[0];
  }

  /** The `limit` oldest queued events, oldest first, due or not. */
  oldest(limit: number): SpooledEvent[] {
    const rows = this.db.prepare('SELECT seq, id, payload, created_at, attempts, next_attempt_at, last_error FROM events ORDER BY seq LIMIT ?').all(limit) as
      { seq: number; id: string; payload: string; created_at: number; attempts: number; next_attempt_at: number; last_error: string | null }[];
    return rows.map((row) => ({ seq: row.seq, id: row.id, payload: row.payload, createdAt: row.created_at, attempts: row.attempts, nextAttemptAt: row.next_attempt_at, lastError: row.last_error }));
  }

  /** Removes events the relay accepted; several in one transaction (one sync to disk). */
  remove(...ids: string[]): void {
    this.db.exec('BEGIN');
    try {
      const del = this.db.prepare('DELETE FROM events WHERE id = ?');
      for (const id of ids) del.run(id);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  markFailed(id: string, error: string, nextAttemptAt: number): void {
    this.db.prepare('UPDATE events SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?').run(nextAttemptAt, error.slice(0, 500), id);
  }

  /** Moves an event the relay will never accept out of the queue, keeping it for inspection. */
  bury(id: string, error: string, now = Date.now()): void {
    this.db.exec('BEGIN');
    try {
      this.db.prepare('INSERT OR REPLACE INTO dead (id, payload, created_at, failed_at, error) SELECT id, payload, created_at, ?, ? FROM events WHERE id = ?').run(now, error.slice(0, 500), id);
      this.db.prepare('DELETE FROM events WHERE id = ?').run(id);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Drops events older than maxAgeMs; returns how many. */
  expire(now = Date.now()): number {
    return Number(this.db.prepare('DELETE FROM events WHERE created_at < ?').run(now - this.maxAgeMs).changes);
  }

  depth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  deadCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM dead').get() as { n: number }).n;
  }

  oldestCreatedAt(): number | undefined {
    return (this.db.prepare('SELECT min(created_at) AS t FROM events').get() as { t: number | null }).t ?? undefined;
  }

  get capacity(): number {
    return this.maxEvents;
  }

  close(): void {
    this.db.close();
  }
}
