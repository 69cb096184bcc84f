/**
 * The delivery check on its own (para/delivery-check.ts): a block is checked only once its node
 * finalized it and the store holds its watermark; a node's first block is the baseline; a block of a
 * fork the node did not finalize is never checked; heads that differ are one mismatch per block.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParaBlockSeen } from '../../src/derive/speculative.ts';
import { silentLogger } from '../../src/log.ts';
import { DeliveryCheck, type DeliveryMismatch } from '../../src/para/delivery-check.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import type { StoreReader } from '../../src/store/interface.ts';
import type { MessageRecord } from '../../src/store/types.ts';

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}` as Hex;

/** Messages 1000 → 2000, one per relay block 1..20, each leaving head h(100 + sentAt). */
const messages: MessageRecord[] = Array.from({ length: 20 }, (_, i) => ({
  sender: 1000,
  recipient: 2000,
  sentAt: i + 1,
  index: 0,
  data: Uint8Array.of(i),
  hash: h(500 + i),
  candidateHash: h(600 + i),
  blockHash: h(700 + i),
  mqcHeadAfter: h(100 + i + 1),
  verified: true,
  reason: null,
}));

const store = {
  inbox: async (_recipient: number, query: { fromBlock?: number; toBlock?: number } = {}) =>
    messages.filter((m) => m.sentAt >= (query.fromBlock ?? 0) && m.sentAt <= (query.toBlock ?? 1e9)),
} as unknown as StoreReader;

/** Para block `n` (hash h(n)) consumed up to relay `watermark`, reporting `head` for sender 1000. */
function block(
  n: number,
  parent: number,
  watermark: number,
  head: Hex = h(100 + watermark),
  hash: Hex = h(n),
): ParaBlockSeen {
  return {
    paraId: 2000,
    number: n,
    hash,
    parentHash: h(parent),
    messages: [],
    relayParentNumber: watermark,
    inbound: { hrmpWatermark: watermark, mqcHeads: new Map([[1000, head]]) },
  };
}

const head = (n: number) => ({ paraId: 2000, number: n, hash: h(n), parentHash: h(n - 1) });

describe('delivery check', () => {
  it('checks a block once its node finalized it and the store holds its watermark; the first is the baseline', async () => {
    const found: DeliveryMismatch[] = [];
    const check = new DeliveryCheck(store, silentLogger(), (m) => found.push(m));
    await check.paraBlock(block(1, 0, 3), 10);
    await check.paraBlock(block(2, 1, 5), 4);
    await check.paraFinalized(head(2));
    assert.deepEqual(
      check.counts(2000),
      { checks: 0, mismatches: 0 },
      'the store is at #4, the watermark #5',
    );
    await check.stored(5);
    assert.deepEqual(check.counts(2000), { checks: 1, mismatches: 0 });
    await check.paraBlock(block(3, 2, 7, h(999)), 10);
    assert.deepEqual(check.counts(2000), { checks: 1, mismatches: 0 }, 'not finalized yet');
    await check.paraFinalized(head(3));
    assert.deepEqual(check.counts(2000), { checks: 2, mismatches: 1 });
    assert.deepEqual(found[0]?.mismatches, [{ sender: 1000, reported: h(999), expected: h(107) }]);
  });

  it('a block of a fork its node finalized past is never checked; one that consumed nothing new is not either', async () => {
    const check = new DeliveryCheck(store, silentLogger(), () => {});
    await check.paraBlock(block(1, 0, 3), 20);
    await check.paraBlock(block(2, 1, 5, h(999), h(0xf2)), 20); // a fork at height 2 that lies
    await check.paraBlock(block(2, 1, 5), 20);
    await check.paraBlock(block(3, 2, 5), 20); // watermark unchanged
    await check.paraFinalized(head(3));
    assert.deepEqual(check.counts(2000), { checks: 1, mismatches: 0 });
  });
});
