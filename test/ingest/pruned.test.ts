/**
 * Ingest on a pruned node with a peer (issue 27.1): when the node no longer holds what ingest needs
 * next, ingest moves on instead of failing: an empty store starts a margin past the first block the
 * node still serves, and a store cut off from its node longer than the node's window bridges the
 * difference from the peer, never past `stopAt` (backfill --to). What it ends with equals the peer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NodeClient } from '../../src/chain/node.ts';
import type { Devnet } from '../../src/devnet/index.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { peerBridge } from '../../src/ingest/peer-backfill.ts';
import { silentLogger } from '../../src/log.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { MessageStore } from '../../src/store/store.ts';
import type { MessageRecord } from '../../src/store/types.ts';
import { tcpRelay } from '../helpers/relay.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { storedUpTo } from '../helpers/wait.ts';

const PRUNING = 64;
const key = (m: MessageRecord) => `${m.sentAt}/${m.sender}/${m.index}/${toHex(m.data)}`;

describe('ingest past what a pruned node dropped, with a peer', () => {
  let a: Stack;
  let devnet: Devnet;

  /** Makes `count` blocks ten at a time, the peer keeping up (it follows the pruned node too). */
  const advance = async (count: number) => {
    for (let i = 0; i < count; i += 10) {
      await devnet.newBlocks(10);
      await storedUpTo(a.sidecar.store, devnet.chain.finalized.number);
    }
  };

  before(async () => {
    a = await startStack({ statePruning: PRUNING, initialBlocks: 0 });
    devnet = a.devnet;
    await advance(100);
  });
  after(async () => {
    await a?.close();
  });

  const ingestWithPeer = async (nodeUrl: string, startAt: number, stopAt: number) => {
    const node = await NodeClient.connect(nodeUrl, { reconnectMs: 100 });
    const store = MessageStore.open(':memory:');
    const logger = silentLogger();
    const peers = [a.sidecar.server.url];
    const pruned = peerBridge({ store, node, peers, logger, upTo: stopAt });
    const ingest = new Ingest({ node, store, logger, retryMs: 100, startAt, stopAt, pruned });
    const close = async () => {
      await ingest.stop();
      await node.disconnect();
      await store.close();
    };
    return { store, ingest, close };
  };

  const assertEqualToPeer = async (store: MessageStore, from: number, to: number) => {
    let compared = 0;
    for (const para of devnet.config.paras) {
      const query = { fromBlock: from, toBlock: to, includeUnverified: true };
      const ours = (await store.inbox(para, query)).map(key);
      assert.deepEqual(ours, (await a.sidecar.store.inbox(para, query)).map(key), `inbox of ${para}`);
      compared += ours.length;
    }
    assert.ok(compared > 50, `${compared} messages compared`);
  };

  it('an empty store whose first block the node pruned starts a margin past the first block it serves', async () => {
    // The first block whose body and parent state the node still has.
    const firstServed = devnet.chain.best.number - PRUNING + 2;
    const stopAt = devnet.chain.finalized.number;
    const b = await ingestWithPeer(devnet.url, 5, stopAt);
    try {
      await b.ingest.start();
      await b.ingest.finished();
      const first = b.ingest.firstBlock!;
      const margin = Math.floor((stopAt - firstServed) / 4);
      assert.equal(first, firstServed + margin, `started at #${first}`);
      assert.equal((await b.store.cursor())!.number, stopAt);
      assert.deepEqual(await b.store.gaps(), []);
      await assertEqualToPeer(b.store, first, stopAt);
    } finally {
      await b.close();
    }
  });

  it('cut off longer than the node’s window mid-run: the difference is bridged from the peer, up to stopAt and no further', async () => {
    const relay = await tcpRelay(devnet.port);
    const startAt = devnet.chain.finalized.number - 10;
    const stopAt = devnet.chain.finalized.number + 150;
    const b = await ingestWithPeer(relay.url, startAt, stopAt);
    try {
      await b.ingest.start();
      await storedUpTo(b.store, devnet.chain.finalized.number);
      const cutAt = (await b.store.cursor())!.number;
      await relay.cut();
      await advance(160);
      await relay.restore();
      await b.ingest.finished();
      assert.equal((await b.store.cursor())!.number, stopAt, 'stopped at stopAt');
      const gaps = await b.store.gaps();
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0]!.from, cutAt + 1);
      assert.ok(
        gaps[0]!.to >= devnet.chain.best.number - PRUNING && gaps[0]!.to <= stopAt,
        JSON.stringify(gaps),
      );
      await assertEqualToPeer(b.store, startAt, stopAt);
      const fromPeer = await b.store.inbox(2000, { fromBlock: gaps[0]!.from, toBlock: gaps[0]!.to });
      assert.ok(fromPeer.length > 0 && fromPeer.every((m) => m.peer === a.sidecar.server.url));
    } finally {
      await b.close();
      await relay.close();
    }
  });
});
