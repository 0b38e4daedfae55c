/**
 * One local relay per folder: `.relay/relay.lock` holds the pid of the relay that owns the
 * folder's state (the dynalite table takes LevelDB's lock, the lane journals are appended to), so
 * a second `npm start` in the same folder is refused with who holds it, before it touches anything.
 * A lock left by a relay that died is taken over.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'relay.lock';

/** Another relay (alive) holds this folder. */
export class RelayRunningError extends Error {
  constructor(public readonly pid: number, public readonly stateDir: string) {
    super(`a local relay is already running in this folder (pid ${pid}, state in ${stateDir})`);
    this.name = 'RelayRunningError';
  }
}

/** Whether a process of this pid runs (one of another user's too). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StateLock {
  private constructor(private readonly file: string) {}

  /** Takes the folder's lock, or throws {@link RelayRunningError} naming the relay that has it. */
  static acquire(stateDir: string): StateLock {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = join(stateDir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return new StateLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(readLockSafely(file));
      if (Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) throw new RelayRunningError(holder, stateDir);
      // Left by a relay that died: take it over.
      try {
        unlinkSync(file);
      } catch {
        // another start took it over first; try again
      }
    }
    throw new Error(`could not take ${file}: delete it if no local relay runs in this folder`);
  }

  release(): void {
    try {
      if (Number(readLockSafely(this.file)) === process.pid) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}

function readLockSafely(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
