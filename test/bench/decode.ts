/**
 * decode + verify throughput for mainnet block 19772575: the metadata-driven byte walker against the
 * same work through generic @polkadot/types decoding, measured in the same run.
 */
import type { Vec } from '@polkadot/types';
import type { EventRecord, Extrinsic } from '@polkadot/types/interfaces';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { observeBlock } from '../../src/derive/observe.ts';
import { bytesEqual } from '../../src/protocol/bytes.ts';
import { blake2_256 } from '../../src/protocol/hash.ts';
import { loadFixtureBlock, loadFixtureMetadata, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { measure, printTable } from './measure.ts';

interface GenericBacked {
  candidate: { descriptor: { paraId: { toNumber(): number } }; commitments: { toU8a(): Uint8Array } };
}

export async function benchDecode(): Promise<void> {
  if (skipWithoutFixtures) {
    console.log(`decode bench skipped: ${skipWithoutFixtures}`);
    return;
  }
  await cryptoWaitReady();
  const metadata = loadFixtureMetadata();
  const block = loadFixtureBlock('polkadot-19772575');
  const hash = observeBlock(metadata, block).hash;

  const walker = measure('byte walker (observeBlock)', 10_000, () => {
    const observation = observeBlock(metadata, { ...block, hash });
    if (observation.candidates.filter((c) => c.commitmentsVerified).length !== 28)
      throw new Error('walker broke');
  });

  const generic = measure('generic @polkadot/types', 300, () => {
    const extrinsics = block.extrinsics.map((bytes) =>
      metadata.registry.createType<Extrinsic>('Extrinsic', bytes),
    );
    const records = metadata.registry.createType<Vec<EventRecord>>('Vec<EventRecord>', block.events);
    const inherent = extrinsics.find((ex) => ex.method.section === 'paraInherent')!;
    const backed = (inherent.method.args[0] as unknown as { backedCandidates: GenericBacked[] })
      .backedCandidates;
    const backedEvents = records.filter(
      (r) => r.event.section === 'paraInclusion' && r.event.method === 'CandidateBacked',
    );
    let verified = 0;
    for (const candidate of backed) {
      const paraId = candidate.candidate.descriptor.paraId.toNumber();
      const event = backedEvents.find(
        (r) =>
          (r.event.data[0] as unknown as GenericBacked['candidate']).descriptor.paraId.toNumber() === paraId,
      );
      const eventHash = (event!.event.data[0] as unknown as { commitmentsHash: { toU8a(): Uint8Array } })
        .commitmentsHash;
      if (bytesEqual(blake2_256(candidate.candidate.commitments.toU8a()), eventHash.toU8a())) verified++;
    }
    if (verified !== 28) throw new Error('generic decode broke');
  });

  printTable('decode + verify, Polkadot block 19772575 (28 candidates, 297 bitfields, 81 events)', [
    { ...walker, baseline: generic.perSecond },
    { ...generic, baseline: generic.perSecond },
  ]);
}
