import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Hex } from '../../src/protocol/bytes.ts';
import type { Store } from '../../src/store/interface.ts';
import { PG_SCHEMA_VERSION } from '../../src/store/pg-schema.ts';
import { PgStore } from '../../src/store/postgres.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.ts';
import { MessageStore, StoreError } from '../../src/store/store.ts';
import { type BlockWrite, type CandidateRecord, messageId } from '../../src/store/types.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcmp-store-'));
const h = (byte: number) => `0x${byte.toString(16).padStart(2, '0').repeat(32)}` as Hex;

function block(
  number: number,
  messages: { sender: number; recipient: number; index?: number; verified?: boolean }[] = [],
): BlockWrite {
  return {
    number,
    hash: h(number),
    parentHash: h(number - 1),
    newCandidates: [],
    candidateUpdates: [],
    messages: messages.map((m) => ({
      sender: m.sender,
      recipient: m.recipient,
      sentAt: number,
      index: m.index ?? 0,
      data: Uint8Array.of(0, number & 0xff),
      hash: h(0xaa),
      candidateHash: h(0xcc),
      blockHash: h(number),
      mqcHeadAfter: h(0xdd),
      verified: m.verified ?? true,
      reason: m.verified === false ? 'MQC head mismatch' : null,
    })),
    channels: [],
    watermarks: [],
    failures: [],
  };
}

describe('MessageStore', () => {
  it('creates the schema in WAL mode and records its version', async () => {
    const path = join(dir, 'fresh.sqlite');
    await MessageStore.open(path).close();
    const db = new Database(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('refuses a database from a newer schema, and leaves it untouched', () => {
    const path = join(dir, 'newer.sqlite');
    const db = new Database(path);
    db.exec('CREATE TABLE future (x)');
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => MessageStore.open(path),
      (e: Error) => e instanceof StoreError && /newer than this build supports/.test(e.message),
    );
    const again = new Database(path);
    assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
    assert.ok(again.prepare("SELECT name FROM sqlite_master WHERE name = 'future'").get());
    again.close();
  });

  it('refuses a corrupt file and a foreign SQLite database with a clear error', () => {
    const corrupt = join(dir, 'corrupt.sqlite');
    writeFileSync(corrupt, Buffer.alloc(8192, 0x5a));
    assert.throws(() => MessageStore.open(corrupt), /corrupt or not a SQLite file/);
    const foreign = join(dir, 'foreign.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE accounts (id)');
    db.close();
    assert.throws(() => MessageStore.open(foreign), /holds tables but no xcmp-sidecar schema version/);
  });

  it('migrates a schema-4 database: candidates move to a rowid table with every field kept', async () => {
    const path = join(dir, 'schema4.sqlite');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const [v, sql] of MIGRATIONS.slice(0, 4).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${v + 1}`);
    }
    const insert =
      old.prepare(`INSERT INTO candidates (candidate_hash, para_id, descriptor, commitments, commitments_hash,
      relay_parent, backed_in, core_index, status, enacted_in, verified, reason, availability_votes, availability_threshold,
      hrmp_watermark, settled_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const blob = (byte: number, length: number) => Buffer.alloc(length, byte);
    insert.run(
      blob(0x22, 32),
      2000,
      blob(1, 292),
      blob(2, 1500),
      blob(3, 32),
      blob(4, 32),
      7,
      1,
      'included',
      8,
      1,
      null,
      14,
      14,
      6,
      8,
    );
    insert.run(
      blob(0x11, 32),
      2001,
      blob(5, 292),
      blob(6, 900),
      blob(7, 32),
      blob(8, 32),
      9,
      null,
      'backed',
      null,
      0,
      'no CandidateBacked',
      3,
      14,
      null,
      null,
    );
    old.close();
    const store = MessageStore.open(path);
    const included = (await store.candidate(h(0x22)))!;
    assert.equal(included.paraId, 2000);
    assert.deepEqual(
      [
        included.status,
        included.backedIn,
        included.enactedIn,
        included.coreIndex,
        included.hrmpWatermark,
        included.settledIn,
      ],
      ['included', 7, 8, 1, 6, 8],
    );
    assert.equal(included.commitments.length, 1500);
    assert.deepEqual(
      (await store.pendingCandidates()).map((c) => [
        c.candidateHash,
        c.verified,
        c.reason,
        c.availabilityVotes,
      ]),
      [[h(0x11), false, 'no CandidateBacked', 3]],
    );
    await store.close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const table = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'candidates'").get() as {
      sql: string;
    };
    assert.doesNotMatch(table.sql, /WITHOUT ROWID/);
    const indexes = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'candidates' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all();
    assert.deepEqual(
      indexes.map((i) => (i as { name: string }).name),
      [
        'candidates_backed',
        'candidates_enacted',
        'candidates_para',
        'candidates_pending',
        'candidates_settled',
      ],
    );
    db.close();
  });
});

let postgres: TestPostgres | undefined;
after(async () => postgres?.close());

/** The store behaviour every backend shares, run against each: an in-memory SQLite database and a PostgreSQL one. */
const BACKENDS: { readonly name: string; open(): Promise<Store> }[] = [
  { name: 'SQLite', open: async () => MessageStore.open(':memory:') },
  {
    name: 'PostgreSQL',
    open: async () => {
      postgres ??= await startPostgres();
      return PgStore.open(await postgres.database());
    },
  },
];

for (const backend of BACKENDS) {
  describe(`${backend.name} store`, () => {
    it('writes a block and its cursor together, and refuses a gap', async () => {
      const store = await backend.open();
      assert.equal(await store.cursor(), null);
      await store.writeBlock(block(10, [{ sender: 2000, recipient: 2001 }]));
      assert.deepEqual(await store.cursor(), { number: 10, hash: h(10) });
      await assert.rejects(() => store.writeBlock(block(12)), /does not follow the cursor #10/);
      assert.deepEqual(await store.cursor(), { number: 10, hash: h(10) });
      assert.equal((await store.counts()).messages, 1, 'the refused block left nothing behind');
      await store.close();
    });

    it('writes consecutive blocks in one transaction: all of them with the cursor at the last, or none', async () => {
      const store = await backend.open();
      await store.writeBlock(block(1));
      await store.writeBlocks([
        block(2, [{ sender: 1, recipient: 2 }]),
        block(3, [{ sender: 1, recipient: 2 }]),
      ]);
      assert.deepEqual(await store.cursor(), { number: 3, hash: h(3) });
      assert.equal((await store.counts()).messages, 2);
      // A gap inside the run, and a failing write at its end: the blocks before them are undone too.
      await assert.rejects(
        () => store.writeBlocks([block(4), block(6)]),
        /block #6 does not follow the cursor #4/,
      );
      const broken = block(5, [
        { sender: 1, recipient: 2 },
        { sender: 1, recipient: 2 },
      ]);
      await assert.rejects(() => store.writeBlocks([block(4, [{ sender: 1, recipient: 3 }]), broken]));
      assert.deepEqual(await store.cursor(), { number: 3, hash: h(3) });
      assert.equal((await store.counts()).messages, 2);
      assert.equal((await store.counts()).blocks, 3);
      await store.close();
    });

    it('rolls back a block whose write fails midway: no partial messages, cursor unchanged', async () => {
      const store = await backend.open();
      await store.writeBlock(block(1, [{ sender: 1, recipient: 2 }]));
      // Two messages with the same identity violate the unique index after the first was inserted.
      const broken = block(2, [
        { sender: 1, recipient: 2 },
        { sender: 1, recipient: 2 },
      ]);
      await assert.rejects(() => store.writeBlock(broken));
      assert.equal((await store.cursor())?.number, 1);
      assert.equal((await store.counts()).messages, 1);
      assert.equal((await store.counts()).blocks, 1);
      await store.close();
    });

    it('answers inbox, outbox and message queries in (sentAt, sender, index) order, hiding unverified unless asked', async () => {
      const store = await backend.open();
      await store.writeBlock(
        block(1, [
          { sender: 2004, recipient: 2000 },
          { sender: 2001, recipient: 2000 },
          { sender: 2000, recipient: 2001 },
        ]),
      );
      await store.writeBlock(
        block(2, [
          { sender: 2001, recipient: 2000, verified: false },
          { sender: 2001, recipient: 2000, index: 1 },
        ]),
      );
      const inbox = await store.inbox(2000);
      assert.deepEqual(
        inbox.map((m) => [m.sentAt, m.sender, m.index]),
        [
          [1, 2001, 0],
          [1, 2004, 0],
          [2, 2001, 1],
        ],
      );
      assert.equal((await store.inbox(2000, { includeUnverified: true })).length, 4);
      assert.deepEqual(
        (await store.inbox(2000, { fromBlock: 2 })).map((m) => m.sentAt),
        [2],
      );
      assert.deepEqual((await store.inbox(2000, { toBlock: 1 })).length, 2);
      assert.deepEqual(
        (await store.outbox(2001, { includeUnverified: true })).map((m) => [m.recipient, m.sentAt, m.index]),
        [
          [2000, 1, 0],
          [2000, 2, 0],
          [2000, 2, 1],
        ],
      );
      const first = inbox[0]!;
      assert.deepEqual(await store.message(messageId(first)), first);
      assert.equal(await store.message('not-an-id'), null);
      assert.equal((await store.counts()).unverifiedMessages, 1);
      await store.close();
    });

    it('prunes only messages the watermark has passed and that are older than the window', async () => {
      const store = await backend.open();
      for (let n = 1; n <= 10; n++)
        await store.writeBlock({
          ...block(n, [
            { sender: 1, recipient: 2 },
            { sender: 2, recipient: 1 },
          ]),
          watermarks: n === 10 ? [[2, 6]] : [],
        });
      const removed = await store.prune(3); // older than block 7, and sent at or before the recipient's watermark
      assert.equal(removed, 6, 'messages to para 2 sent at 1..6');
      assert.deepEqual(
        (await store.inbox(2)).map((m) => m.sentAt),
        [7, 8, 9, 10],
      );
      assert.equal((await store.inbox(1)).length, 10, 'para 1 has no watermark yet: nothing pruned');
      await store.close();
    });
  });

  describe(`HRMP watermarks as of a block (${backend.name})`, () => {
    const enacted = (paraId: number, at: number, hrmpWatermark: number): CandidateRecord => ({
      candidateHash: h(paraId * 16 + at),
      paraId,
      descriptor: new Uint8Array(292),
      commitments: new Uint8Array(1),
      commitmentsHash: h(0x50),
      relayParent: h(at - 1),
      backedIn: at - 1,
      coreIndex: 0,
      status: 'included',
      enactedIn: at,
      verified: true,
      reason: null,
      availabilityVotes: 3,
      availabilityThreshold: 3,
      hrmpWatermark,
    });

    it('come from the seed until the para enacts a candidate, and are unknown across a skipped range', async () => {
      const store = await backend.open();
      await store.seed([], [], { at: 0, values: [[7, 3]] });
      await store.writeBlock(block(1));
      await store.writeBlock(block(2));
      assert.equal(await store.watermarkAt(7, 2), 3, 'from the seed');
      assert.equal(await store.watermarkAt(8, 2), null, 'no seed, no enactment');
      await store.writeBlock({ ...block(3), newCandidates: [enacted(7, 3, 5), enacted(8, 3, 1)] });
      assert.equal(await store.watermarkAt(7, 2), 3, 'before the enactment: still the seed');
      assert.equal(await store.watermarkAt(7, 3), 5, 'from the enactment on');
      await store.bridgeGap({
        from: 4,
        to: { number: 9, hash: h(9) },
        channels: [],
        pending: [],
        watermarks: [[7, 8]],
        filled: new Map(),
      });
      await store.writeBlock({ ...block(10), parentHash: h(9) });
      assert.deepEqual(await store.gaps(), [{ from: 4, to: 9 }]);
      assert.equal(await store.watermarkAt(7, 10), 8, 'the node reported it at the end of the range');
      assert.equal(await store.watermarkAt(8, 10), null, 'para 8 may have moved inside the range: unknown');
      assert.equal(await store.watermarkAt(8, 3), 1, 'before the range it is still known');
      await store.close();
    });
  });
}

describe('PostgreSQL store schema', () => {
  const database = async () => {
    postgres ??= await startPostgres();
    return postgres.database();
  };
  const query = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  it('creates the schema once, records its version, and opens concurrently without racing', async () => {
    const url = await database();
    const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
    assert.equal(stores.filter((s) => s.created).length >= 1, true);
    assert.deepEqual(await query(url, 'SELECT version FROM xcmp_schema'), [{ version: PG_SCHEMA_VERSION }]);
    assert.doesNotMatch(stores[0]!.path, /xcmp-test/, 'the password is not in the path shown');
    for (const store of stores) await store.close();
  });

  it('refuses a newer schema and a database holding its tables without a version, touching neither', async () => {
    const newer = await database();
    await (await PgStore.open(newer)).close();
    await query(newer, 'UPDATE xcmp_schema SET version = 99');
    await assert.rejects(() => PgStore.open(newer), /schema version 99, newer than this build supports/);
    assert.deepEqual(await query(newer, 'SELECT version FROM xcmp_schema'), [{ version: 99 }]);
    const foreign = await database();
    await query(foreign, 'CREATE TABLE messages (id INTEGER)');
    await assert.rejects(
      () => PgStore.open(foreign),
      /holds tables \(messages\) but no xcmp-sidecar schema version/,
    );
    assert.deepEqual(await query(foreign, "SELECT to_regclass('xcmp_schema') AS t"), [{ t: null }]);
  });

  it('refuses an unreachable server with the URL, password hidden', async () => {
    await assert.rejects(
      () => PgStore.open('postgres://xcmp:secret@127.0.0.1:1/none'),
      (error: Error) =>
        /cannot open the database postgres:\/\/xcmp:\*\*\*@127\.0\.0\.1:1\/none/.test(error.message),
    );
  });

  it('lets only one of two writers extend the cursor: the other is refused, nothing half-written', async () => {
    const url = await database();
    const [a, b] = [await PgStore.open(url), await PgStore.open(url)];
    await a.writeBlock(block(1, [{ sender: 1, recipient: 2 }]));
    const results = await Promise.allSettled([
      a.writeBlock(block(2, [{ sender: 1, recipient: 2 }])),
      b.writeBlock(block(2, [{ sender: 1, recipient: 2 }])),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one write of block 2 lands');
    assert.equal((await a.counts()).messages, 2);
    await assert.rejects(() => b.writeBlock(block(2)), /block #2 does not follow the cursor #2/);
    await a.close();
    await b.close();
  });
});
