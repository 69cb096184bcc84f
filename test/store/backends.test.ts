/**
 * The two stores give the same answers: one devnet chain (with time-outs, tampered commitments and
 * forks) is ingested into a SQLite file and a PostgreSQL database, and every reader method is
 * compared after catch-up (batched writes), after following the head (one write per block) and
 * after pruning.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { NodeClient } from '../../src/chain/node.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { silentLogger } from '../../src/log.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import type { Store } from '../../src/store/interface.ts';
import { PgStore } from '../../src/store/postgres.ts';
import { MessageStore } from '../../src/store/store.ts';
import { type JourneyQuery, type JourneyRow, messageId } from '../../src/store/types.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { storedUpTo } from '../helpers/wait.ts';

/** Everything a reader can be asked about the chain the devnet made, as plain values. */
async function snapshot(store: Store, paras: readonly number[]): Promise<Record<string, unknown>> {
  const cursor = await store.cursor();
  const first = await store.firstBlock();
  const channels = await store.channels();
  const candidates = await store.candidatesActive(0, null, 100_000);
  const mailboxes: Record<string, unknown> = {};
  for (const para of paras) {
    mailboxes[`in:${para}`] = await store.inbox(para, { includeUnverified: true });
    mailboxes[`in-verified:${para}`] = (await store.inbox(para)).map(messageId);
    mailboxes[`in-window:${para}`] = (await store.inbox(para, { fromBlock: 20, toBlock: 40, limit: 7 })).map(
      messageId,
    );
    mailboxes[`out:${para}`] = (await store.outbox(para, { includeUnverified: true })).map(messageId);
    mailboxes[`watermark:${para}`] = [await store.watermark(para), await store.watermarkAt(para, 30)];
  }
  const perChannel: Record<string, unknown> = {};
  for (const c of channels) {
    const key = `${c.sender}>${c.recipient}`;
    perChannel[key] = {
      channel: await store.channel(c.sender, c.recipient),
      history: await store.channelHistory(c.sender, c.recipient),
      headBefore: await store.headBefore(c.sender, c.recipient, 25),
      page: (await store.channelPage(c.sender, c.recipient, 10, 60, 5)).map(messageId),
      messages: (await store.channelMessages(c.sender, c.recipient, 5, 50)).map(messageId),
    };
  }
  const perCandidate: Record<string, unknown> = {};
  for (const c of candidates)
    perCandidate[c.candidateHash] = {
      record: await store.candidate(c.candidateHash),
      messages: (await store.candidateMessages(c.candidateHash)).map(messageId),
    };
  const blocks: unknown[] = [];
  for (let n = first ?? 1; n <= (cursor?.number ?? 0); n += 7) {
    const hash = await store.blockHash(n);
    blocks.push([n, hash, hash ? await store.blockNumber(hash) : null]);
  }
  const some = (await store.inbox(paras[0]!, { includeUnverified: true, limit: 3 })).map(messageId);
  return {
    cursor,
    first,
    counts: await store.counts(),
    channels,
    candidates,
    pending: (await store.pendingCandidates()).map((c) => c.candidateHash).sort(),
    mailboxes,
    perChannel,
    perCandidate,
    blocks,
    messages: await Promise.all(some.map((id) => store.message(id))),
    watermarks: [...(await store.watermarks())].sort((a, b) => a[0] - b[0]),
    gaps: await store.gaps(),
    failures: await store.recentFailures(50),
    active: (await store.candidatesActive(30, paras[1]!, 4)).map((c) => c.candidateHash),
    storedBlocks: await Promise.all([5, 12, 33, 61, 90].map((n) => store.storedBlock(n))),
  };
}

describe('SQLite and PostgreSQL stores', () => {
  let postgres: TestPostgres;
  let devnet: Devnet;
  let node: NodeClient;
  const stores: { name: string; store: Store; ingest: Ingest }[] = [];
  let pgUrl: string;

  before(async () => {
    postgres = await startPostgres();
    devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, finalityLag: 2 });
    node = await NodeClient.connect(devnet.url, { reconnectMs: 200 });
    const sqlite = MessageStore.open(join(mkdtempSync(join(tmpdir(), 'xcmp-backends-')), 'store.sqlite'));
    pgUrl = await postgres.database();
    const pg = await PgStore.open(pgUrl);
    for (const [name, store] of [
      ['SQLite', sqlite],
      ['PostgreSQL', pg],
    ] as const)
      stores.push({
        name,
        store,
        ingest: new Ingest({ node, store, logger: silentLogger(), retryMs: 100, startAt: 1 }),
      });
  });

  after(async () => {
    for (const { ingest, store } of stores) {
      await ingest.stop();
      await store.close();
    }
    await node?.disconnect();
    await devnet?.close();
    await postgres?.close();
  });

  async function makeBlocks(count: number, offset: number): Promise<void> {
    for (let i = 1; i <= count; i++) {
      const n = offset + i;
      if (n % 30 === 0) {
        await devnet.fork(1);
        continue;
      }
      const faults =
        n % 11 === 0
          ? { timeOut: new Set([2000 + (n % 2)]) }
          : n % 11 === 5
            ? { tamperCommitments: new Set([2004]) }
            : undefined;
      await devnet.newBlocks(1, faults);
    }
  }

  async function assertSameAnswers(when: string): Promise<void> {
    const [a, b] = await Promise.all(stores.map(({ store }) => snapshot(store, devnet.config.paras)));
    const messages = (a as { counts: { messages: number } }).counts.messages;
    assert.ok(messages > 100, `${when}: the chain carries messages (${messages})`);
    assert.deepEqual(b, a, `${when}: PostgreSQL answers as SQLite does`);
  }

  it('answer every reader method the same after catch-up, following the head, and pruning', async () => {
    await makeBlocks(80, 0);
    for (const { ingest } of stores) await ingest.start();
    for (const { store } of stores) await storedUpTo(store, devnet.chain.finalized.number);
    await assertSameAnswers('after catch-up');
    await makeBlocks(25, 80);
    for (const { store } of stores) await storedUpTo(store, devnet.chain.finalized.number);
    await assertSameAnswers('after following the head');
    const pruned = await Promise.all(stores.map(({ store }) => store.prune(20)));
    assert.ok(pruned[0]! > 0, 'pruning removed messages');
    assert.equal(pruned[1], pruned[0], 'both pruned as many');
    await assertSameAnswers('after pruning');
  });

  it('keep journeys alike: upserted, found by id or message hash, paged from a block with filters, pruned with the rest', async () => {
    const cursor = (await stores[0]!.store.cursor())!.number;
    const hex = (n: number, tag: number) =>
      `0x${tag.toString(16).padStart(2, '0')}${n.toString(16).padStart(62, '0')}` as Hex;
    const rows: JourneyRow[] = Array.from({ length: 300 }, (_, i) => {
      const sentAt = cursor - 60 + (i % 60);
      const [sender, recipient] = [2000 + (i % 3), 1000 + (i % 2)];
      // Every fifth XCM shares its id (a topic) with the one before: an id names at most 16 journeys.
      const id = hex(i - (i % 5 === 4 ? 1 : 0), 1);
      const key = `${sentAt}-${sender}-${recipient}-${i}/0`;
      return {
        key,
        id,
        messageHash: hex(i, 2),
        sender,
        recipient,
        sentAt,
        body: JSON.stringify({ key, n: i }),
      };
    });
    for (const { store } of stores) {
      await store.writeJourneys(rows);
      // Written again with a new body: replaced, not added.
      await store.writeJourneys(
        rows.slice(0, 10).map((r) => ({ ...r, body: JSON.stringify({ key: r.key, again: true }) })),
      );
    }
    const answers = async (store: Store) => {
      const pageAll = async (query: Omit<JourneyQuery, 'limit' | 'afterKey'>) => {
        const keys: string[] = [];
        for (let from = query.fromBlock, afterKey = ''; ; ) {
          const page = await store.journeysFrom({ ...query, fromBlock: from, afterKey, limit: 7 });
          keys.push(...page.map((r) => r.key));
          if (page.length < 7) return keys;
          ({ sentAt: from, key: afterKey } = page.at(-1)!);
        }
      };
      return {
        byId: await store.journeys(hex(3, 1)),
        byHash: await store.journeys(hex(7, 2)),
        unknown: await store.journeys(hex(999, 3)),
        all: await pageAll({ fromBlock: 0 }),
        fromSender: await pageAll({ fromBlock: cursor - 30, sender: 2001 }),
        toRecipient: await pageAll({ fromBlock: cursor - 10, recipient: 1001, id: hex(20, 2) }),
      };
    };
    const [a, b] = await Promise.all(stores.map(({ store }) => answers(store)));
    assert.deepEqual(b, a);
    assert.equal(a!.all.length, 300);
    assert.deepEqual(a!.byId.map((r) => r.key).sort(), [rows[3]!.key, rows[4]!.key].sort());
    assert.equal(JSON.parse(a!.byId.find((r) => r.key === rows[3]!.key)!.body).again, true);
    assert.deepEqual(a!.byHash, [{ ...rows[7]!, body: JSON.stringify({ key: rows[7]!.key, again: true }) }]);
    assert.deepEqual(a!.unknown, []);
    assert.equal(
      a!.fromSender.length,
      rows.filter((r) => r.sentAt >= cursor - 30 && r.sender === 2001).length,
    );
    await Promise.all(stores.map(({ store }) => store.prune(30)));
    const left = await Promise.all(stores.map(async ({ store }) => (await answers(store)).all));
    assert.deepEqual(left[1], left[0]);
    assert.ok(left[0]!.length > 0 && left[0]!.length < 300, `${left[0]!.length} journeys left`);
    assert.ok(
      left[0]!.every((key) => Number(key.split('-')[0]) >= cursor - 30),
      'only recent journeys kept',
    );
  });

  it('PostgreSQL reads xcmp_status counts from counters its triggers keep (equal to COUNT(*)), not from a scan', async () => {
    const store = stores.find((s) => s.name === 'PostgreSQL')!.store;
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      const counted = async (sql: string) => Number((await client.query(sql)).rows[0].n);
      const scanned = {
        blocks: await counted('SELECT COUNT(*) AS n FROM blocks'),
        messages: await counted('SELECT COUNT(*) AS n FROM messages'),
        unverifiedMessages: await counted('SELECT COUNT(*) AS n FROM messages WHERE verified = 0'),
        candidates: await counted('SELECT COUNT(*) AS n FROM candidates'),
      };
      const counts = await store.counts();
      assert.deepEqual(
        {
          blocks: counts.blocks,
          messages: counts.messages,
          unverifiedMessages: counts.unverifiedMessages,
          candidates: counts.candidates,
        },
        scanned,
      );
      assert.ok(scanned.unverifiedMessages > 0 && scanned.candidates > 0);
      await client.query("UPDATE xcmp_counts SET total = total + 1000 WHERE name = 'messages'");
      assert.equal((await store.counts()).messages, scanned.messages + 1000, 'read from the counter');
      await client.query("UPDATE xcmp_counts SET total = total - 1000 WHERE name = 'messages'");
    } finally {
      await client.end();
    }
  });
});
