/** Opens the store a `--db` value names: a PostgreSQL URL, else a SQLite file path. */
import type { Store } from './interface.ts';
import { MessageStore } from './store.ts';
import { isPostgresUrl } from './url.ts';

export async function openStore(db: string): Promise<Store> {
  if (isPostgresUrl(db)) {
    const { PgStore } = await import('./postgres.ts');
    return PgStore.open(db);
  }
  return MessageStore.open(db);
}
