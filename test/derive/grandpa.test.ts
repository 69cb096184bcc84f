/**
 * The GRANDPA justification verifier (issue 30): a valid justification passes, and each way of
 * forging one fails with its own reason — a flipped signature byte, the wrong set id, one
 * authority's precommit duplicated to fake the threshold, a signer outside the set, too few
 * signers, a precommit for a block that does not descend from the target, an unused ancestry header.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeRegistry } from '@polkadot/types';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import {
  checkpointFromChainSpec,
  decodeJustification,
  grandpaThreshold,
  type JustificationVerdict,
  verifyJustification,
} from '../../src/derive/grandpa.ts';
import { grandpaKey, grandpaKeys, signJustification, type Vote } from '../../src/devnet/grandpa.ts';
import { fromHex, type Hex } from '../../src/protocol/bytes.ts';
import { readHeader } from '../../src/protocol/header.ts';

const SET_ID = 3n;
/** From smoldot's `finality/justification/decode.rs` test (as in availproject/avail-light). */
const REAL_JUSTIFICATION =
  '07b506000000000029f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2009e04001429f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2009e04000df78178ccaa78ad29f1d5ea796f1426c15e638b391e47d1ecdea57b468b4741248e270d5ef02cae965595dfa652d2672881661ad474e7d1a36b3152e5c552081c151c11cb72334d26d70769e3af7bbff3801a4e2dca2b09b7cce0af8dd8130729f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2009e04003e25912c15c078e5ec717a38c1f72dd2b80c3edcfd93468555125aa7c976176bb8bb0368aa841112594d9c91f208b9584a571534f765399aa30582140fe60803680d278213f908658a49a1025a7f466c197e8fb6fabb5e62220a7bd75f860cab29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2009e04007dac4f4701268980e85f4668d95f073a1c72b6d8ab38e7dac7f4dc7a06e105afac2fc63d542a4b423e5af3123a246ceb84678826a4a4eda429e1989d92ed180b8e59368700ea89e2bf8922cc9e4b86d6651d1c689a0d57813f9768dbaadecf7129f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2009e040044c0d38eef2137dea57fcb9bd9aa3d5fce4a4a137b3c438e5012af28889c97e0bf9d5bbb27b9f9d49e49c55a36de0d4cb5864503a5f85ec444ba50da57a2110bdea6f4a727d3b2399275d6ee8817881f10597471dc1d27f144295ad6fb933c7a29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2009e04003abb7b87029d51c528c8da34fdc17768bef6dde1afc3b1dad1af537762afc430434c3bdf0dca30010a63c8c97b1d59837846a2eb0bbf60395333d9c72332ae02f72daf2e560e4f0f22fb5cbb04ad1d7fee850aab238fd014c178769e7e3a9b8400';
const ROUND = 1234n;
const keys = grandpaKeys(3, 7);
const set = { setId: SET_ID, authorities: keys.map((k) => u8aToHex(k.publicKey) as Hex) };

/** A SCALE header on `parent` at `number` (empty digest). */
function header(parent: Hex, number: number): { bytes: Uint8Array; hash: Hex } {
  const bytes = u8aConcat(
    Buffer.from(parent.slice(2), 'hex'),
    Uint8Array.of(number << 2),
    new Uint8Array(32).fill(1),
    new Uint8Array(32).fill(2),
    Uint8Array.of(0),
  );
  return { bytes, hash: u8aToHex(blake2AsU8a(bytes, 256)) as Hex };
}

const genesis = `0x${'aa'.repeat(32)}` as Hex;
const target = header(genesis, 10);
const child = header(target.hash, 11);
const grandchild = header(child.hash, 12);
const at = (h: { hash: Hex }, number: number) => ({ hash: h.hash, number });

function justify(votes: readonly Vote[], options: { ancestries?: Uint8Array[]; setId?: bigint } = {}) {
  return signJustification({
    round: ROUND,
    setId: options.setId ?? SET_ID,
    target: at(target, 10),
    votes,
    ancestries: options.ancestries,
  });
}

const votesFor = (count: number) => keys.slice(0, count).map((key) => ({ key, target: at(target, 10) }));

function verdict(bytes: Uint8Array): JustificationVerdict {
  return verifyJustification(decodeJustification(bytes), set);
}

function fails(bytes: Uint8Array, reason: string): void {
  const result = verdict(bytes);
  assert.equal(result.valid, false, JSON.stringify(result));
  assert.equal((result as { reason: string }).reason, reason, (result as { detail: string }).detail);
}

describe('GRANDPA justifications', () => {
  it("the threshold is n − ⌊(n − 1)/3⌋: 201 of Polakdot's 300, 5 of 7", () => {
    assert.deepEqual([1, 4, 7, 10, 300].map(grandpaThreshold), [1, 3, 5, 7, 201]);
  });

  it('a justification signed by the threshold passes, with what it proves', () => {
    const result = verdict(justify(votesFor(5)));
    assert.deepEqual(result, {
      valid: true,
      target: { number: 10, hash: target.hash },
      round: ROUND,
      signers: 5,
      threshold: 5,
      authorities: 7,
    });
  });

  it('precommits for descendants pass when the ancestry links them, each header used', () => {
    const votes = [
      ...votesFor(3),
      { key: keys[3]!, target: at(child, 11) },
      { key: keys[4]!, target: at(grandchild, 12) },
    ];
    const result = verdict(justify(votes, { ancestries: [child.bytes, grandchild.bytes] }));
    assert.equal(result.valid, true, result.valid ? '' : result.detail);
  });

  it('a flipped signature byte fails: badSignature', () => {
    const bytes = justify(votesFor(5));
    bytes[8 + 32 + 4 + 1 + 36 + 10]! ^= 1; // first precommit, a signature byte
    fails(bytes, 'badSignature');
  });

  it('the wrong set id fails: badSignature', () => {
    fails(justify(votesFor(5), { setId: SET_ID + 1n }), 'badSignature');
  });

  it("one authority's precommit duplicated to fake the threshold fails: duplicateSigner", () => {
    const votes = votesFor(4);
    fails(justify([...votes, votes[0]!]), 'duplicateSigner');
  });

  it('a signer outside the set fails: notAuthority', () => {
    fails(justify([...votesFor(4), { key: grandpaKey(99, 0), target: at(target, 10) }]), 'notAuthority');
  });

  it('too few signers fail: tooFewSigners', () => {
    fails(justify(votesFor(4)), 'tooFewSigners');
  });

  it('a precommit for a block that does not descend from the target fails: notDescendant', () => {
    const stranger = header(genesis, 11);
    fails(justify([...votesFor(4), { key: keys[4]!, target: at(stranger, 11) }]), 'notDescendant');
    // Linked by an ancestry header that is not on the target's chain.
    fails(
      justify([...votesFor(4), { key: keys[4]!, target: at(stranger, 11) }], {
        ancestries: [stranger.bytes],
      }),
      'notDescendant',
    );
  });

  it('an ancestry header no precommit needs fails: unusedAncestry', () => {
    fails(justify(votesFor(5), { ancestries: [child.bytes] }), 'unusedAncestry');
  });

  it('a justification for another block than the one asked about fails: wrongTarget', () => {
    const result = verifyJustification(decodeJustification(justify(votesFor(5))), set, { hash: child.hash });
    assert.equal(result.valid ? 'valid' : result.reason, 'wrongTarget');
  });

  it('bytes that are not a justification are a decode error, not a verdict', () => {
    const bytes = justify(votesFor(5));
    assert.throws(() => decodeJustification(bytes.subarray(0, bytes.length - 1)), /past the end|bytes after/);
    assert.throws(
      () => decodeJustification(u8aConcat(bytes, Uint8Array.of(0))),
      /1 bytes after the justification/,
    );
    assert.throws(() => decodeJustification(Uint8Array.of(1, 2, 3)), /past the end|at least/);
  });

  it("a real justification (smoldot's decoding test: block #302,592, round 439,559) verifies under set 0", () => {
    // Public data with no authority set published beside it: its 5 signers are taken as the set.
    // That every signature verifies under set id 0 with this payload is what it shows.
    const real = decodeJustification(Buffer.from(REAL_JUSTIFICATION, 'hex'));
    assert.deepEqual([real.round, real.targetNumber, real.precommits.length], [439_559n, 302_592, 5]);
    const signers = { setId: 0n, authorities: real.precommits.map((p) => p.authority) };
    const result = verifyJustification(real, signers);
    assert.equal(result.valid, true, result.valid ? '' : result.detail);
    const other = verifyJustification(real, { ...signers, setId: 1n });
    assert.equal(other.valid ? 'valid' : other.reason, 'badSignature');
  });

  it("takes the checkpoint from the real Polkadot, Kusama and Westend chain specs' lightSyncState (as polkadot-js decodes it)", async () => {
    const registry = new TypeRegistry();
    const seen: string[] = [];
    for (const name of ['polkadot', 'ksmcc3', 'westend2'] as const) {
      const { chainSpec } = (await import(`@substrate/connect-known-chains/${name}`)) as {
        chainSpec: string;
      };
      const spec = JSON.parse(chainSpec) as {
        lightSyncState: { grandpaAuthoritySet: string; finalizedBlockHeader: string };
      };
      const checkpoint = checkpointFromChainSpec(spec);
      const generic = registry
        .createType('(Vec<([u8;32], u64)>, u64)', fromHex(spec.lightSyncState.grandpaAuthoritySet as Hex))
        .toJSON() as [[string, number][], number];
      assert.deepEqual(
        checkpoint.authorities,
        generic[0].map(([key]) => key),
        name,
      );
      assert.equal(checkpoint.setId, BigInt(generic[1]), name);
      const header = registry.createType('Header', fromHex(spec.lightSyncState.finalizedBlockHeader as Hex));
      assert.deepEqual(
        checkpoint.block,
        { number: header.number.toNumber(), hash: header.hash.toHex() },
        name,
      );
      seen.push(
        `${name} #${checkpoint.block.number} set ${checkpoint.setId}, ${checkpoint.authorities.length} authorities`,
      );
      assert.ok(
        checkpoint.authorities.length >= 10 && checkpoint.setId > 0n,
        `${name}: ${checkpoint.authorities.length} authorities, set ${checkpoint.setId}`,
      );
    }
    assert.throws(() => checkpointFromChainSpec({ name: 'no light sync state' }), /no lightSyncState/);
    console.log(`# checkpoints: ${seen.join('; ')}`);
  });

  it('reads SCALE headers with digests as the node encodes them (hash over exactly their bytes)', () => {
    const withDigest = u8aConcat(
      target.bytes.subarray(0, target.bytes.length - 1),
      Uint8Array.of(2 << 2),
      Uint8Array.of(6),
      new TextEncoder().encode('BABE'),
      Uint8Array.of(2 << 2, 7, 8),
      Uint8Array.of(4),
      new TextEncoder().encode('FRNK'),
      Uint8Array.of(1 << 2, 9),
    );
    const [read, end] = readHeader(u8aConcat(withDigest, Uint8Array.of(0xff)), 0);
    assert.equal(end, withDigest.length);
    assert.equal(read.number, 10);
    assert.equal(read.hash, u8aToHex(blake2AsU8a(withDigest, 256)));
    assert.deepEqual(
      read.digest.map((d) => [d.kind, d.engine, u8aToHex(d.data)]),
      [
        [6, '0x42414245', '0x0708'],
        [4, '0x46524e4b', '0x09'],
      ],
    );
  });
});
