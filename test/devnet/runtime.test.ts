import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { u8aToHex } from '@polkadot/util';
import { observeBlock } from '../../src/derive/observe.ts';
import { DevnetChain } from '../../src/devnet/chain.ts';
import { devnetConfig } from '../../src/devnet/config.ts';
import { DevnetEncoder } from '../../src/devnet/encoder.ts';
import { runtimeMqcStep } from '../../src/devnet/runtime.ts';
import { fromHex, toHex } from '../../src/protocol/bytes.ts';
import { skipWithoutFixtures, vectorsDir } from '../helpers/fixtures.ts';

const encoder = new DevnetEncoder('polkadot-v15');

function observe(chain: DevnetChain, number: number) {
  const block = chain.blockAt(number)!;
  const events = block.storage.get(encoder.storageKey('System', 'Events'))!;
  return observeBlock(encoder.metadata, {
    header: block.header,
    extrinsics: block.extrinsics.map((x) => fromHex(x)),
    events: fromHex(events),
  });
}

describe('devnet runtime model', () => {
  it('reproduces every message-queue-chain vector with its own MQC code', {
    skip: skipWithoutFixtures,
  }, () => {
    const vectors = JSON.parse(readFileSync(join(vectorsDir, 'mqc.json'), 'utf8')) as {
      chains: { initialHead: string; messages: { sentAt: number; data: string; headAfter: string }[] }[];
    };
    for (const chain of vectors.chains) {
      let head = fromHex(chain.initialHead);
      for (const message of chain.messages) {
        head = runtimeMqcStep(head, message.sentAt, fromHex(message.data));
        assert.equal(u8aToHex(head), message.headAfter);
      }
    }
  });

  it('times out a candidate: CandidateTimedOut, its messages never reach storage, the core is reused', async () => {
    const chain = await DevnetChain.create(devnetConfig({ blockTimeMs: 0 }), encoder);
    await chain.produce();
    const backedIn = await chain.produce({ faults: { timeOut: new Set([2000]) } });
    const doomed = backedIn.state.pending.get(2000)!;
    assert.equal(doomed.availableAt, null);
    const next = await chain.produce();
    const observation = observe(chain, next.number);
    assert.deepEqual(
      observation.events!.timedOut.map((e) => toHex(e.candidateHash)),
      [toHex(doomed.candidateHash)],
    );
    assert.ok(!observation.events!.included.some((e) => e.paraId === 2000));
    for (const message of doomed.commitments.horizontalMessages) {
      const channel = next.state.channels.get(`2000:${message.recipient}`)!;
      assert.ok(
        !channel.contents.some((m) => toHex(m.data) === toHex(message.data)),
        'timed-out message not queued',
      );
    }
    assert.ok(
      observation.events!.backed.some((e) => e.paraId === 2000),
      'para 2000 backs again on the freed core',
    );
  });

  it('tampers with commitments in the inherent only: the event keeps the true hash, storage the true messages', async () => {
    const chain = await DevnetChain.create(devnetConfig({ blockTimeMs: 0 }), encoder);
    await chain.produce();
    const block = await chain.produce({ faults: { tamperCommitments: new Set([2001]) } });
    const observation = observe(chain, block.number);
    const tampered = observation.candidates.find((c) => c.paraId === 2001)!;
    assert.equal(tampered.commitmentsVerified, false);
    assert.match(tampered.verificationError!, /differs from CandidateBacked/);
    assert.ok(observation.candidates.filter((c) => c.paraId !== 2001).every((c) => c.commitmentsVerified));
    const enacted = await chain.produce();
    const truth = block.state.pending.get(2001)!.commitments.horizontalMessages[0]!;
    const queued = enacted.state.channels.get(`2001:${truth.recipient}`)!.contents.at(-1)!;
    assert.equal(toHex(queued.data), toHex(truth.data));
    assert.notEqual(toHex(tampered.commitments.horizontalMessages[0]!.data), toHex(truth.data));
  });

  it('enacts candidates the configured number of blocks after backing (--availability-delay)', async () => {
    for (const delay of [1, 2, 3]) {
      const chain = await DevnetChain.create(
        devnetConfig({ blockTimeMs: 0, enactmentDelay: delay }),
        encoder,
      );
      const included: number[] = [];
      for (let i = 0; i < 10; i++) {
        const block = await chain.produce();
        for (const event of block.candidateEvents)
          if (event.kind === 'CandidateIncluded') included.push(block.number - event.candidate.backedIn);
      }
      assert.ok(included.length >= 8, `${included.length} enactments with delay ${delay}`);
      assert.deepEqual(new Set(included), new Set([delay]), `delay ${delay}`);
    }
  });

  it('carries real XCM v3 and v4 programs of varied sizes', async () => {
    const chain = await DevnetChain.create(
      devnetConfig({ blockTimeMs: 0, messageSize: { min: 60, max: 900 } }),
      encoder,
    );
    for (let i = 0; i < 6; i++) await chain.produce();
    const sizes = new Set<number>();
    const versions = new Set<string>();
    for (let n = 1; n <= 6; n++) {
      for (const candidate of observe(chain, n).candidates) {
        for (const message of candidate.commitments.horizontalMessages) {
          sizes.add(message.data.length);
          assert.equal(message.data[0], 0, 'XCMP format 0x00');
          const xcm = encoder.metadata.types.find((t) => t.path.at(-1) === 'VersionedXcm')!;
          const variants = 'variant' in xcm.def ? xcm.def.variant.variants : [];
          versions.add(variants.find((v) => v.index === message.data[1])!.name);
        }
      }
    }
    assert.ok(sizes.size >= 5, `sizes ${[...sizes]}`);
    assert.ok(Math.min(...sizes) < 150 && Math.max(...sizes) > 700, `sizes ${[...sizes]}`);
    assert.deepEqual([...versions].sort(), ['V3', 'V4']);
  });

  it('keeps memory bounded over 4,000 blocks: only the retention window stays', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const chain = await DevnetChain.create(
      devnetConfig({ blockTimeMs: 0, paras: [2000, 2001], validators: 4, retainBlocks: 32 }),
      encoder,
    );
    let heapAt1000 = 0;
    for (let i = 1; i <= 4_000; i++) {
      await chain.produce();
      if (i === 1000) {
        gc();
        heapAt1000 = process.memoryUsage().heapUsed;
      }
      assert.ok(chain.retainedBlocks <= 32 + 2, `retained ${chain.retainedBlocks} at ${i}`);
    }
    gc();
    const growth = process.memoryUsage().heapUsed - heapAt1000;
    assert.equal(chain.best.number, 4_000);
    assert.ok(chain.blockAt(4_000 - 40) === undefined, 'old blocks are dropped');
    // Queues are pruned by watermarks, so state does not grow either.
    for (const channel of chain.best.state.channels.values()) assert.ok(channel.msgCount <= 3);
    assert.ok(
      // 8 KiB per block: a block's state or encoding kept for good would pass it within 3,000 blocks.
      growth < 3_000 * 8 * 1024,
      `heap grew ${Math.round(growth / 1e6)} MB between block 1,000 and 4,000`,
    );
  });
});
