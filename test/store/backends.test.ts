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
import type { Store } from '../../src/store/interface.ts';
import { PgStore } from '../../src/store/postgres.ts';
import { MessageStore } from '../../src/store/store.ts';
import { messageId } from '../../src/store/types.ts';
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
