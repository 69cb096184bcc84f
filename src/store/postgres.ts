/** The PostgreSQL store (placeholder while it is written). */
import type { Store } from './interface.ts';

export const PgStore = {
  async open(url: string): Promise<Store> {
    throw new Error(`PostgreSQL stores are not available yet: ${url}`);
  },
};
