/**
 * One owner per store. The owner holds an exclusive SQLite lock on `<db>.lock` (an OS file lock,
 * released by the kernel when the process dies, so a SIGKILL never leaves a stale lock), and says
 * who it is in `<db>.owner` so a second process can name the holder. The database itself stays
 * readable by other tools (backups, inspection).
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';

export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
}

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

function describeOwner(path: string): string {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return `process ${owner.pid} on ${owner.host}, since ${owner.since}`;
  } catch {
    return 'another process (no owner file)';
  }
}

export class StoreLock {
  readonly #lockDb: Database.Database;
  readonly #ownerPath: string;

  private constructor(lockDb: Database.Database, ownerPath: string) {
    this.#lockDb = lockDb;
    this.#ownerPath = ownerPath;
  }

  /** Takes the lock for `dbPath` or throws a StoreLockedError naming the holder. */
  static acquire(dbPath: string): StoreLock {
    const ownerPath = `${dbPath}.owner`;
    const lockDb = new Database(`${dbPath}.lock`, { timeout: 0 });
    try {
      lockDb.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until close.
      lockDb.exec('CREATE TABLE IF NOT EXISTS lock (id INTEGER PRIMARY KEY); BEGIN EXCLUSIVE; COMMIT;');
    } catch (error) {
      lockDb.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') {
        throw new StoreLockedError(
          `the database ${dbPath} is in use by ${describeOwner(ownerPath)}; stop it or choose another --db`,
        );
      }
      throw error;
    }
    const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeFileSync(ownerPath, `${JSON.stringify(owner)}\n`);
    return new StoreLock(lockDb, ownerPath);
  }

  release(): void {
    if (!this.#lockDb.open) return;
    rmSync(this.#ownerPath, { force: true });
    this.#lockDb.close();
  }
}

/** The identity of a file (device and inode), to notice it being deleted or replaced. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

export function fileIdentity(path: string): FileIdentity | null {
  try {
    const { dev, ino } = statSync(path);
    return { dev, ino };
  } catch {
    return null;
  }
}
