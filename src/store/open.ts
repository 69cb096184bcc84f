/** Opens the store a `--db` value names: a PostgreSQL URL, else a SQLite file path. */
import type { Store } from './interface.ts';
import { MessageStore } from './store.ts';

/** True when `--db` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

export async function openStore(db: string): Promise<Store> {
  if (isPostgresUrl(db)) {
    const { PgStore } = await import('./postgres.ts');
    return PgStore.open(db);
  }
  return MessageStore.open(db);
}
