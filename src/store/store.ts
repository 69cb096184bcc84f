/**
 * The durable message store: SQLite (better-sqlite3) in WAL mode. The only code that touches the
 * database. Each finalized block is written in one transaction together with the cursor, so a crash
 * at any instant leaves the store at a block boundary (DESIGN.md §4).
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Hex } from '../protocol/bytes.ts';
import type { FailureSummary, MessageQuery, Store, StoreCounts } from './interface.ts';
import { type FileIdentity, fileIdentity, StoreLock, StoreLockedError } from './lock.ts';
import { SqliteMeshStore } from './mesh.ts';
import { collect, mailboxPages } from './pages.ts';
import {
  blob,
  type CandidateRow,
  type CandidateUpdateRow,
  type ChannelRow,
  candidateFromRow,
  channelFromRow,
  type FailureRow,
  type HistoryRow,
  headBeforeFrom,
  hexOf,
  historyFromFirstBlock,
  historyFromRow,
  JOURNEYS_FROM_SQL,
  JOURNEYS_PER_ID,
  type JourneyDbRow,
  journeyFromRow,
  journeysFromParams,
  type MessageRow,
  messageFromRow,
  pruneBefore,
  storedBlockFrom,
} from './rows.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';
import {
  type BlockWrite,
  type CandidateRecord,
  type ChannelHistory,
  type ChannelRecord,
  type Cursor,
  type GapBridge,
  type JourneyQuery,
  type JourneyRow,
  type MessageRecord,
  parseMessageId,
} from './types.ts';

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

function openError(path: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof StoreLockedError) return new StoreError(error.message);
  const message = (error as Error).message;
  return new StoreError(
    /not a database|malformed|corrupt/i.test(message)
      ? `the database ${path} is corrupt or not a SQLite file (${message}); restore it from a backup or move it aside`
      : `cannot open the database ${path}: ${message}`,
  );
}

/** Every statement the store runs, prepared once per open. */
function prepareStatements(db: Database.Database) {
  const s = (sql: string) => db.prepare(sql);
  return {
    cursor: s('SELECT number, hash FROM cursor WHERE id = 0'),
    setCursor: s(
      'INSERT INTO cursor (id, number, hash) VALUES (0, ?, ?) ON CONFLICT (id) DO UPDATE SET number = excluded.number, hash = excluded.hash',
    ),
    insertBlock: s('INSERT INTO blocks (number, hash, parent_hash, message_count) VALUES (?, ?, ?, ?)'),
    blockHash: s('SELECT hash FROM blocks WHERE number = ?'),
    insertCandidate:
      s(`INSERT INTO candidates (candidate_hash, para_id, descriptor, commitments, commitments_hash, relay_parent,
      backed_in, core_index, status, enacted_in, verified, reason, availability_votes, availability_threshold, hrmp_watermark)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (candidate_hash) DO NOTHING`),
    updateCandidate: s(
      'UPDATE candidates SET status = ?, enacted_in = ?, availability_votes = ?, settled_in = ? WHERE candidate_hash = ?',
    ),
    candidatesActive: s(`SELECT * FROM candidates WHERE (backed_in >= $from OR settled_in >= $from)
      AND ($para IS NULL OR para_id = $para) ORDER BY backed_in, candidate_hash LIMIT $limit`),
    candidate: s('SELECT * FROM candidates WHERE candidate_hash = ?'),
    pendingCandidates: s("SELECT * FROM candidates WHERE status = 'backed'"),
    insertMessage:
      s(`INSERT INTO messages (recipient, sent_at, sender, idx, data, hash, candidate_hash, block_hash, mqc_head_after, verified, reason, source, peer, position)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    history: s('SELECT * FROM channel_history WHERE sender = ? AND recipient = ?'),
    upsertHistory:
      s(`INSERT INTO channel_history (sender, recipient, complete_from, head_before, head_known, peer)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sender, recipient) DO UPDATE SET complete_from = excluded.complete_from,
      head_before = excluded.head_before, head_known = excluded.head_known, peer = excluded.peer`),
    lastBefore: s(`SELECT mqc_head_after FROM messages WHERE recipient = ? AND sender = ? AND sent_at < ?
      ORDER BY sent_at DESC, idx DESC LIMIT 1`),
    channelPage:
      s(`SELECT * FROM messages WHERE recipient = ? AND sender = ? AND sent_at >= ? AND sent_at <= ?
      ORDER BY sent_at, idx LIMIT ?`),
    upsertChannel:
      s(`INSERT INTO channels (sender, recipient, max_capacity, max_total_size, max_message_size, msg_count, total_size, mqc_head, verified_at, last_sent_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender, recipient) DO UPDATE SET
      max_capacity = excluded.max_capacity, max_total_size = excluded.max_total_size, max_message_size = excluded.max_message_size,
      msg_count = excluded.msg_count, total_size = excluded.total_size, mqc_head = excluded.mqc_head,
      verified_at = excluded.verified_at, last_sent_at = COALESCE(excluded.last_sent_at, channels.last_sent_at)`),
    upsertWatermark: s(
      'INSERT INTO watermarks (para_id, watermark) VALUES (?, ?) ON CONFLICT (para_id) DO UPDATE SET watermark = excluded.watermark',
    ),
    insertFailure: s(
      'INSERT INTO failures (block_number, kind, reason, para_id, candidate_hash) VALUES (?, ?, ?, ?, ?)',
    ),
    // Keyset pages: rows after (sent_at, other para, idx) of the last row read.
    inboxPage:
      s(`SELECT * FROM messages WHERE recipient = ? AND sent_at BETWEEN ? AND ? AND (verified = 1 OR ?)
      AND (sent_at, sender, idx) > (?, ?, ?) ORDER BY sent_at, sender, idx LIMIT ?`),
    outboxPage: s(`SELECT * FROM messages WHERE sender = ? AND sent_at BETWEEN ? AND ? AND (verified = 1 OR ?)
      AND (sent_at, recipient, idx) > (?, ?, ?) ORDER BY sent_at, recipient, idx LIMIT ?`),
    message: s('SELECT * FROM messages WHERE recipient = ? AND sent_at = ? AND sender = ? AND idx = ?'),
    candidateMessages: s('SELECT * FROM messages WHERE candidate_hash = ? ORDER BY recipient, idx'),
    channel: s('SELECT * FROM channels WHERE sender = ? AND recipient = ?'),
    channels: s(
      'SELECT * FROM channels WHERE (? IS NULL OR sender = ?) AND (? IS NULL OR recipient = ?) ORDER BY sender, recipient',
    ),
    watermark: s('SELECT watermark FROM watermarks WHERE para_id = ?'),
    watermarks: s('SELECT para_id, watermark FROM watermarks'),
    countMessages: s('SELECT COUNT(*) AS total, COALESCE(SUM(verified = 0), 0) AS unverified FROM messages'),
    countCandidates: s('SELECT COUNT(*) AS total FROM candidates'),
    countBlocks: s('SELECT COUNT(*) AS total FROM blocks'),
    failuresByKind: s('SELECT kind, COUNT(*) AS total FROM failures GROUP BY kind'),
    recentFailures: s('SELECT block_number, kind, reason, para_id FROM failures ORDER BY id DESC LIMIT ?'),
    blockNumber: s('SELECT number FROM blocks WHERE hash = ?'),
    storedBlock: s('SELECT number, hash, parent_hash FROM blocks WHERE number = ?'),
    blockMessages: s('SELECT * FROM messages WHERE sent_at = ? ORDER BY recipient, sender, idx'),
    blockCandidates: s('SELECT * FROM candidates WHERE backed_in = ? OR settled_in = ? ORDER BY id'),
    blockFailures: s('SELECT * FROM failures WHERE block_number = ? ORDER BY id'),
    blockCandidateUpdates: s(
      'SELECT candidate_hash, status, availability_votes FROM candidate_updates WHERE block_number = ? ORDER BY position',
    ),
    insertCandidateUpdate: s(
      'INSERT INTO candidate_updates (block_number, position, candidate_hash, status, availability_votes) VALUES (?, ?, ?, ?, ?)',
    ),
    pruneCandidateUpdates: s('DELETE FROM candidate_updates WHERE block_number < ?'),
    firstBlock: s('SELECT MIN(number) AS first FROM blocks'),
    insertGap: s('INSERT INTO gaps (from_block, to_block) VALUES (?, ?)'),
    insertWatermarkSeed: s(
      'INSERT OR REPLACE INTO watermark_seeds (para_id, at, watermark) VALUES (?, ?, ?)',
    ),
    gaps: s('SELECT from_block, to_block FROM gaps ORDER BY from_block'),
    // A skipped range that began after `at` and by `number`.
    gapBetween: s('SELECT 1 FROM gaps WHERE from_block > ? AND from_block <= ? LIMIT 1'),
    dropPending: s("DELETE FROM candidates WHERE status = 'backed'"),
    // The watermark as of `number`: from the para's last enactment by then, or the value the node
    // reported where the store (re)started, whichever is later.
    watermarkAt: s(`SELECT watermark, at FROM (
        SELECT hrmp_watermark AS watermark, enacted_in AS at FROM candidates
          WHERE para_id = @para AND status = 'included' AND enacted_in <= @upTo
        UNION ALL SELECT watermark, at FROM watermark_seeds WHERE para_id = @para AND at <= @upTo
      ) ORDER BY at DESC LIMIT 1`),
    channelRange:
      s(`SELECT * FROM messages WHERE recipient = ? AND sender = ? AND sent_at > ? AND sent_at <= ?
      ORDER BY sent_at, idx`),
    // Per recipient, on the inbox index: a range delete, not a scan of every stored message.
    pruneMessages: s('DELETE FROM messages WHERE recipient = ? AND sent_at < ? AND sent_at <= ?'),
    pruneBlocks: s('DELETE FROM blocks WHERE number < ?'),
    pruneCandidates: s("DELETE FROM candidates WHERE status != 'backed' AND backed_in < ?"),
    pruneJourneys: s('DELETE FROM journeys WHERE sent_at < ?'),
    upsertJourney: s(`INSERT INTO journeys (key, id, message_hash, sender, recipient, sent_at, body)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body`),
    journeysById: s(
      `SELECT * FROM journeys WHERE id = $id OR message_hash = $id ORDER BY sent_at, key LIMIT ${JOURNEYS_PER_ID}`,
    ),
    journeysFrom: s(JOURNEYS_FROM_SQL),
  };
}

/** The SQLite store (better-sqlite3, WAL): the embedded default behind `Store`. */
export class MessageStore implements Store {
  readonly path: string;
  /** True when this open created the database (there was no file). */
  readonly created: boolean;
  readonly mesh: SqliteMeshStore;
  readonly #db: Database.Database;
  readonly #lock: StoreLock | null;
  readonly #identity: FileIdentity | null;
  readonly #statements: ReturnType<typeof prepareStatements>;

  private constructor(path: string, db: Database.Database, lock: StoreLock | null, created: boolean) {
    this.path = path;
    this.#db = db;
    this.#lock = lock;
    this.created = created;
    this.#identity = lock ? fileIdentity(path) : null;
    this.#statements = prepareStatements(db);
    this.mesh = new SqliteMeshStore(db);
  }

  /**
   * Opens (creating if absent) the database at `path`. Refuses a database written by a newer schema,
   * and a file that is not a SQLite database, with a StoreError; never rewrites either.
   */
  static open(path: string): MessageStore {
    const onDisk = path !== ':memory:' && path !== '';
    const existed = onDisk && existsSync(path);
    let lock: StoreLock | null = null;
    let db: Database.Database;
    try {
      if (onDisk) lock = StoreLock.acquire(path);
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    } catch (error) {
      lock?.release();
      throw openError(path, error);
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new StoreError(
          `the database ${path} has schema version ${version}, newer than this build supports (${SCHEMA_VERSION}); upgrade xcmp-sidecar or use another --db`,
        );
      }
      if (version === 0 && existed) {
        const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
          n: number;
        };
        if (tables.n > 0)
          throw new StoreError(
            `the database ${path} holds tables but no xcmp-sidecar schema version; refusing to touch it`,
          );
      }
      for (let v = version; v < SCHEMA_VERSION; v++) {
        db.transaction(() => {
          db.exec(MIGRATIONS[v]!);
          db.pragma(`user_version = ${v + 1}`);
        })();
      }
      return new MessageStore(path, db, lock, !existed);
    } catch (error) {
      db.close();
      lock?.release();
      throw openError(path, error);
    }
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    this.#lock?.release();
  }

  /**
   * Why the file this store writes is no longer the one at its path (deleted, or replaced by
   * another file), or null while it is. Writing on would put history where nobody will find it.
   */
  fileProblem(): string | null {
    if (!this.#identity) return null;
    const now = fileIdentity(this.path);
    if (!now)
      return `the database file ${this.path} was deleted while in use; restore it or restart to begin a new store`;
    if (now.dev !== this.#identity.dev || now.ino !== this.#identity.ino)
      return `the database file ${this.path} was replaced by another file while in use; restart to use it`;
    return null;
  }

  async cursor(): Promise<Cursor | null> {
    return this.#cursor();
  }

  #cursor(): Cursor | null {
    const row = this.#statements.cursor.get() as { number: number; hash: Buffer } | undefined;
    return row ? { number: row.number, hash: hexOf(row.hash) } : null;
  }

  /** The hash stored for a processed block, or null. */
  async blockHash(number: number): Promise<Hex | null> {
    const row = this.#statements.blockHash.get(number) as { hash: Buffer } | undefined;
    return row ? hexOf(row.hash) : null;
  }

  #insertCandidate(c: CandidateRecord): void {
    this.#statements.insertCandidate.run(
      blob(c.candidateHash),
      c.paraId,
      c.descriptor,
      c.commitments,
      blob(c.commitmentsHash),
      blob(c.relayParent),
      c.backedIn,
      c.coreIndex,
      c.status,
      c.enactedIn,
      c.verified ? 1 : 0,
      c.reason,
      c.availabilityVotes,
      c.availabilityThreshold,
      c.hrmpWatermark,
    );
  }

  #upsertChannel(c: ChannelRecord): void {
    this.#statements.upsertChannel.run(
      c.sender,
      c.recipient,
      c.maxCapacity,
      c.maxTotalSize,
      c.maxMessageSize,
      c.msgCount,
      c.totalSize,
      c.mqcHead ? blob(c.mqcHead) : null,
      c.verifiedAt,
      c.lastSentAt,
    );
  }

  /** Writes one finalized block and moves the cursor to it, atomically. */
  async writeBlock(write: BlockWrite): Promise<void> {
    await this.writeBlocks([write]);
  }

  /**
   * Writes consecutive finalized blocks and moves the cursor to the last, in one transaction: a crash
   * leaves the store before or after all of them. Catch-up writes many blocks per commit, because a
   * commit rewrites the same index pages for each block.
   */
  async writeBlocks(writes: readonly BlockWrite[]): Promise<void> {
    this.#db.transaction(() => {
      let cursor = this.#cursor();
      for (const write of writes) {
        if (cursor && write.number !== cursor.number + 1) {
          throw new StoreError(`block #${write.number} does not follow the cursor #${cursor.number}`);
        }
        this.#writeOne(write);
        cursor = { number: write.number, hash: write.hash };
      }
      if (cursor) this.#statements.setCursor.run(cursor.number, blob(cursor.hash));
    })();
  }

  #writeOne(write: BlockWrite): void {
    const s = this.#statements;
    s.insertBlock.run(write.number, blob(write.hash), blob(write.parentHash), write.messages.length);
    for (const c of write.newCandidates) {
      this.#insertCandidate(c);
    }
    write.candidateUpdates.forEach((u, position) => {
      s.updateCandidate.run(
        u.status,
        u.enactedIn,
        u.availabilityVotes,
        u.status === 'backed' ? null : write.number,
        blob(u.candidateHash),
      );
      s.insertCandidateUpdate.run(
        write.number,
        position,
        blob(u.candidateHash),
        u.status,
        u.availabilityVotes,
      );
    });
    for (const m of write.messages) this.#insertMessage(m);
    for (const c of write.channels) {
      this.#upsertChannel(c);
    }
    for (const [para, watermark] of write.watermarks) s.upsertWatermark.run(para, watermark);
    for (const f of write.failures)
      s.insertFailure.run(
        f.blockNumber,
        f.kind,
        f.reason,
        f.paraId,
        f.candidateHash ? blob(f.candidateHash) : null,
      );
  }

  /**
   * Seeds an empty store from the state before its first block: channel heads and the candidates
   * pending availability then. Replaces any earlier seed (a start that crashed before its first block).
   */
  async seed(
    channels: readonly ChannelRecord[],
    candidates: readonly CandidateRecord[],
    watermarks: { readonly at: number; readonly values: readonly (readonly [number, number])[] } = {
      at: 0,
      values: [],
    },
  ): Promise<void> {
    this.#db.transaction(() => {
      if (this.#cursor()) throw new StoreError('the store already holds blocks: it cannot be seeded again');
      this.#db.exec(
        'DELETE FROM channels; DELETE FROM candidates; DELETE FROM channel_history; DELETE FROM watermark_seeds;',
      );
      this.#seedWatermarks(watermarks.at, watermarks.values);
      for (const c of channels) {
        this.#upsertChannel(c);
        // Seeded at the block before the first one: the store holds everything from the first on.
        this.#statements.upsertHistory.run(
          c.sender,
          c.recipient,
          c.verifiedAt + 1,
          c.mqcHead ? blob(c.mqcHead) : null,
          1,
          null,
        );
      }
      for (const c of candidates) {
        this.#insertCandidate(c);
      }
    })();
  }

  async candidate(candidateHash: Hex): Promise<CandidateRecord | null> {
    const row = this.#statements.candidate.get(blob(candidateHash)) as CandidateRow | undefined;
    return row ? candidateFromRow(row) : null;
  }

  async candidatesActive(
    fromBlock: number,
    paraId: number | null,
    limit: number,
  ): Promise<CandidateRecord[]> {
    const rows = this.#statements.candidatesActive.all({
      from: fromBlock,
      para: paraId,
      limit,
    }) as CandidateRow[];
    return rows.map(candidateFromRow);
  }

  async pendingCandidates(): Promise<CandidateRecord[]> {
    return (this.#statements.pendingCandidates.all() as CandidateRow[]).map(candidateFromRow);
  }

  async candidateMessages(candidateHash: Hex): Promise<MessageRecord[]> {
    return (this.#statements.candidateMessages.all(blob(candidateHash)) as MessageRow[]).map(messageFromRow);
  }

  async inbox(recipient: number, query: MessageQuery = {}): Promise<MessageRecord[]> {
    return collect(this.mailboxRows('inbox', recipient, query));
  }

  async outbox(sender: number, query: MessageQuery = {}): Promise<MessageRecord[]> {
    return collect(this.mailboxRows('outbox', sender, query));
  }

  /** A mailbox's messages in pages, so a caller with a byte budget stops reading as soon as it is spent. */
  mailboxRows(
    kind: 'inbox' | 'outbox',
    paraId: number,
    query: MessageQuery = {},
  ): AsyncGenerator<MessageRecord> {
    const statement = kind === 'inbox' ? this.#statements.inboxPage : this.#statements.outboxPage;
    return mailboxPages(kind, paraId, query, async (params) =>
      (statement.all(...params) as MessageRow[]).map(messageFromRow),
    );
  }

  async message(id: string): Promise<MessageRecord | null> {
    const key = parseMessageId(id);
    if (!key) return null;
    const row = this.#statements.message.get(key.recipient, key.sentAt, key.sender, key.index) as
      | MessageRow
      | undefined;
    return row ? messageFromRow(row) : null;
  }

  async channel(sender: number, recipient: number): Promise<ChannelRecord | null> {
    const row = this.#statements.channel.get(sender, recipient) as ChannelRow | undefined;
    return row ? channelFromRow(row) : null;
  }

  async channels(filter: { sender?: number; recipient?: number } = {}): Promise<ChannelRecord[]> {
    const sender = filter.sender ?? null;
    const recipient = filter.recipient ?? null;
    return (this.#statements.channels.all(sender, sender, recipient, recipient) as ChannelRow[]).map(
      channelFromRow,
    );
  }

  async watermark(paraId: number): Promise<number | null> {
    const row = this.#statements.watermark.get(paraId) as { watermark: number } | undefined;
    return row ? row.watermark : null;
  }

  async watermarks(): Promise<Map<number, number>> {
    return new Map(
      (this.#statements.watermarks.all() as { para_id: number; watermark: number }[]).map((r) => [
        r.para_id,
        r.watermark,
      ]),
    );
  }

  async counts(): Promise<StoreCounts> {
    const messages = this.#statements.countMessages.get() as { total: number; unverified: number };
    const failures = this.#statements.failuresByKind.all() as { kind: string; total: number }[];
    return {
      blocks: (this.#statements.countBlocks.get() as { total: number }).total,
      messages: messages.total,
      unverifiedMessages: messages.unverified,
      candidates: (this.#statements.countCandidates.get() as { total: number }).total,
      failuresByKind: Object.fromEntries(failures.map((f) => [f.kind, f.total])),
    };
  }

  async recentFailures(limit = 20): Promise<FailureSummary[]> {
    return (
      this.#statements.recentFailures.all(limit) as {
        block_number: number;
        kind: string;
        reason: string;
        para_id: number | null;
      }[]
    ).map((r) => ({ blockNumber: r.block_number, kind: r.kind, reason: r.reason, paraId: r.para_id }));
  }

  async storedBlock(number: number): Promise<BlockWrite | null> {
    const s = this.#statements;
    const block = s.storedBlock.get(number) as
      | { number: number; hash: Buffer; parent_hash: Buffer }
      | undefined;
    if (!block) return null;
    return storedBlockFrom(
      block,
      s.blockMessages.all(number) as MessageRow[],
      s.blockCandidates.all(number, number) as CandidateRow[],
      s.blockFailures.all(number) as FailureRow[],
      s.blockCandidateUpdates.all(number) as CandidateUpdateRow[],
    );
  }

  async blockNumber(hash: Hex): Promise<number | null> {
    const row = this.#statements.blockNumber.get(blob(hash)) as { number: number } | undefined;
    return row ? row.number : null;
  }

  /** The oldest block still held (after retention). */
  /**
   * From which block the store holds every message of the channel. A channel with no record opened
   * after the store began: complete from the first block, from an empty head.
   */
  async channelHistory(sender: number, recipient: number): Promise<ChannelHistory | null> {
    return this.#channelHistory(sender, recipient);
  }

  #channelHistory(sender: number, recipient: number): ChannelHistory | null {
    const row = this.#statements.history.get(sender, recipient) as HistoryRow | undefined;
    return row ? historyFromRow(row) : historyFromFirstBlock(sender, recipient, this.#firstBlock());
  }

  /** The channel's head before block `block`, if the store knows it (null head: no message yet). */
  async headBefore(
    sender: number,
    recipient: number,
    block: number,
  ): Promise<{ head: Hex | null } | undefined> {
    const history = this.#channelHistory(sender, recipient);
    if (!history || block < history.completeFrom) return undefined;
    const last = this.#statements.lastBefore.get(recipient, sender, block) as
      | { mqc_head_after: Buffer }
      | undefined;
    return headBeforeFrom(history, last);
  }

  /** Up to `limit` messages of one channel with `from <= sentAt <= to`, in queue order. */
  async channelPage(
    sender: number,
    recipient: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<MessageRecord[]> {
    return (this.#statements.channelPage.all(recipient, sender, from, to, limit) as MessageRow[]).map(
      messageFromRow,
    );
  }

  /**
   * Stores a channel's history before what the store held, accepted from a peer (its head proven
   * by this sidecar's own node): the messages, and the channel now complete from `from`.
   */
  async writePeerHistory(
    sender: number,
    recipient: number,
    history: { from: number; headBefore: Hex | null; peer: string; messages: readonly MessageRecord[] },
  ): Promise<void> {
    const s = this.#statements;
    this.#db.transaction(() => {
      for (const m of history.messages)
        this.#insertMessage({ ...m, verified: true, reason: null, peer: history.peer });
      const head = history.headBefore ? blob(history.headBefore) : null;
      s.upsertHistory.run(sender, recipient, history.from, head, 1, history.peer);
    })();
  }

  async firstBlock(): Promise<number | null> {
    return this.#firstBlock();
  }

  #firstBlock(): number | null {
    return (this.#statements.firstBlock.get() as { first: number | null }).first;
  }

  /** A para's HRMP watermark as of block `number`: that of its last candidate enacted by then. */
  async watermarkAt(paraId: number, number: number): Promise<number | null> {
    const row = this.#statements.watermarkAt.get({ para: paraId, upTo: number }) as
      | { watermark: number | null; at: number }
      | undefined;
    if (!row) return null;
    // A watermark known before a skipped range may have moved inside it: unknown.
    if (this.#statements.gapBetween.get(row.at, number)) return null;
    return row.watermark;
  }

  /** Ranges skipped because the node had pruned them, bridged from peers where they proved out. */
  async gaps(): Promise<{ from: number; to: number }[]> {
    return (this.#statements.gaps.all() as { from_block: number; to_block: number }[]).map((row) => ({
      from: row.from_block,
      to: row.to_block,
    }));
  }

  /**
   * Moves the cursor over a range the node no longer serves, to the state at its end: channels and
   * pending candidates as the node reports them there, peer messages for the channels that proved
   * out, and, for the others, history complete only from the block after the range.
   */
  async bridgeGap(bridge: GapBridge): Promise<void> {
    const s = this.#statements;
    this.#db.transaction(() => {
      const cursor = this.#cursor();
      if (!cursor || bridge.from !== cursor.number + 1 || bridge.to.number < bridge.from)
        throw new StoreError(`a gap #${bridge.from}..#${bridge.to.number} does not follow the cursor`);
      for (const channel of bridge.channels) {
        const filled = bridge.filled.get(`${channel.sender}:${channel.recipient}`);
        if (filled)
          for (const m of filled.messages)
            this.#insertMessage({ ...m, verified: true, reason: null, peer: filled.peer });
        else {
          const head = channel.mqcHead ? blob(channel.mqcHead) : null;
          s.upsertHistory.run(channel.sender, channel.recipient, bridge.to.number + 1, head, 1, null);
        }
        this.#upsertChannel(channel);
      }
      s.dropPending.run();
      for (const c of bridge.pending) this.#insertCandidate(c);
      this.#seedWatermarks(bridge.to.number, bridge.watermarks);
      s.insertGap.run(bridge.from, bridge.to.number);
      s.setCursor.run(bridge.to.number, blob(bridge.to.hash));
    })();
  }

  #seedWatermarks(at: number, values: readonly (readonly [number, number])[]): void {
    for (const [para, watermark] of values) {
      this.#statements.insertWatermarkSeed.run(para, at, watermark);
      this.#statements.upsertWatermark.run(para, watermark);
    }
  }

  /** A message row; one with a `peer` came from that peer sidecar (federation). */
  #insertMessage(m: MessageRecord): void {
    this.#statements.insertMessage.run(
      m.recipient,
      m.sentAt,
      m.sender,
      m.index,
      m.data,
      blob(m.hash),
      blob(m.candidateHash),
      blob(m.blockHash),
      blob(m.mqcHeadAfter),
      m.verified ? 1 : 0,
      m.reason,
      m.peer ? 'peer' : 'node',
      m.peer ?? null,
      m.position ?? null,
    );
  }

  /** Messages of one channel with `after < sentAt <= upTo`, in queue order. */
  async channelMessages(
    sender: number,
    recipient: number,
    after: number,
    upTo: number,
  ): Promise<MessageRecord[]> {
    return (this.#statements.channelRange.all(recipient, sender, after, upTo) as MessageRow[]).map(
      messageFromRow,
    );
  }

  /**
   * Retention (DESIGN.md §4): drops messages whose recipient's watermark has passed them and that are
   * older than `keepBlocks` behind the cursor; returns how many went.
   */
  async journeys(id: Hex): Promise<JourneyRow[]> {
    return (this.#statements.journeysById.all({ id: blob(id) }) as JourneyDbRow[]).map(journeyFromRow);
  }

  async journeysFrom(query: JourneyQuery): Promise<JourneyRow[]> {
    return (this.#statements.journeysFrom.all(journeysFromParams(query)) as JourneyDbRow[]).map(
      journeyFromRow,
    );
  }

  async writeJourneys(rows: readonly JourneyRow[]): Promise<void> {
    const upsert = this.#statements.upsertJourney;
    this.#db.transaction(() => {
      for (const r of rows)
        upsert.run(r.key, blob(r.id), blob(r.messageHash), r.sender, r.recipient, r.sentAt, r.body);
    })();
  }

  async prune(keepBlocks: number): Promise<number> {
    const before = pruneBefore(this.#cursor(), keepBlocks);
    if (before === null) return 0;
    return this.#db.transaction(() => {
      // Only recipients with a watermark: their messages at or below it have been taken in.
      let removed = 0;
      for (const { para_id, watermark } of this.#statements.watermarks.all() as {
        para_id: number;
        watermark: number;
      }[])
        removed += this.#statements.pruneMessages.run(para_id, before, watermark).changes;
      this.#statements.pruneBlocks.run(before);
      this.#statements.pruneCandidateUpdates.run(before);
      this.#statements.pruneCandidates.run(before);
      this.#statements.pruneJourneys.run(before);
      this.mesh.prune(before);
      return removed;
    })();
  }
}

export type { MessageQuery, Store, StoreCounts } from './interface.ts';
