/**
 * The PostgreSQL store (node-postgres): the same answers as the SQLite store behind `Store`, for
 * more than one process (DESIGN.md §11). A write of consecutive blocks is one transaction that also
 * moves the cursor and notifies `xcmp_blocks` on commit, so API replicas learn of it at once.
 */
import pg from 'pg';
import type { Hex } from '../protocol/bytes.ts';
import type { FailureSummary, MessageQuery, Store, StoreCounts } from './interface.ts';
import { collect, mailboxPages } from './pages.ts';
import { BLOCKS_CHANNEL, PG_MIGRATIONS, PG_SCHEMA_VERSION, PG_TABLES } from './pg-schema.ts';
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
import { StoreError } from './store.ts';
import {
  type BlockWrite,
  type CandidateRecord,
  type CandidateUpdate,
  type ChannelHistory,
  type ChannelRecord,
  type Cursor,
  type GapBridge,
  type JourneyQuery,
  type JourneyRow,
  type MessageRecord,
  parseMessageId,
} from './types.ts';
import { redactUrl } from './url.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** BIGINT columns and counts as numbers: every value the store keeps is below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A lock key of the schema migration (any fixed number: it only has to be the same in every process). */
const MIGRATION_LOCK = 0x78636d70;

/** Connection settings every pool and client of a store uses. */
export function pgConfig(url: string): pg.ClientConfig {
  return { connectionString: url, types: TYPES, connectionTimeoutMillis: 5_000 };
}

async function migrate(client: pg.PoolClient, where: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS xcmp_schema (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)',
    );
    const row = (await client.query<{ version: number }>('SELECT version FROM xcmp_schema WHERE id = 0'))
      .rows[0];
    const version = row?.version ?? 0;
    if (version > PG_SCHEMA_VERSION)
      throw new StoreError(
        `the database ${where} has schema version ${version}, newer than this build supports (${PG_SCHEMA_VERSION}); upgrade xcmp-sidecar or use another --db`,
      );
    if (version === 0) {
      const found = await client.query<{ name: string }>(
        'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1)',
        [PG_TABLES],
      );
      if (found.rows.length > 0)
        throw new StoreError(
          `the database ${where} holds tables (${found.rows.map((r) => r.name).join(', ')}) but no xcmp-sidecar schema version; refusing to touch it`,
        );
    }
    for (let v = version; v < PG_SCHEMA_VERSION; v++) await client.query(PG_MIGRATIONS[v]!);
    await client.query(
      'INSERT INTO xcmp_schema (id, version) VALUES (0, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version',
      [PG_SCHEMA_VERSION],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function openError(where: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`cannot open the database ${where}: ${(error as Error).message}`);
}

/** The last value per key, in the order the keys were first seen. */
function lastByKey<T>(
  items: readonly T[],
  key: (item: T) => string,
  merge?: (before: T, after: T) => T,
): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const before = byKey.get(k);
    byKey.set(k, before && merge ? merge(before, item) : item);
  }
  return [...byKey.values()];
}

const hashOrNull = (hex: Hex | null | undefined): Buffer | null => (hex ? blob(hex) : null);

export class PgStore implements Store {
  readonly path: string;
  readonly created: boolean;
  /** The mesh's erasure-coded history is kept in SQLite stores only. */
  readonly mesh = null;
  readonly #pool: pg.Pool;
  #closed = false;

  private constructor(url: string, pool: pg.Pool, created: boolean) {
    this.path = redactUrl(url);
    this.#pool = pool;
    this.created = created;
  }

  /** Connects, creates or migrates the schema (refusing a newer one, or foreign tables), and returns the store. */
  static async open(url: string, options: { readonly poolSize?: number } = {}): Promise<PgStore> {
    const where = redactUrl(url);
    const pool = new pg.Pool({ ...pgConfig(url), max: options.poolSize ?? 8 });
    // A connection the server drops (restart, failover), idle or checked out between queries, is an
    // error event: the query in flight, or the next one, fails and says why; the process carries on.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    try {
      const client = await pool.connect();
      try {
        const existed = (await client.query("SELECT to_regclass('xcmp_schema') AS t")).rows[0]?.t !== null;
        await migrate(client, where);
        return new PgStore(url, pool, !existed);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw openError(where, error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** A PostgreSQL store has no file to lose; an unreachable server shows as failing queries. */
  fileProblem(): string | null {
    return null;
  }

  async #rows<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.#pool.query<T>(sql, params)).rows;
  }

  async #row<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.#rows<T>(sql, params))[0];
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async cursor(): Promise<Cursor | null> {
    return cursorOf(this.#pool);
  }

  async blockHash(number: number): Promise<Hex | null> {
    const row = await this.#row<{ hash: Buffer }>('SELECT hash FROM blocks WHERE number = $1', [number]);
    return row ? hexOf(row.hash) : null;
  }

  async storedBlock(number: number): Promise<BlockWrite | null> {
    const block = await this.#row<{ number: number; hash: Buffer; parent_hash: Buffer }>(
      'SELECT number, hash, parent_hash FROM blocks WHERE number = $1',
      [number],
    );
    if (!block) return null;
    const [messages, candidates, failures, updates] = await Promise.all([
      this.#rows<MessageRow>('SELECT * FROM messages WHERE sent_at = $1 ORDER BY recipient, sender, idx', [
        number,
      ]),
      this.#rows<CandidateRow>(
        'SELECT * FROM candidates WHERE backed_in = $1 OR settled_in = $1 ORDER BY id',
        [number],
      ),
      this.#rows<FailureRow>('SELECT * FROM failures WHERE block_number = $1 ORDER BY id', [number]),
      this.#rows<CandidateUpdateRow>(
        'SELECT candidate_hash, status, availability_votes FROM candidate_updates WHERE block_number = $1 ORDER BY position',
        [number],
      ),
    ]);
    return storedBlockFrom(block, messages, candidates, failures, updates);
  }

  async blockNumber(hash: Hex): Promise<number | null> {
    const row = await this.#row<{ number: number }>('SELECT number FROM blocks WHERE hash = $1', [
      blob(hash),
    ]);
    return row ? row.number : null;
  }

  async firstBlock(): Promise<number | null> {
    return (await this.#row<{ first: number | null }>('SELECT MIN(number) AS first FROM blocks'))!.first;
  }

  async candidate(candidateHash: Hex): Promise<CandidateRecord | null> {
    const row = await this.#row<CandidateRow>('SELECT * FROM candidates WHERE candidate_hash = $1', [
      blob(candidateHash),
    ]);
    return row ? candidateFromRow(row) : null;
  }

  async candidateMessages(candidateHash: Hex): Promise<MessageRecord[]> {
    const rows = await this.#rows<MessageRow>(
      'SELECT * FROM messages WHERE candidate_hash = $1 ORDER BY recipient, idx',
      [blob(candidateHash)],
    );
    return rows.map(messageFromRow);
  }

  async candidatesActive(
    fromBlock: number,
    paraId: number | null,
    limit: number,
  ): Promise<CandidateRecord[]> {
    const rows = await this.#rows<CandidateRow>(
      `SELECT * FROM candidates WHERE (backed_in >= $1 OR settled_in >= $1)
        AND ($2::bigint IS NULL OR para_id = $2) ORDER BY backed_in, candidate_hash LIMIT $3`,
      [fromBlock, paraId, limit],
    );
    return rows.map(candidateFromRow);
  }

  async pendingCandidates(): Promise<CandidateRecord[]> {
    return (await this.#rows<CandidateRow>("SELECT * FROM candidates WHERE status = 'backed'")).map(
      candidateFromRow,
    );
  }

  async inbox(recipient: number, query: MessageQuery = {}): Promise<MessageRecord[]> {
    return collect(this.mailboxRows('inbox', recipient, query));
  }

  async outbox(sender: number, query: MessageQuery = {}): Promise<MessageRecord[]> {
    return collect(this.mailboxRows('outbox', sender, query));
  }

  mailboxRows(
    kind: 'inbox' | 'outbox',
    paraId: number,
    query: MessageQuery = {},
  ): AsyncGenerator<MessageRecord> {
    const [own, other] = kind === 'inbox' ? ['recipient', 'sender'] : ['sender', 'recipient'];
    const sql = `SELECT * FROM messages WHERE ${own} = $1 AND sent_at BETWEEN $2 AND $3 AND (verified = 1 OR $4 = 1)
      AND (sent_at, ${other}, idx) > ($5, $6, $7) ORDER BY sent_at, ${other}, idx LIMIT $8`;
    return mailboxPages(kind, paraId, query, async (params) =>
      (await this.#rows<MessageRow>(sql, params)).map(messageFromRow),
    );
  }

  async message(id: string): Promise<MessageRecord | null> {
    const key = parseMessageId(id);
    if (!key) return null;
    const row = await this.#row<MessageRow>(
      'SELECT * FROM messages WHERE recipient = $1 AND sent_at = $2 AND sender = $3 AND idx = $4',
      [key.recipient, key.sentAt, key.sender, key.index],
    );
    return row ? messageFromRow(row) : null;
  }

  async channel(sender: number, recipient: number): Promise<ChannelRecord | null> {
    const row = await this.#row<ChannelRow>('SELECT * FROM channels WHERE sender = $1 AND recipient = $2', [
      sender,
      recipient,
    ]);
    return row ? channelFromRow(row) : null;
  }

  async channels(filter: { sender?: number; recipient?: number } = {}): Promise<ChannelRecord[]> {
    const rows = await this.#rows<ChannelRow>(
      `SELECT * FROM channels WHERE ($1::bigint IS NULL OR sender = $1) AND ($2::bigint IS NULL OR recipient = $2)
        ORDER BY sender, recipient`,
      [filter.sender ?? null, filter.recipient ?? null],
    );
    return rows.map(channelFromRow);
  }

  async channelMessages(
    sender: number,
    recipient: number,
    after: number,
    upTo: number,
  ): Promise<MessageRecord[]> {
    const rows = await this.#rows<MessageRow>(
      `SELECT * FROM messages WHERE recipient = $1 AND sender = $2 AND sent_at > $3 AND sent_at <= $4
        ORDER BY sent_at, idx`,
      [recipient, sender, after, upTo],
    );
    return rows.map(messageFromRow);
  }

  async channelHistory(sender: number, recipient: number): Promise<ChannelHistory | null> {
    const row = await this.#row<HistoryRow>(
      'SELECT * FROM channel_history WHERE sender = $1 AND recipient = $2',
      [sender, recipient],
    );
    return row ? historyFromRow(row) : historyFromFirstBlock(sender, recipient, await this.firstBlock());
  }

  async headBefore(
    sender: number,
    recipient: number,
    block: number,
  ): Promise<{ head: Hex | null } | undefined> {
    const history = await this.channelHistory(sender, recipient);
    if (!history || block < history.completeFrom) return undefined;
    const last = await this.#row<{ mqc_head_after: Buffer }>(
      `SELECT mqc_head_after FROM messages WHERE recipient = $1 AND sender = $2 AND sent_at < $3
        ORDER BY sent_at DESC, idx DESC LIMIT 1`,
      [recipient, sender, block],
    );
    return headBeforeFrom(history, last);
  }

  async channelPage(
    sender: number,
    recipient: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<MessageRecord[]> {
    const rows = await this.#rows<MessageRow>(
      `SELECT * FROM messages WHERE recipient = $1 AND sender = $2 AND sent_at >= $3 AND sent_at <= $4
        ORDER BY sent_at, idx LIMIT $5`,
      [recipient, sender, from, to, limit],
    );
    return rows.map(messageFromRow);
  }

  async watermark(paraId: number): Promise<number | null> {
    const row = await this.#row<{ watermark: number }>(
      'SELECT watermark FROM watermarks WHERE para_id = $1',
      [paraId],
    );
    return row ? row.watermark : null;
  }

  async watermarks(): Promise<Map<number, number>> {
    const rows = await this.#rows<{ para_id: number; watermark: number }>(
      'SELECT para_id, watermark FROM watermarks',
    );
    return new Map(rows.map((r) => [r.para_id, r.watermark]));
  }

  async gaps(): Promise<{ from: number; to: number }[]> {
    const rows = await this.#rows<{ from_block: number; to_block: number }>(
      'SELECT from_block, to_block FROM gaps ORDER BY from_block',
    );
    return rows.map((row) => ({ from: row.from_block, to: row.to_block }));
  }

  async watermarkAt(paraId: number, number: number): Promise<number | null> {
    const row = await this.#row<{ watermark: number | null; at: number }>(
      `SELECT watermark, at FROM (
          SELECT hrmp_watermark AS watermark, enacted_in AS at FROM candidates
            WHERE para_id = $1 AND status = 'included' AND enacted_in <= $2
          UNION ALL SELECT watermark, at FROM watermark_seeds WHERE para_id = $1 AND at <= $2
        ) AS known ORDER BY at DESC LIMIT 1`,
      [paraId, number],
    );
    if (!row) return null;
    // A watermark known before a skipped range may have moved inside it: unknown.
    const gap = await this.#row('SELECT 1 FROM gaps WHERE from_block > $1 AND from_block <= $2 LIMIT 1', [
      row.at,
      number,
    ]);
    return gap ? null : row.watermark;
  }

  /** Kept by triggers as rows come and go (pg-schema.ts migration 2): one small read, not a count. */
  async counts(): Promise<StoreCounts> {
    const rows = await this.#rows<{ name: string; total: string }>('SELECT name, total FROM xcmp_counts');
    const total = new Map(rows.map((r) => [r.name, Number(r.total)]));
    const failures = rows
      .filter((r) => r.name.startsWith('failure:') && Number(r.total) > 0)
      .map((r) => [r.name.slice('failure:'.length), Number(r.total)]);
    return {
      blocks: total.get('blocks') ?? 0,
      messages: total.get('messages') ?? 0,
      unverifiedMessages: total.get('unverified') ?? 0,
      candidates: total.get('candidates') ?? 0,
      failuresByKind: Object.fromEntries(failures),
    };
  }

  async recentFailures(limit = 20): Promise<FailureSummary[]> {
    const rows = await this.#rows<{
      block_number: number;
      kind: string;
      reason: string;
      para_id: number | null;
    }>('SELECT block_number, kind, reason, para_id FROM failures ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((r) => ({
      blockNumber: r.block_number,
      kind: r.kind,
      reason: r.reason,
      paraId: r.para_id,
    }));
  }

  async writeBlock(write: BlockWrite): Promise<void> {
    await this.writeBlocks([write]);
  }

  /**
   * Writes consecutive blocks and moves the cursor to the last in one transaction, then notifies
   * `xcmp_blocks` with the last block (delivered on commit). The cursor row is locked first, so two
   * writers can never both extend the same cursor.
   */
  async writeBlocks(writes: readonly BlockWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.#transaction(async (client) => {
      let cursor = await cursorOf(client, true);
      for (const write of writes) {
        if (cursor && write.number !== cursor.number + 1)
          throw new StoreError(`block #${write.number} does not follow the cursor #${cursor.number}`);
        cursor = { number: write.number, hash: write.hash };
      }
      await insertBlocks(client, writes);
      await insertCandidates(
        client,
        writes.flatMap((w) => w.newCandidates),
      );
      await updateCandidates(
        client,
        writes.flatMap((w) =>
          w.candidateUpdates.map((update, position) => ({ update, block: w.number, position })),
        ),
      );
      await insertMessages(
        client,
        writes.flatMap((w) => w.messages),
      );
      await upsertChannels(
        client,
        writes.flatMap((w) => w.channels),
      );
      await upsertWatermarks(
        client,
        writes.flatMap((w) => w.watermarks),
      );
      await insertFailures(client, writes);
      await setCursor(client, cursor!);
    });
  }

  async seed(
    channels: readonly ChannelRecord[],
    candidates: readonly CandidateRecord[],
    watermarks: { readonly at: number; readonly values: readonly (readonly [number, number])[] } = {
      at: 0,
      values: [],
    },
  ): Promise<void> {
    await this.#transaction(async (client) => {
      if (await cursorOf(client, true))
        throw new StoreError('the store already holds blocks: it cannot be seeded again');
      await client.query(
        'DELETE FROM channels; DELETE FROM candidates; DELETE FROM channel_history; DELETE FROM watermark_seeds',
      );
      await seedWatermarks(client, watermarks.at, watermarks.values);
      await upsertChannels(client, channels);
      // Seeded at the block before the first one: the store holds everything from the first on.
      for (const c of channels)
        await upsertHistory(client, c.sender, c.recipient, c.verifiedAt + 1, c.mqcHead, null);
      await insertCandidates(client, candidates);
    });
  }

  async writePeerHistory(
    sender: number,
    recipient: number,
    history: { from: number; headBefore: Hex | null; peer: string; messages: readonly MessageRecord[] },
  ): Promise<void> {
    await this.#transaction(async (client) => {
      await insertMessages(
        client,
        history.messages.map((m) => ({ ...m, verified: true, reason: null, peer: history.peer })),
      );
      await upsertHistory(client, sender, recipient, history.from, history.headBefore, history.peer);
    });
  }

  async bridgeGap(bridge: GapBridge): Promise<void> {
    await this.#transaction(async (client) => {
      const cursor = await cursorOf(client, true);
      if (!cursor || bridge.from !== cursor.number + 1 || bridge.to.number < bridge.from)
        throw new StoreError(`a gap #${bridge.from}..#${bridge.to.number} does not follow the cursor`);
      for (const channel of bridge.channels) {
        const filled = bridge.filled.get(`${channel.sender}:${channel.recipient}`);
        if (filled)
          await insertMessages(
            client,
            filled.messages.map((m) => ({ ...m, verified: true, reason: null, peer: filled.peer })),
          );
        else
          await upsertHistory(
            client,
            channel.sender,
            channel.recipient,
            bridge.to.number + 1,
            channel.mqcHead,
            null,
          );
      }
      await upsertChannels(client, bridge.channels);
      await client.query("DELETE FROM candidates WHERE status = 'backed'");
      await insertCandidates(client, bridge.pending);
      await seedWatermarks(client, bridge.to.number, bridge.watermarks);
      await client.query('INSERT INTO gaps (from_block, to_block) VALUES ($1, $2)', [
        bridge.from,
        bridge.to.number,
      ]);
      await setCursor(client, bridge.to);
    });
  }

  async journeys(id: Hex): Promise<JourneyRow[]> {
    const rows = await this.#rows<JourneyDbRow>(
      `SELECT * FROM journeys WHERE id = $1 OR message_hash = $1 ORDER BY sent_at, key LIMIT ${JOURNEYS_PER_ID}`,
      [blob(id)],
    );
    return rows.map(journeyFromRow);
  }

  async journeysFrom(query: JourneyQuery): Promise<JourneyRow[]> {
    const { text, values } = numbered(JOURNEYS_FROM_SQL, journeysFromParams(query));
    return (await this.#rows<JourneyDbRow>(text, values)).map(journeyFromRow);
  }

  async writeJourneys(rows: readonly JourneyRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#transaction(async (client) => {
      for (const r of rows)
        await client.query(
          `INSERT INTO journeys (key, id, message_hash, sender, recipient, sent_at, body)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body`,
          [r.key, blob(r.id), blob(r.messageHash), r.sender, r.recipient, r.sentAt, r.body],
        );
    });
  }

  async prune(keepBlocks: number): Promise<number> {
    const before = pruneBefore(await this.cursor(), keepBlocks);
    if (before === null) return 0;
    return this.#transaction(async (client) => {
      // Only recipients with a watermark: their messages at or below it have been taken in. One
      // statement: PostgreSQL walks the messages below the window on the by-block index.
      const removed = await client.query(
        `DELETE FROM messages m USING watermarks w
          WHERE m.recipient = w.para_id AND m.sent_at < $1 AND m.sent_at <= w.watermark`,
        [before],
      );
      await client.query('DELETE FROM blocks WHERE number < $1', [before]);
      await client.query('DELETE FROM candidate_updates WHERE block_number < $1', [before]);
      await client.query("DELETE FROM candidates WHERE status != 'backed' AND backed_in < $1", [before]);
      await client.query('DELETE FROM journeys WHERE sent_at < $1', [before]);
      return removed.rowCount ?? 0;
    });
  }
}

/** The PostgreSQL types of the named parameters shared queries use (a NULL's type cannot be inferred). */
const PARAM_TYPES: Readonly<Record<string, string>> = {
  from: 'bigint',
  afterKey: 'text',
  sender: 'bigint',
  recipient: 'bigint',
  id: 'bytea',
  limit: 'bigint',
};

/** A query with SQLite-style named parameters (`$name`) as PostgreSQL's numbered, typed ones. */
function numbered(sql: string, params: Record<string, unknown>): { text: string; values: unknown[] } {
  const names: string[] = [];
  const text = sql.replace(/\$([a-zA-Z]+)/g, (_, name: string) => {
    if (!names.includes(name)) names.push(name);
    const type = PARAM_TYPES[name];
    if (!type) throw new Error(`no PostgreSQL type for query parameter $${name}`);
    return `$${names.indexOf(name) + 1}::${type}`;
  });
  return { text, values: names.map((name) => params[name]) };
}

async function cursorOf(db: Queryable, forUpdate = false): Promise<Cursor | null> {
  const sql = `SELECT number, hash FROM cursor WHERE id = 0${forUpdate ? ' FOR UPDATE' : ''}`;
  const row = (await db.query<{ number: number; hash: Buffer }>(sql)).rows[0];
  return row ? { number: row.number, hash: hexOf(row.hash) } : null;
}

async function setCursor(client: Queryable, cursor: Cursor): Promise<void> {
  await client.query(
    'INSERT INTO cursor (id, number, hash) VALUES (0, $1, $2) ON CONFLICT (id) DO UPDATE SET number = excluded.number, hash = excluded.hash',
    [cursor.number, blob(cursor.hash)],
  );
  await client.query('SELECT pg_notify($1, $2)', [BLOCKS_CHANNEL, `${cursor.number}:${cursor.hash}`]);
}

async function insertBlocks(client: Queryable, writes: readonly BlockWrite[]): Promise<void> {
  await client.query(
    `INSERT INTO blocks (number, hash, parent_hash, message_count)
      SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::int[])`,
    [
      writes.map((w) => w.number),
      writes.map((w) => blob(w.hash)),
      writes.map((w) => blob(w.parentHash)),
      writes.map((w) => w.messages.length),
    ],
  );
}

async function insertCandidates(client: Queryable, candidates: readonly CandidateRecord[]): Promise<void> {
  if (candidates.length === 0) return;
  const c = candidates;
  await client.query(
    `INSERT INTO candidates (candidate_hash, para_id, descriptor, commitments, commitments_hash, relay_parent,
        backed_in, core_index, status, enacted_in, verified, reason, availability_votes, availability_threshold, hrmp_watermark)
      SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bigint[],
        $8::int[], $9::text[], $10::bigint[], $11::smallint[], $12::text[], $13::int[], $14::int[], $15::bigint[])
      ON CONFLICT (candidate_hash) DO NOTHING`,
    [
      c.map((x) => blob(x.candidateHash)),
      c.map((x) => x.paraId),
      c.map((x) => Buffer.from(x.descriptor)),
      c.map((x) => Buffer.from(x.commitments)),
      c.map((x) => blob(x.commitmentsHash)),
      c.map((x) => blob(x.relayParent)),
      c.map((x) => x.backedIn),
      c.map((x) => x.coreIndex),
      c.map((x) => x.status),
      c.map((x) => x.enactedIn),
      c.map((x) => (x.verified ? 1 : 0)),
      c.map((x) => x.reason),
      c.map((x) => x.availabilityVotes),
      c.map((x) => x.availabilityThreshold),
      c.map((x) => x.hrmpWatermark),
    ],
  );
}

/**
 * Candidate updates of consecutive blocks; a candidate updated twice keeps the later one, as in
 * order. Every update is also kept in each block's log, in order.
 */
async function updateCandidates(
  client: Queryable,
  updates: readonly { readonly update: CandidateUpdate; readonly block: number; readonly position: number }[],
): Promise<void> {
  const last = lastByKey(updates, (u) => u.update.candidateHash);
  if (last.length === 0) return;
  await client.query(
    `INSERT INTO candidate_updates (block_number, position, candidate_hash, status, availability_votes)
      SELECT * FROM unnest($1::bigint[], $2::int[], $3::bytea[], $4::text[], $5::int[])`,
    [
      updates.map((u) => u.block),
      updates.map((u) => u.position),
      updates.map((u) => blob(u.update.candidateHash)),
      updates.map((u) => u.update.status),
      updates.map((u) => u.update.availabilityVotes),
    ],
  );
  await client.query(
    `UPDATE candidates c SET status = u.status, enacted_in = u.enacted_in, availability_votes = u.votes,
        settled_in = u.settled_in
      FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::int[], $5::bigint[]) AS u(hash, status, enacted_in, votes, settled_in)
      WHERE c.candidate_hash = u.hash`,
    [
      last.map((u) => blob(u.update.candidateHash)),
      last.map((u) => u.update.status),
      last.map((u) => u.update.enactedIn),
      last.map((u) => u.update.availabilityVotes),
      last.map((u) => (u.update.status === 'backed' ? null : u.block)),
    ],
  );
}

async function insertMessages(client: Queryable, messages: readonly MessageRecord[]): Promise<void> {
  if (messages.length === 0) return;
  const m = messages;
  await client.query(
    `INSERT INTO messages (recipient, sent_at, sender, idx, data, hash, candidate_hash, block_hash, mqc_head_after,
        verified, reason, source, peer, position)
      SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::bytea[], $6::bytea[], $7::bytea[],
        $8::bytea[], $9::bytea[], $10::smallint[], $11::text[], $12::text[], $13::text[], $14::int[])`,
    [
      m.map((x) => x.recipient),
      m.map((x) => x.sentAt),
      m.map((x) => x.sender),
      m.map((x) => x.index),
      m.map((x) => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)),
      m.map((x) => blob(x.hash)),
      m.map((x) => blob(x.candidateHash)),
      m.map((x) => blob(x.blockHash)),
      m.map((x) => blob(x.mqcHeadAfter)),
      m.map((x) => (x.verified ? 1 : 0)),
      m.map((x) => x.reason),
      m.map((x) => (x.peer ? 'peer' : 'node')),
      m.map((x) => x.peer ?? null),
      m.map((x) => x.position ?? null),
    ],
  );
}

/** Upserts channels; a channel written twice keeps the later state, and the last `lastSentAt` given. */
async function upsertChannels(client: Queryable, channels: readonly ChannelRecord[]): Promise<void> {
  const c = lastByKey(
    channels,
    (x) => `${x.sender}:${x.recipient}`,
    (before, after) => ({ ...after, lastSentAt: after.lastSentAt ?? before.lastSentAt }),
  );
  if (c.length === 0) return;
  await client.query(
    `INSERT INTO channels (sender, recipient, max_capacity, max_total_size, max_message_size, msg_count, total_size,
        mqc_head, verified_at, last_sent_at)
      SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
        $7::bigint[], $8::bytea[], $9::bigint[], $10::bigint[])
      ON CONFLICT (sender, recipient) DO UPDATE SET
        max_capacity = excluded.max_capacity, max_total_size = excluded.max_total_size,
        max_message_size = excluded.max_message_size, msg_count = excluded.msg_count, total_size = excluded.total_size,
        mqc_head = excluded.mqc_head, verified_at = excluded.verified_at,
        last_sent_at = COALESCE(excluded.last_sent_at, channels.last_sent_at)`,
    [
      c.map((x) => x.sender),
      c.map((x) => x.recipient),
      c.map((x) => x.maxCapacity),
      c.map((x) => x.maxTotalSize),
      c.map((x) => x.maxMessageSize),
      c.map((x) => x.msgCount),
      c.map((x) => x.totalSize),
      c.map((x) => hashOrNull(x.mqcHead)),
      c.map((x) => x.verifiedAt),
      c.map((x) => x.lastSentAt),
    ],
  );
}

async function upsertWatermarks(
  client: Queryable,
  values: readonly (readonly [number, number])[],
): Promise<void> {
  const last = lastByKey(values, ([para]) => String(para));
  if (last.length === 0) return;
  await client.query(
    `INSERT INTO watermarks (para_id, watermark) SELECT * FROM unnest($1::bigint[], $2::bigint[])
      ON CONFLICT (para_id) DO UPDATE SET watermark = excluded.watermark`,
    [last.map(([para]) => para), last.map(([, watermark]) => watermark)],
  );
}

async function insertFailures(client: Queryable, writes: readonly BlockWrite[]): Promise<void> {
  const f = writes.flatMap((w) => w.failures);
  if (f.length === 0) return;
  await client.query(
    `INSERT INTO failures (block_number, kind, reason, para_id, candidate_hash)
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])`,
    [
      f.map((x) => x.blockNumber),
      f.map((x) => x.kind),
      f.map((x) => x.reason),
      f.map((x) => x.paraId),
      f.map((x) => hashOrNull(x.candidateHash)),
    ],
  );
}

async function upsertHistory(
  client: Queryable,
  sender: number,
  recipient: number,
  completeFrom: number,
  headBefore: Hex | null,
  peer: string | null,
): Promise<void> {
  await client.query(
    `INSERT INTO channel_history (sender, recipient, complete_from, head_before, head_known, peer)
      VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (sender, recipient) DO UPDATE SET complete_from = excluded.complete_from,
      head_before = excluded.head_before, head_known = excluded.head_known, peer = excluded.peer`,
    [sender, recipient, completeFrom, hashOrNull(headBefore), peer],
  );
}

async function seedWatermarks(
  client: Queryable,
  at: number,
  values: readonly (readonly [number, number])[],
): Promise<void> {
  await upsertWatermarks(client, values);
  if (values.length === 0) return;
  await client.query(
    `INSERT INTO watermark_seeds (para_id, at, watermark) SELECT p, $1, w FROM unnest($2::bigint[], $3::bigint[]) AS s(p, w)
      ON CONFLICT (para_id, at) DO UPDATE SET watermark = excluded.watermark`,
    [at, values.map(([para]) => para), values.map(([, watermark]) => watermark)],
  );
}
