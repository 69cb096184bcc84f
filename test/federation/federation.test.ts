/**
 * Federation: sidecar B, on a devnet node pruned to 64 blocks, backfills 500 blocks of history
 * from sidecar A (on an archive devnet with the same chain) and keeps it only when it proves out
 * against B's own node. Lying, stale and unreachable peers get nothing stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChannelHistoryJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { acceptPeerHistory, PeerRejection } from '../../src/derive/federation.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import { fromHex, toHex } from '../../src/protocol/bytes.ts';
import { extendMqcHead, ZERO_HEAD } from '../../src/protocol/mqc.ts';
import { startSidecar } from '../../src/sidecar.ts';
import { MessageStore } from '../../src/store/store.ts';
import type { MessageRecord } from '../../src/store/types.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { assertInboundEqualsNode } from '../helpers/inbound.ts';
import { startRewritingLayer } from '../helpers/lying-layer.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { storedUpTo } from '../helpers/wait.ts';

const BLOCKS = 570;
const PRUNING = 64;

type Page = ChannelHistoryJson;
const LIES = [
  'alter one byte',
  'drop a message',
  'insert a message',
  'reorder two messages',
  'shift a sentAt',
] as const;

/** A smart liar: changes the messages, then rewrites every claimed head so the pages stay self-consistent. */
function lie(pages: Page[], kind: (typeof LIES)[number], seed: number): Page[] {
  const copy = structuredClone(pages);
  const messages = copy.flatMap((p) => p.messages);
  const at = messages.length > 2 ? 1 + (seed % (messages.length - 2)) : 0;
  const target = messages[at]!;
  switch (kind) {
    case 'alter one byte':
      target.data = `${target.data.slice(0, -2)}${(Number.parseInt(target.data.slice(-2), 16) ^ 1).toString(16).padStart(2, '0')}`;
      break;
    case 'drop a message':
      for (const page of copy) page.messages = page.messages.filter((m) => m !== target);
      break;
    case 'insert a message':
      for (const page of copy) {
        const i = page.messages.indexOf(target);
        if (i >= 0) page.messages.splice(i, 0, { ...target, data: '0x000102' });
      }
      break;
    case 'reorder two messages': {
      const other = messages[at + 1] ?? messages[at - 1]!;
      [target.data, other.data] = [other.data, target.data];
      break;
    }
    case 'shift a sentAt':
      target.sentAt = Math.max(target.sentAt - 1, messages[at - 1]?.sentAt ?? target.sentAt - 1);
      if (target.sentAt === messages[at]!.sentAt && at === 0) target.sentAt += 1;
      break;
  }
  let head: Uint8Array | null = copy[0]!.startHead ? fromHex(copy[0]!.startHead) : null;
  for (const page of copy) {
    page.startHead = head ? toHex(head) : null;
    for (const m of page.messages) {
      head = extendMqcHead(head ?? ZERO_HEAD, m.sentAt, fromHex(m.data));
      m.mqcHead = toHex(head);
    }
  }
  return copy;
}

const key = (m: MessageRecord) => `${m.sentAt}/${m.index}/${toHex(m.data)}`;

describe('federation: history from a peer, proven against your own node', () => {
  let a: Stack;
  let pruned: Devnet;
  let first: number;
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-federation-'));

  before(async () => {
    a = await startStack({ initialBlocks: 0 });
    pruned = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, statePruning: PRUNING });
    for (let i = 0; i < BLOCKS; i += 10) {
      await a.devnet.newBlocks(10);
      await pruned.newBlocks(10);
    }
    assert.equal(pruned.chain.best.hash, a.devnet.chain.best.hash, 'the same chain');
    await storedUpTo(a.sidecar.store, a.devnet.chain.finalized.number, 60_000);
    // Backfill follows the node from a margin (a quarter of what it keeps) past the first block it serves.
    const servable = pruned.chain.best.number - PRUNING + 2;
    first = servable + Math.floor((pruned.chain.finalized.number - servable) / 4);
  });
  after(async () => {
    await pruned?.close();
    await a?.close();
  });

  const backfill = (db: string, peers: string[]) =>
    runCliAsync([
      'backfill',
      '--from',
      '1',
      '--node',
      pruned.url,
      '--db',
      db,
      ...peers.flatMap((p) => ['--peer', p]),
    ]);

  /** B's store equals A's for every channel over B's range: every message, order, sentAt, data. */
  const assertEqualToA = async (db: string) => {
    const b = MessageStore.open(db);
    try {
      const end = (await b.cursor())!.number;
      assert.equal((await b.channels()).length, 12);
      for (const c of await b.channels()) {
        const ours = await b.channelMessages(c.sender, c.recipient, 0, end);
        const theirs = await a.sidecar.store.channelMessages(c.sender, c.recipient, 0, end);
        assert.deepEqual(ours.map(key), theirs.map(key), `${c.sender}>${c.recipient}`);
        assert.ok(
          ours.filter((m) => m.sentAt < first).every((m) => m.peer),
          'history marked as from a peer',
        );
      }
    } finally {
      await b.close();
    }
  };

  it('backfills 500 blocks of history from an honest peer: the store equals the peer’s, inbound answers equal the node’s', async () => {
    const db = join(dir, 'honest.sqlite');
    const result = await backfill(db, [a.sidecar.server.url]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`stored #${first}\\.\\.#`));
    assert.match(
      result.stdout,
      /from peers: \d+ messages on 12 channels proven against the node from #1; 0 peer answers rejected/,
    );
    assert.ok(first - 1 >= 500, `${first - 1} blocks of history from the peer`);
    await assertEqualToA(db);

    const b = await startSidecar({
      nodeUrl: pruned.url,
      dbPath: db,
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      startAt: 1,
      serveInbound: 'store',
    });
    const client = await rpcSocket(b.server.url);
    try {
      const inbox = await client.call('xcmp_getInbox', [2000, { toBlock: 5 }]);
      const message = (inbox.result as { messages: { source?: string; peer?: string; claimed?: string[] }[] })
        .messages[0]!;
      assert.deepEqual(
        [message.source, message.peer, message.claimed],
        ['peer', a.sidecar.server.url, ['candidateHash', 'blockHash']],
      );
      await assertInboundEqualsNode(b.server.url, pruned.url, pruned.config.paras, (await b.store.cursor())!);
      const status = (await client.call('xcmp_status')).result as { inbound: { fallbacks: number } };
      assert.equal(status.inbound.fallbacks, 0, 'every answer came from the store');
    } finally {
      client.close();
      await b.close();
    }
  });

  it(`rejects a peer that alters, drops, inserts, reorders or shifts a message: ${LIES.length * 12} cases, every one`, async () => {
    const client = await XcmpClient.connect(a.sidecar.server.url);
    const end = (await a.sidecar.store.cursor())!;
    let cases = 0;
    try {
      for (const c of await a.sidecar.store.channels()) {
        const range = { sender: c.sender, recipient: c.recipient, from: 1, to: first - 1 };
        const page = await client.call<Page>('xcmp_getChannelHistory', [
          c.sender,
          c.recipient,
          { fromBlock: 1, toBlock: first - 1, limit: 10_000 },
        ]);
        const held = await a.sidecar.store.channelMessages(c.sender, c.recipient, first - 1, end.number);
        const own = {
          held,
          nodeHead: (await a.sidecar.store.channel(c.sender, c.recipient))!.mqcHead,
          at: end.number,
        };
        assert.equal(acceptPeerHistory(range, [page], own, 'honest').messages.length, page.messages.length);
        LIES.forEach((kind, i) => {
          cases += 1;
          assert.throws(
            () => acceptPeerHistory(range, lie([page], kind, i * 7 + c.sender), own, 'liar'),
            (error: unknown) => error instanceof PeerRejection,
            `${kind} on ${c.sender}>${c.recipient}`,
          );
        });
      }
    } finally {
      await client.close();
    }
    assert.ok(cases >= 50, `${cases} cases`);
  });

  it('a lying peer first: every channel it lies about is rejected, the honest peer after it fills them all', async () => {
    let n = 0;
    const liar = await startRewritingLayer(a.sidecar.server.url, (frame) => {
      const page = frame.result as Page | undefined;
      if (page && Array.isArray(page.messages) && page.messages.length > 2)
        frame.result = lie([page], LIES[n++ % LIES.length]!, n)[0];
    });
    try {
      const db = join(dir, 'liar-first.sqlite');
      const result = await backfill(db, [liar.url, a.sidecar.server.url]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /on 12 channels proven against the node from #1; 12 peer answers rejected/);
      await assertEqualToA(db);
    } finally {
      await liar.close();
    }
  });

  it('only lying, stale or unreachable peers: nothing from them is stored, exit 1 names the channels', async () => {
    const liar = await startRewritingLayer(a.sidecar.server.url, (frame) => {
      const page = frame.result as Page | undefined;
      if (page && Array.isArray(page.messages) && page.messages.length > 0) page.messages.pop();
    });
    // A stale peer: it holds the channels only from #300 on.
    const stale = await startStack({ initialBlocks: 0 }, { startAt: 300 });
    try {
      for (let i = 0; i < BLOCKS; i += 50) await stale.devnet.newBlocks(50);
      await storedUpTo(stale.sidecar.store, stale.devnet.chain.finalized.number, 60_000);
      const db = join(dir, 'liars.sqlite');
      const result = await backfill(db, [liar.url, stale.sidecar.server.url, 'ws://127.0.0.1:1']);
      assert.equal(result.status, 1);
      const lines = result.stderr
        .trim()
        .split('\n')
        .filter((line) => line.includes('no peer could prove'));
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /channels (\d+>\d+, ){11}\d+>\d+ from #1/);
      const b = MessageStore.open(db);
      try {
        assert.equal(
          (await b.inbox(2000, { fromBlock: 1, toBlock: first - 1, includeUnverified: true })).length,
          0,
        );
        assert.equal(
          (await b.channelHistory(2000, 2001))!.completeFrom,
          first,
          'the store still says where its history starts',
        );
      } finally {
        await b.close();
      }
    } finally {
      await stale.close();
      await liar.close();
    }
  });
});
