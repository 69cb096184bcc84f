/**
 * The mesh's erasure-coded history in the SQLite store (schema 8, DESIGN.md §16). Aging a block
 * is one transaction: its slices' rows in, each channel's head moved on, its messages out, the
 * aged mark moved — a crash leaves either the full block or its slices, never neither.
 */
import type Database from 'better-sqlite3';
import type { SliceHead } from '../derive/mesh-slice.ts';
import { concatBytes, type Hex, readU32, toHex, u32le } from '../protocol/bytes.ts';
import { blob, hexOf, type MessageRow, messageFromRow } from './rows.ts';
import type { MessageRecord } from './types.ts';

/** What a member keeps of one aged (block, recipient) slice. */
export interface MeshSliceRow {
  readonly block: number;
  readonly blockHash: Hex;
  readonly recipient: number;
  /** Members when it was coded (n), and this member's chunk index. */
  readonly members: number;
  readonly index: number;
  /** Bytes of the SCALE slice. */
  readonly length: number;
  readonly messageCount: number;
  readonly root: Hex;
  readonly branch: readonly Hex[];
  readonly chunk: Uint8Array;
  readonly heads: readonly SliceHead[];
}

export interface MeshSizes {
  readonly slices: number;
  readonly agedUpTo: number;
  /** Bytes the aged messages took in full (data and their four hashes each), as they were aged. */
  readonly fullBytes: number;
  readonly chunkBytes: number;
  /** Erasure roots and Merkle branches. */
  readonly rootBytes: number;
  readonly headBytes: number;
}

/** Per message beyond its data: hash, candidate hash, block hash, MQC head. */
export const MESSAGE_HASH_BYTES = 4 * 32;

interface SliceDbRow {
  block: number;
  recipient: number;
  block_hash: Buffer;
  members: number;
  chunk_index: number;
  length: number;
  message_count: number;
  root: Buffer;
  branch: Buffer;
  chunk: Buffer;
  heads: Buffer;
}

/** Heads as bytes: per sender u32 ‖ has-before u8 ‖ before [32] ‖ after [32]. */
function encodeHeads(heads: readonly SliceHead[]): Uint8Array {
  return concatBytes(
    heads.flatMap((h) => [
      u32le(h.sender),
      Uint8Array.of(h.before ? 1 : 0),
      h.before ? blob(h.before) : new Uint8Array(32),
      blob(h.after),
    ]),
  );
}

function decodeHeads(bytes: Uint8Array): SliceHead[] {
  const heads: SliceHead[] = [];
  for (let pos = 0; pos + 69 <= bytes.length; pos += 69)
    heads.push({
      sender: readU32(bytes, pos),
      before: bytes[pos + 4] ? toHex(bytes.subarray(pos + 5, pos + 37)) : null,
      after: toHex(bytes.subarray(pos + 37, pos + 69)),
    });
  return heads;
}

function sliceFromRow(row: SliceDbRow): MeshSliceRow {
  const branch: Hex[] = [];
  for (let pos = 0; pos < row.branch.length; pos += 32)
    branch.push(toHex(row.branch.subarray(pos, pos + 32)));
  return {
    block: row.block,
    blockHash: hexOf(row.block_hash),
    recipient: row.recipient,
    members: row.members,
    index: row.chunk_index,
    length: row.length,
    messageCount: row.message_count,
    root: hexOf(row.root),
    branch,
    chunk: new Uint8Array(row.chunk),
    heads: decodeHeads(row.heads),
  };
}

function prepare(db: Database.Database) {
  const s = (sql: string) => db.prepare(sql);
  return {
    progress: s('SELECT aged_up_to, full_bytes FROM mesh_progress WHERE id = 0'),
    setProgress: s(`INSERT INTO mesh_progress (id, aged_up_to, full_bytes) VALUES (0, ?, ?)
      ON CONFLICT (id) DO UPDATE SET aged_up_to = excluded.aged_up_to, full_bytes = mesh_progress.full_bytes + excluded.full_bytes`),
    blockHash: s('SELECT hash FROM blocks WHERE number = ?'),
    firstBlock: s('SELECT MIN(number) AS number FROM blocks'),
    messagesAt: s(
      'SELECT * FROM messages WHERE sent_at = ? AND verified = 1 ORDER BY recipient, sender, idx',
    ),
    deleteMessagesAt: s('DELETE FROM messages WHERE sent_at = ?'),
    meshHead: s('SELECT head FROM mesh_heads WHERE sender = ? AND recipient = ?'),
    historyHead: s(
      'SELECT head_before, complete_from FROM channel_history WHERE sender = ? AND recipient = ?',
    ),
    setHead: s(`INSERT INTO mesh_heads (sender, recipient, head) VALUES (?, ?, ?)
      ON CONFLICT (sender, recipient) DO UPDATE SET head = excluded.head`),
    historyFrom:
      s(`UPDATE channel_history SET complete_from = MAX(complete_from, $from), head_before = $head, head_known = 1
      WHERE sender = $sender AND recipient = $recipient AND complete_from < $from`),
    insertSlice: s(`INSERT OR REPLACE INTO mesh_slices
      (block, recipient, block_hash, members, chunk_index, length, message_count, root, branch, chunk, heads)
      VALUES ($block, $recipient, $block_hash, $members, $chunk_index, $length, $message_count, $root, $branch, $chunk, $heads)`),
    slices: s(
      'SELECT * FROM mesh_slices WHERE recipient = ? AND block >= ? AND block <= ? ORDER BY block LIMIT ?',
    ),
    sizes: s(`SELECT COUNT(*) AS slices, COALESCE(SUM(length(chunk)), 0) AS chunk_bytes,
      COALESCE(SUM(length(root) + length(branch)), 0) AS root_bytes, COALESCE(SUM(length(heads)), 0) AS head_bytes
      FROM mesh_slices`),
    prune: s('DELETE FROM mesh_slices WHERE block < ?'),
  };
}

/** The mesh's part of a store (SQLite only; a PostgreSQL store has none). */
export interface MeshStore {
  agedUpTo(): number;
  /** The lowest block the store holds (where aging starts on a store that aged nothing yet). */
  firstBlock(): number | null;
  blockToAge(block: number): { hash: Hex | null; messages: MessageRecord[] };
  headBefore(sender: number, recipient: number, block: number): Hex | null;
  age(block: number, slices: readonly MeshSliceRow[], fullBytes: number): void;
  slices(recipient: number, fromBlock: number, toBlock: number, limit: number): MeshSliceRow[];
  sizes(): MeshSizes;
}

export class SqliteMeshStore implements MeshStore {
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = prepare(db);
  }

  /** The last block aged (0: none yet). */
  agedUpTo(): number {
    return (this.#s.progress.get() as { aged_up_to: number } | undefined)?.aged_up_to ?? 0;
  }

  firstBlock(): number | null {
    return (this.#s.firstBlock.get() as { number: number | null }).number;
  }

  /** Block `block`'s hash and verified messages (by recipient, sender, index), as aging reads them. */
  blockToAge(block: number): { hash: Hex | null; messages: MessageRecord[] } {
    const hash = this.#s.blockHash.get(block) as { hash: Buffer } | undefined;
    const rows = this.#s.messagesAt.all(block) as MessageRow[];
    return { hash: hash ? hexOf(hash.hash) : null, messages: rows.map(messageFromRow) };
  }

  /** The channel's head just before `block`: after the last aged block, else before the store's history. */
  headBefore(sender: number, recipient: number, block: number): Hex | null {
    const aged = this.#s.meshHead.get(sender, recipient) as { head: Buffer } | undefined;
    if (aged) return hexOf(aged.head);
    const history = this.#s.historyHead.get(sender, recipient) as
      | { head_before: Buffer | null; complete_from: number }
      | undefined;
    return history && history.complete_from <= block && history.head_before
      ? hexOf(history.head_before)
      : null;
  }

  /** Ages `block`: its slices in, channel heads on, its messages out, all at once. */
  age(block: number, slices: readonly MeshSliceRow[], fullBytes: number): void {
    this.#db.transaction(() => {
      for (const slice of slices) {
        this.#s.insertSlice.run({
          block: slice.block,
          recipient: slice.recipient,
          block_hash: blob(slice.blockHash),
          members: slice.members,
          chunk_index: slice.index,
          length: slice.length,
          message_count: slice.messageCount,
          root: blob(slice.root),
          branch: concatBytes(slice.branch.map((h) => blob(h))),
          chunk: slice.chunk,
          heads: encodeHeads(slice.heads),
        });
        for (const head of slice.heads) {
          this.#s.setHead.run(head.sender, slice.recipient, blob(head.after));
          // The channel's history held in full now starts after this block (peers are told so).
          const from = {
            from: block + 1,
            head: blob(head.after),
            sender: head.sender,
            recipient: slice.recipient,
          };
          this.#s.historyFrom.run(from);
        }
      }
      this.#s.deleteMessagesAt.run(block);
      this.#s.setProgress.run(block, fullBytes);
    })();
  }

  slices(recipient: number, fromBlock: number, toBlock: number, limit: number): MeshSliceRow[] {
    return (this.#s.slices.all(recipient, fromBlock, toBlock, limit) as SliceDbRow[]).map(sliceFromRow);
  }

  sizes(): MeshSizes {
    const row = this.#s.sizes.get() as {
      slices: number;
      chunk_bytes: number;
      root_bytes: number;
      head_bytes: number;
    };
    const progress = this.#s.progress.get() as { aged_up_to: number; full_bytes: number } | undefined;
    return {
      slices: row.slices,
      agedUpTo: progress?.aged_up_to ?? 0,
      fullBytes: progress?.full_bytes ?? 0,
      chunkBytes: row.chunk_bytes,
      rootBytes: row.root_bytes,
      headBytes: row.head_bytes,
    };
  }

  /** Retention: aged slices of blocks before `before` go too. */
  prune(before: number): void {
    this.#s.prune.run(before);
  }
}
