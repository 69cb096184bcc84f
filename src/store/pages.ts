/** Reading a mailbox in keyset pages, the same way for every store. */
import type { MessageQuery } from './interface.ts';
import type { MessageRecord } from './types.ts';

/** Rows per page: enough to amortise a query, few enough that a byte budget stops early. */
export const MAILBOX_PAGE = 256;

/** The position of the last row read, in the mailbox's order (sent_at, the other para, idx). */
export interface MailboxKey {
  readonly sentAt: number;
  readonly other: number;
  readonly index: number;
}

export type ReadPage = (after: MailboxKey | null, limit: number) => Promise<MessageRecord[]>;

/** A mailbox's rows, page after page, up to `query.limit` (none: all). */
export async function* mailboxPages(
  kind: 'inbox' | 'outbox',
  query: MessageQuery,
  readPage: ReadPage,
): AsyncGenerator<MessageRecord> {
  let remaining = query.limit === undefined || query.limit < 0 ? Number.POSITIVE_INFINITY : query.limit;
  let after: MailboxKey | null = null;
  while (remaining > 0) {
    const want = Math.min(MAILBOX_PAGE, remaining);
    const page = await readPage(after, want);
    for (const row of page) yield row;
    if (page.length < want) return;
    remaining -= page.length;
    const last = page[page.length - 1]!;
    after = {
      sentAt: last.sentAt,
      other: kind === 'inbox' ? last.sender : last.recipient,
      index: last.index,
    };
  }
}

/** Every row of an async iterable, in order (Node 20 has no Array.fromAsync). */
export async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const row of rows) all.push(row);
  return all;
}
