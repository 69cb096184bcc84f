/**
 * The availability timeout comes from the runtime (issue 27.5), not a constant: `ActiveConfig`'s
 * `group_rotation_frequency + paras_availability_period`, decoded through the metadata of either
 * layout (in `scheduler_params` on newer runtimes, top level on older), and the pending lifecycle
 * drops a candidate that outlives it as `notEnacted`, at that many blocks, not at 32.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeClient } from '../../src/chain/node.ts';
import { type LifecycleBlock, PendingLifecycle } from '../../src/derive/pending.ts';
import { ACTIVE_CONFIG_KEY, decodeAvailabilityTimeout } from '../../src/derive/storage.ts';
import { startDevnet } from '../../src/devnet/index.ts';
import { fromHex, type Hex, toHex } from '../../src/protocol/bytes.ts';
import { encodeCommitments } from '../../src/protocol/commitments.ts';
import type { BlockWrite, CandidateRecord } from '../../src/store/types.ts';

describe('availability timeout from the active configuration', () => {
  for (const runtime of ['polkadot-v15', 'static-polkadot'] as const)
    it(`${runtime}: ActiveConfig decodes to group_rotation_frequency + paras_availability_period`, async () => {
      const devnet = await startDevnet({
        runtime,
        blockTimeMs: 0,
        groupRotationFrequency: 3,
        parasAvailabilityPeriod: 4,
      });
      const node = await NodeClient.connect(devnet.url);
      try {
        const at = devnet.chain.best.hash;
        const value = await node.storage(ACTIVE_CONFIG_KEY, at);
        assert.ok(value, 'the devnet serves ActiveConfig');
        assert.equal(decodeAvailabilityTimeout(await node.metadata(at), fromHex(value)), 7);
      } finally {
        await node.disconnect();
        await devnet.close();
      }
    });
});

const hash = (n: number): Hex => toHex(new Uint8Array(32).fill(n));

function block(number: number, write: Partial<BlockWrite> = {}): LifecycleBlock {
  return {
    number,
    hash: hash(number),
    write: {
      number,
      hash: hash(number),
      parentHash: hash(number - 1),
      newCandidates: [],
      candidateUpdates: [],
      messages: [],
      channels: [],
      watermarks: [],
      failures: [],
      availabilityTimeout: 5,
      ...write,
    },
  };
}

const candidate: CandidateRecord = {
  candidateHash: hash(200),
  paraId: 2000,
  descriptor: new Uint8Array(292),
  commitments: encodeCommitments({
    upwardMessages: [],
    horizontalMessages: [{ recipient: 2001, data: Uint8Array.of(0, 1, 2) }],
    newValidationCode: null,
    headData: Uint8Array.of(1),
    processedDownwardMessages: 0,
    hrmpWatermark: 1,
  }),
  commitmentsHash: hash(201),
  relayParent: hash(0),
  backedIn: 1,
  coreIndex: 0,
  status: 'backed',
  enactedIn: null,
  verified: true,
  reason: null,
  availabilityVotes: 0,
  availabilityThreshold: 14,
  hrmpWatermark: 1,
};

describe('the pending lifecycle and the configured timeout', () => {
  it('drops a candidate neither enacted, timed out nor freed once the configured blocks have passed', () => {
    const lifecycle = new PendingLifecycle();
    const events = lifecycle.change([], [block(1, { newCandidates: [candidate] })]);
    assert.deepEqual(
      events.filter((e) => e.type === 'pending').map((e) => e.block.number),
      [1],
    );
    const dropsAt: number[] = [];
    for (let n = 2; n <= 10; n++)
      for (const event of lifecycle.change([], [block(n)]))
        if (event.type === 'dropped') {
          dropsAt.push(n);
          assert.equal(event.reason, 'notEnacted');
          assert.match(event.detail, /not enacted within 5 blocks of its backing at #1/);
        }
    assert.deepEqual(dropsAt, [7], 'dropped once, 5 blocks after backing (not 32)');
  });
});
