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

/**
 * One page's query parameters, in the order both stores' page queries take them: the para, the
 * block range (from the last row read on), unverified rows shown (1) or not (0), the last row's
 * key (all -1 on the first page: before any row), and the row limit.
 */
export type PageParams = [number, number, number, 0 | 1, number, number, number, number];

export type ReadPage = (params: PageParams) => Promise<MessageRecord[]>;

const MAX_U32 = 0xffffffff;

/** A mailbox's rows, page after page, up to `query.limit` (none: all). */
export async function* mailboxPages(
  kind: 'inbox' | 'outbox',
  paraId: number,
  query: MessageQuery,
  readPage: ReadPage,
): AsyncGenerator<MessageRecord> {
  let remaining = query.limit === undefined || query.limit < 0 ? Number.POSITIVE_INFINITY : query.limit;
  let after: MailboxKey | null = null;
  while (remaining > 0) {
    const want = Math.min(MAILBOX_PAGE, remaining);
    const page = await readPage([
      paraId,
      after?.sentAt ?? query.fromBlock ?? 0,
      query.toBlock ?? MAX_U32,
      query.includeUnverified ? 1 : 0,
      after?.sentAt ?? -1,
      after?.other ?? -1,
      after?.index ?? -1,
      want,
    ]);
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
