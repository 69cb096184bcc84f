/**
 * The erasure code (issue 31) conforms to the JAM Gray Paper's published vectors before it is used
 * for anything else: every shard of every vector (V = 6 and V = 1023) byte for byte, and the data
 * back from k of them (data chunks, recovery chunks, a mix). Then for a mesh's own (k, n): any k
 * chunks give the data back; the Merkle branches prove each chunk and nothing else.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  chunkBranch,
  encodeChunks,
  erasureReady,
  erasureRoot,
  reconstruct,
  recoveryThreshold,
  verifyChunk,
} from '../../src/derive/erasure.ts';
import { fromHex, toHex } from '../../src/protocol/bytes.ts';
import { skipWithoutFixtures, vectorsDir } from '../helpers/fixtures.ts';

interface Vector {
  readonly data: string;
  readonly shards: string[];
}

/** The vectors' own data-shard counts (README): 2 of 6, 342 of 1023 (JAM's, not a mesh's ⌊(n − 1)/3⌋ + 1). */
const EDITIONS = [
  { dir: 'tiny', validators: 6, k: 2 },
  { dir: 'full', validators: 1023, k: 342 },
] as const;

function vectors(dir: string): [string, Vector][] {
  if (skipWithoutFixtures) return [];
  const path = join(vectorsDir, 'erasure', dir);
  return readdirSync(path)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(path, name), 'utf8')) as Vector]);
}

/** A deterministic pseudo-random sample of `count` distinct indices below `n`. */
function sample(n: number, count: number, seed: number): number[] {
  const picked = new Set<number>();
  let x = seed;
  while (picked.size < count) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    picked.add(x % n);
  }
  return [...picked];
}

describe('erasure code: the JAM vectors', { skip: skipWithoutFixtures }, () => {
  before(() => erasureReady());

  it('has vectors of both editions to check', () => {
    assert.ok(vectors('tiny').length >= 5, 'tiny');
    assert.ok(vectors('full').length >= 2, 'full');
  });

  for (const { dir, validators, k } of EDITIONS)
    for (const [name, vector] of vectors(dir)) {
      it(`${dir}/${name}: V = ${validators}, every shard byte for byte, and the data from k shards`, () => {
        const data = fromHex(vector.data);
        const chunks = encodeChunks(data, validators, k);
        assert.equal(chunks.length, vector.shards.length);
        for (const [i, chunk] of chunks.entries()) assert.equal(toHex(chunk), vector.shards[i], `shard ${i}`);
        const given = (indices: number[]) =>
          indices.map((index) => ({ index, bytes: fromHex(vector.shards[index]!) }));
        const recovery = Array.from({ length: k }, (_, i) => validators - 1 - i);
        for (const indices of [recovery, sample(validators, k, data.length), [...Array(k).keys()]])
          assert.equal(toHex(reconstruct(given(indices), validators, data.length, k)), vector.data);
      });
    }
});

describe('erasure code: a mesh of n members', () => {
  before(() => erasureReady());

  it('k = ⌊(n − 1)/3⌋ + 1: any k of n chunks give the data back, fewer do not', () => {
    for (const n of [2, 3, 4, 6, 7, 10]) {
      const k = recoveryThreshold(n);
      const data = Uint8Array.from({ length: 1000 + n }, (_, i) => (i * 31 + n) & 0xff);
      const chunks = encodeChunks(data, n);
      for (let seed = 1; seed <= 5; seed++) {
        const picked = sample(n, k, seed * n).map((index) => ({ index, bytes: chunks[index]! }));
        assert.deepEqual(
          reconstruct(picked, n, data.length),
          data,
          `n ${n}, chunks ${picked.map((c) => c.index)}`,
        );
      }
      const few = chunks.slice(0, k - 1).map((bytes, index) => ({ index, bytes }));
      assert.throws(() => reconstruct(few, n, data.length), /are needed/);
    }
    assert.deepEqual(
      reconstruct(
        [
          { index: 5, bytes: encodeChunks(new Uint8Array(), 6)[5]! },
          { index: 2, bytes: encodeChunks(new Uint8Array(), 6)[2]! },
        ],
        6,
        0,
      ),
      new Uint8Array(),
    );
  });

  it("slices past the library's 64 KiB shard limit are coded a column range at a time, and come back", () => {
    for (const [n, size] of [
      [6, 70_000],
      [6, 1_048_576],
      [10, 3_000_001],
    ] as const) {
      const k = recoveryThreshold(n);
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
      const chunks = encodeChunks(data, n);
      const recoveryOnly = chunks.slice(n - k).map((bytes, i) => ({ index: n - k + i, bytes }));
      assert.ok(
        Buffer.from(reconstruct(recoveryOnly, n, size)).equals(Buffer.from(data)),
        `n ${n}, ${size} B`,
      );
    }
  });

  it('a branch proves its chunk under the root, and no other chunk, index or root', () => {
    for (const n of [1, 2, 5, 6, 9]) {
      const chunks = encodeChunks(
        Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
        n,
      );
      const root = erasureRoot(chunks);
      chunks.forEach((chunk, index) => {
        const branch = chunkBranch(chunks, index);
        assert.ok(verifyChunk(root, n, index, chunk, branch), `n ${n}, chunk ${index}`);
        const flipped = chunk.slice();
        flipped[0]! ^= 1;
        assert.ok(!verifyChunk(root, n, index, flipped, branch), 'altered chunk');
        const other = chunks[(index + 1) % n]!;
        if (toHex(other) !== toHex(chunk))
          assert.ok(!verifyChunk(root, n, (index + 1) % n, chunk, branch), 'another index');
        const otherRoot = root.slice();
        otherRoot[3]! ^= 1;
        assert.ok(!verifyChunk(otherRoot, n, index, chunk, branch), 'another root');
        assert.ok(!verifyChunk(root, n, index, chunk, [...branch, root]), 'a longer branch');
      });
    }
  });
});
