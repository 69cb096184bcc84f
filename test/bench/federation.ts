/**
 * Federation (`npm run bench -- federation`): history taken from a peer sidecar and proven against
 * a pruned node, against the same history ingested block by block from an archive node, same run.
 * Prints messages/s accepted and bytes transferred per message.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstServable } from '../../src/chain/blocks.ts';
import { NodeClient } from '../../src/chain/node.ts';
import { startDevnet } from '../../src/devnet/index.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { backfillFromPeers } from '../../src/ingest/peer-backfill.ts';
import { silentLogger } from '../../src/log.ts';
import { MessageStore } from '../../src/store/store.ts';
import { startRewritingLayer } from '../helpers/lying-layer.ts';
import { startStack } from '../helpers/sidecar.ts';
import { storedUpTo } from '../helpers/wait.ts';

const BLOCKS = 1000;
const PRUNING = 64;

async function ingest(
  url: string,
  db: string,
  from: number,
  to: number,
): Promise<{ store: MessageStore; node: NodeClient; ms: number }> {
  const store = MessageStore.open(db);
  const node = await NodeClient.connect(url);
  const started = performance.now();
  const run = new Ingest({ node, store, logger: silentLogger(), startAt: from, stopAt: to });
  await run.start();
  await run.finished();
  await run.stop();
  return { store, node, ms: performance.now() - started };
}

export async function benchFederation(): Promise<void> {
  console.log(`\nfederation: ${BLOCKS} default devnet blocks, node pruned to ${PRUNING}`);
  const a = await startStack({ initialBlocks: 0, retainBlocks: BLOCKS + 100 });
  const pruned = await startDevnet({ blockTimeMs: 0, retainBlocks: BLOCKS + 100, statePruning: PRUNING });
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-bench-federation-'));
  try {
    for (let i = 0; i < BLOCKS; i += 50) {
      await a.devnet.newBlocks(50);
      await pruned.newBlocks(50);
    }
    const finalized = pruned.chain.finalized.number;
    await storedUpTo(a.sidecar.store, finalized, 120_000);
    const probe = await NodeClient.connect(pruned.url);
    const first = (await firstServable(probe, 1, finalized))!;
    await probe.disconnect();
    const b = await ingest(pruned.url, join(dir, 'b.sqlite'), first, finalized);
    let bytes = 0;
    const layer = await startRewritingLayer(a.sidecar.server.url, (frame) => {
      bytes += JSON.stringify(frame).length;
    });
    const started = performance.now();
    const result = await backfillFromPeers({
      store: b.store,
      node: b.node,
      peers: [layer.url],
      from: 1,
      logger: silentLogger(),
    });
    const peerMs = performance.now() - started;
    const accepted = result.outcomes.reduce((total, o) => total + o.messages, 0);
    const archive = await ingest(a.devnet.url, join(dir, 'archive.sqlite'), 1, first - 1);
    const archiveMessages = (await archive.store.counts()).messages;
    console.log(
      `  from a peer, proven against the pruned node: ${accepted} messages of #1..#${first - 1} in ${peerMs.toFixed(0)} ms = ${((accepted * 1000) / peerMs).toFixed(0)} messages/s, ${(bytes / Math.max(1, accepted)).toFixed(0)} bytes/message on the wire`,
    );
    console.log(
      `  baseline, block by block from an archive node: ${archiveMessages} messages in ${archive.ms.toFixed(0)} ms = ${((archiveMessages * 1000) / archive.ms).toFixed(0)} messages/s`,
    );
    await layer.close();
    for (const run of [b, archive]) {
      await run.node.disconnect();
      await run.store.close();
    }
  } finally {
    await pruned.close();
    await a.close();
  }
}
