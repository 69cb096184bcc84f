import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScaleError, toHex } from '../../src/protocol/bytes.ts';
import { commitmentsHash, decodeCommitments, encodeCommitments } from '../../src/protocol/commitments.ts';
import { blake2_256, candidateHash, headDataHash } from '../../src/protocol/hash.ts';

const sample = {
  upwardMessages: [Uint8Array.of(1, 2)],
  horizontalMessages: [
    { recipient: 2000, data: new Uint8Array(70).fill(9) },
    { recipient: 2004, data: new Uint8Array() },
  ],
  newValidationCode: null,
  headData: new Uint8Array(100).fill(3),
  processedDownwardMessages: 2,
  hrmpWatermark: 19772574,
};

describe('candidate commitments', () => {
  it('round-trips through SCALE in the field order of the runtime', () => {
    const encoded = encodeCommitments(sample);
    const [decoded, end] = decodeCommitments(encoded);
    assert.equal(end, encoded.length);
    assert.deepEqual(
      decoded.horizontalMessages.map((m) => [m.recipient, toHex(m.data)]),
      sample.horizontalMessages.map((m) => [m.recipient, toHex(m.data)]),
    );
    assert.equal(decoded.hrmpWatermark, 19772574);
    assert.equal(decoded.processedDownwardMessages, 2);
    assert.equal(decoded.newValidationCode, null);
    assert.equal(toHex(encodeCommitments(decoded)), toHex(encoded));
  });

  it('hashes the encoded bytes and changes with any byte', () => {
    const encoded = encodeCommitments(sample);
    const hash = commitmentsHash(encoded);
    assert.equal(toHex(hash), toHex(blake2_256(encoded)));
    const tampered = encoded.slice();
    tampered[20]! ^= 1;
    assert.notEqual(toHex(commitmentsHash(tampered)), toHex(hash));
  });

  it('rejects an invalid Option tag for the validation code', () => {
    const encoded = encodeCommitments(sample);
    // upward (1 + 1 + 2) + horizontal (1 + 4 + 1 + 70 + 4 + 1): the Option tag follows.
    const tagAt = 4 + 81;
    assert.equal(encoded[tagAt], 0);
    encoded[tagAt] = 7;
    assert.throws(() => decodeCommitments(encoded), ScaleError);
  });

  it('computes the candidate hash over descriptor ‖ commitments hash and the head hash without a prefix', () => {
    const descriptor = new Uint8Array(292).fill(1);
    const hash = new Uint8Array(32).fill(2);
    const joined = new Uint8Array(324);
    joined.set(descriptor);
    joined.set(hash, 292);
    assert.equal(toHex(candidateHash(descriptor, hash)), toHex(blake2_256(joined)));
    assert.equal(toHex(headDataHash(Uint8Array.of(5))), toHex(blake2_256(Uint8Array.of(5))));
  });
});
