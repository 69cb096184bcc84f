import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Vec } from '@polkadot/types';
import type { EventRecord, Extrinsic } from '@polkadot/types/interfaces';
import { observeBlock } from '../../src/derive/observe.ts';
import { concatBytes, encodeCompact, readCompactNumber, toHex } from '../../src/protocol/bytes.ts';
import { loadFixtureBlock, loadFixtureMetadata, skipWithoutFixtures } from '../helpers/fixtures.ts';

const B1 = 'polkadot-19772575';
const B2 = 'polkadot-18468942';

describe('observeBlock on Polkadot mainnet blocks', { skip: skipWithoutFixtures }, () => {
  it(`${B1}: 297 bitfields, 28 backed candidates, 0 disputes, 28 backed and 12 included events`, () => {
    const observation = observeBlock(loadFixtureMetadata(), loadFixtureBlock(B1));
    assert.equal(observation.number, 19772575);
    assert.equal(observation.hash, '0xbbb99b1d43d6c1885e09806e4d8fd3beaa30a87046397e8dfc44ced45ed735a9');
    assert.equal(observation.hasParaInherent, true);
    assert.equal(observation.bitfieldCount, 297);
    assert.equal(observation.candidates.length, 28);
    assert.equal(observation.disputeCount, 0);
    assert.equal(observation.events?.backed.length, 28);
    assert.equal(observation.events?.included.length, 12);
    assert.equal(observation.events?.timedOut.length, 0);
  });

  it(`${B1}: every commitments hash equals the CandidateBacked event of the same para`, () => {
    const observation = observeBlock(loadFixtureMetadata(), loadFixtureBlock(B1));
    for (const candidate of observation.candidates) {
      const event = observation.events!.backed.find((e) => e.paraId === candidate.paraId);
      assert.ok(event, `CandidateBacked for para ${candidate.paraId}`);
      assert.equal(candidate.commitmentsHash, toHex(event.commitmentsHash), `para ${candidate.paraId}`);
      assert.equal(candidate.candidateHash, toHex(event.candidateHash), `para ${candidate.paraId}`);
      assert.equal(candidate.commitmentsVerified, true);
      assert.equal(candidate.verificationError, null);
      assert.equal(candidate.descriptorVersion, 'v1');
    }
  });

  it(`${B1}: exactly the two horizontal messages, sliced per recipient, watermark 19772574`, () => {
    const observation = observeBlock(loadFixtureMetadata(), loadFixtureBlock(B1));
    const all = [...observation.slices.values()].flat();
    assert.equal(all.length, 2);
    const toAcala = observation.slices.get(2034)!;
    assert.deepEqual(
      toAcala.map((e) => [e.sender, e.size, e.hash, e.candidateHash]),
      [
        [
          2006,
          92,
          '0x9c3f3d77db20651c3fa91ebd4de977c19bb605af7d001c8d97d154f921061d5d',
          '0x89ffdc7a08f74ded04620567412ee72a1b45b8d51a76f3a4c18a96bc327b03a4',
        ],
      ],
    );
    const to2004 = observation.slices.get(2004)!;
    assert.deepEqual(
      to2004.map((e) => [e.sender, e.size, e.hash, e.candidateHash]),
      [
        [
          2104,
          70,
          '0x7668e9c28b9a9b4373e131f296c48767094b2e66c0e9ec02f031b40402f706b8',
          '0x99a05fdfe52bd80cd721790c4f41900f2f559bfc8b83eb74b1ed0f7cbf277c5c',
        ],
      ],
    );
    for (const entry of all) {
      assert.equal(entry.data[0], 0x00, 'XCMP format 0x00');
      const sender = observation.candidates.find((c) => c.candidateHash === entry.candidateHash)!;
      assert.equal(sender.commitments.hrmpWatermark, 19772574);
    }
  });

  it(`${B2}: 297 bitfields, 32 candidates all verified, 32 backed and 7 included, no HRMP, UMP from 2000 and 2012`, () => {
    const observation = observeBlock(loadFixtureMetadata(), loadFixtureBlock(B2));
    assert.equal(observation.hash, '0x1ffece02b91e52c4923827843774f705911905c0a66980f7037bed643b746d1d');
    assert.equal(observation.bitfieldCount, 297);
    assert.equal(observation.candidates.length, 32);
    assert.equal(observation.disputeCount, 0);
    assert.equal(observation.events?.backed.length, 32);
    assert.equal(observation.events?.included.length, 7);
    assert.ok(observation.candidates.every((c) => c.commitmentsVerified));
    assert.equal(observation.slices.size, 0);
    const upward = observation.candidates.filter((c) => c.commitments.upwardMessages.length > 0);
    assert.deepEqual(
      upward.map((c) => [c.paraId, c.commitments.upwardMessages.length]),
      [
        [2000, 1],
        [2012, 1],
      ],
    );
  });

  it('counts availability votes per core from the signed bitfields', () => {
    const observation = observeBlock(loadFixtureMetadata(), loadFixtureBlock(B2));
    assert.equal(observation.availability.validators, 297);
    assert.equal(observation.availability.threshold, 297 - Math.floor(296 / 3));
    const cores = observation.availability.votesPerCore;
    assert.ok(cores.length > 0);
    assert.ok(cores.every((votes) => votes >= 0 && votes <= 297));
    assert.ok(cores.some((votes) => votes >= observation.availability.threshold));
  });

  it('agrees with the generic @polkadot/types decoder on every commitment and candidate event', () => {
    const metadata = loadFixtureMetadata();
    for (const name of [B1, B2]) {
      const block = loadFixtureBlock(name);
      const observation = observeBlock(metadata, block);
      const inherent = block.extrinsics
        .map((bytes) => metadata.registry.createType<Extrinsic>('Extrinsic', bytes))
        .find((ex) => ex.method.section === 'paraInherent');
      assert.ok(inherent);
      const data = inherent.method.args[0] as unknown as {
        backedCandidates: { candidate: { commitments: { toU8a(): Uint8Array } } }[];
        bitfields: unknown[];
      };
      assert.equal(data.bitfields.length, observation.bitfieldCount);
      assert.deepEqual(
        data.backedCandidates.map((c) => toHex(c.candidate.commitments.toU8a())),
        observation.candidates.map((c) => toHex(c.commitmentsBytes)),
      );
      const records = metadata.registry.createType<Vec<EventRecord>>('Vec<EventRecord>', block.events);
      assert.equal(records.length, observation.events!.eventCount);
      const kinds = {
        CandidateBacked: 'backed',
        CandidateIncluded: 'included',
        CandidateTimedOut: 'timedOut',
      } as const;
      for (const [method, kind] of Object.entries(kinds)) {
        const generic = records
          .filter((r) => r.event.section === 'paraInclusion' && r.event.method === method)
          .map((r) => toHex((r.event.data[0] as unknown as { hash: { toU8a(): Uint8Array } }).hash.toU8a()));
        assert.deepEqual(
          observation.events![kind].map((e) => toHex(e.candidateHash)),
          generic,
          `${name} ${method}`,
        );
      }
    }
  });
});

describe('observeBlock on bad or unusual input', { skip: skipWithoutFixtures }, () => {
  it('one changed byte in a commitment marks that candidate unverified with the reason, never crashes', () => {
    const metadata = loadFixtureMetadata();
    const block = loadFixtureBlock(B1);
    const honest = observeBlock(metadata, block);
    const target = honest.candidates.find((c) => c.paraId === 2006)!;
    const messageData = target.commitments.horizontalMessages[0]!.data;
    const inherentIndex = block.extrinsics.findIndex((ex) => ex.buffer === messageData.buffer);
    assert.ok(inherentIndex >= 0);
    const tamperedExtrinsic = block.extrinsics[inherentIndex]!.slice();
    tamperedExtrinsic[messageData.byteOffset - block.extrinsics[inherentIndex]!.byteOffset + 10]! ^= 0xff;
    const extrinsics = block.extrinsics.slice();
    extrinsics[inherentIndex] = tamperedExtrinsic;
    const tampered = observeBlock(metadata, { ...block, extrinsics });
    const candidate = tampered.candidates.find((c) => c.paraId === 2006)!;
    assert.equal(candidate.commitmentsVerified, false);
    assert.match(candidate.verificationError!, /differs from CandidateBacked/);
    assert.notEqual(candidate.commitmentsHash, target.commitmentsHash);
    assert.equal(tampered.slices.get(2034)![0]!.commitmentsVerified, false);
    assert.equal(tampered.candidates.filter((c) => c.commitmentsVerified).length, 27);
  });

  it('without events nothing is marked verified', () => {
    const observation = observeBlock(loadFixtureMetadata(), { ...loadFixtureBlock(B1), events: null });
    assert.equal(observation.candidates.length, 28);
    assert.ok(
      observation.candidates.every(
        (c) => !c.commitmentsVerified && /not supplied/.test(c.verificationError!),
      ),
    );
    assert.equal(observation.events, null);
  });

  it('an empty block (no ParaInherent, no events) yields an empty observation', () => {
    const block = loadFixtureBlock(B1);
    // A bare extrinsic of another pallet, and a signed one: both are skipped.
    const otherCall = Uint8Array.of(0x04, 0x03, 0x00, 0x0b, 1, 2, 3);
    const signed = Uint8Array.of(0x84, 0x36, 0x00);
    const extrinsics = [otherCall, signed].map((ex) => concatBytes([encodeCompact(ex.length), ex]));
    for (const input of [
      { ...block, extrinsics: [], events: Uint8Array.of(0) },
      { ...block, extrinsics, events: Uint8Array.of(0) },
    ]) {
      const observation = observeBlock(loadFixtureMetadata(), input);
      assert.equal(observation.hasParaInherent, false);
      assert.equal(observation.candidates.length, 0);
      assert.equal(observation.bitfieldCount, 0);
      assert.equal(observation.slices.size, 0);
      assert.deepEqual(observation.availability.votesPerCore, []);
      assert.equal(observation.events?.eventCount, 0);
    }
  });

  it('a truncated inherent or events value is a ScaleError naming what failed', () => {
    const metadata = loadFixtureMetadata();
    const block = loadFixtureBlock(B1);
    const inherent = block.extrinsics[1]!;
    const [, bodyStart] = readCompactNumber(inherent, 0);
    const body = inherent.subarray(bodyStart, 5000);
    const relabelled = concatBytes([encodeCompact(body.length), body]);
    const extrinsics = block.extrinsics.slice();
    extrinsics[1] = relabelled;
    assert.throws(
      () => observeBlock(metadata, { ...block, extrinsics }),
      /ParaInherent\.enter .*does not match the metadata/,
    );
    assert.throws(
      () => observeBlock(metadata, { ...block, events: block.events.subarray(0, 1000) }),
      /System\.Events does not match the metadata/,
    );
  });
});
