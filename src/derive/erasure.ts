/**
 * Independent availability (DESIGN.md §16): a slice erasure-coded into n chunks, any k of which
 * give it back, with k = ⌊(n − 1)/3⌋ + 1 as in Polkadot's availability.
 *
 * The code is the JAM Gray Paper's (Appendix H): systematic Reed–Solomon over GF(2^16) in the
 * Lin–Chung–Han basis. The data, padded with zeros to k·s bytes (s = 2·⌈len / 2k⌉, at least 2), is
 * cut into k contiguous chunks of s bytes (the first k chunks are the data itself); word w of each
 * chunk is the little-endian 16-bit word at bytes 2w, 2w + 1, and word w of the n − k recovery
 * chunks is the code of word w of the k data chunks. `test/derive/erasure.test.ts` reproduces the
 * published vectors (V = 6 and V = 1023) byte for byte.
 *
 * The arithmetic is reed-solomon-simd's (in WASM, from `@typeberry/native`), which takes shards in
 * its own layout: 64-byte blocks of 32 words, the 32 low bytes first, then the 32 high bytes. The
 * two functions below move words between the layouts.
 *
 * The erasure root is a binary Merkle root over the chunks: leaf i = blake2_256(0x00 ‖ chunk i),
 * node = blake2_256(0x01 ‖ left ‖ right), a level's odd last node carried up unchanged; a branch
 * is the sibling hashes from the leaf up. The prefixes keep a leaf from passing for a node.
 */
import { init, reedSolomon } from '@typeberry/native';
import { bytesEqual, concatBytes } from '../protocol/bytes.ts';
import { blake2_256 } from '../protocol/hash.ts';

/** Chunks needed to reconstruct, of n: ⌊(n − 1)/3⌋ + 1 (Polkadot's availability threshold). */
export function recoveryThreshold(n: number): number {
  return Math.floor((n - 1) / 3) + 1;
}

let ready: Promise<unknown> | null = null;

/** Loads the WASM code once; every other function here needs it loaded. */
export function erasureReady(): Promise<unknown> {
  ready ??= init.reedSolomon();
  return ready;
}

/** Bytes per chunk for `length` bytes of data in k data chunks. */
export function chunkBytes(length: number, k: number): number {
  return 2 * Math.max(1, Math.ceil(length / (2 * k)));
}

/** Chunks (words little-endian) to reed-solomon-simd's layout. */
function toSimd(chunks: readonly Uint8Array[], words: number): Uint8Array {
  const blockBytes = Math.ceil(words / 32) * 64;
  const out = new Uint8Array(blockBytes * chunks.length);
  chunks.forEach((chunk, i) => {
    const base = i * blockBytes;
    for (let w = 0; w < words; w++) {
      const at = base + (w >> 5) * 64 + (w & 31);
      out[at] = chunk[2 * w] ?? 0;
      out[at + 32] = chunk[2 * w + 1] ?? 0;
    }
  });
  return out;
}

/** reed-solomon-simd's layout back to chunks of `words` little-endian words. */
function fromSimd(bytes: Uint8Array, count: number, words: number): Uint8Array[] {
  const blockBytes = Math.ceil(words / 32) * 64;
  return Array.from({ length: count }, (_, i) => {
    const chunk = new Uint8Array(words * 2);
    const base = i * blockBytes;
    for (let w = 0; w < words; w++) {
      const at = base + (w >> 5) * 64 + (w & 31);
      chunk[2 * w] = bytes[at]!;
      chunk[2 * w + 1] = bytes[at + 32]!;
    }
    return chunk;
  });
}

/** `data` as n chunks: the k data chunks, then the n − k recovery chunks. */
export function encodeChunks(data: Uint8Array, n: number, k = recoveryThreshold(n)): Uint8Array[] {
  if (!(k >= 1 && k <= n)) throw new RangeError(`cannot code into ${n} chunks with threshold ${k}`);
  const size = chunkBytes(data.length, k);
  const padded = new Uint8Array(size * k);
  padded.set(data);
  const originals = Array.from({ length: k }, (_, i) => padded.slice(i * size, (i + 1) * size));
  if (n === k) return originals;
  const words = size / 2;
  const shards = new reedSolomon.ShardsCollection(Math.ceil(words / 32) * 64, toSimd(originals, words));
  const recovery = reedSolomon.encode(n - k, shards);
  return [...originals, ...fromSimd(recovery.take_data(), n - k, words)];
}

/**
 * The `length` bytes of data back from at least k chunks (index and bytes; any k of the n), as
 * `encodeChunks` made them. Throws when there are too few, or they are not of one size.
 */
export function reconstruct(
  chunks: readonly { readonly index: number; readonly bytes: Uint8Array }[],
  n: number,
  length: number,
  k = recoveryThreshold(n),
): Uint8Array {
  const size = chunkBytes(length, k);
  const distinct = [...new Map(chunks.map((c) => [c.index, c])).values()].filter(
    (c) => c.index >= 0 && c.index < n && c.bytes.length === size,
  );
  if (distinct.length < k)
    throw new Error(`${distinct.length} usable chunks of ${size} bytes; ${k} of ${n} are needed`);
  const data: (Uint8Array | undefined)[] = Array.from(
    { length: k },
    (_, i) => distinct.find((c) => c.index === i)?.bytes,
  );
  if (data.some((chunk) => !chunk)) {
    const words = size / 2;
    const used = distinct.slice(0, k);
    const shards = new reedSolomon.ShardsCollection(
      Math.ceil(words / 32) * 64,
      toSimd(
        used.map((c) => c.bytes),
        words,
      ),
      Uint16Array.from(used.map((c) => c.index)),
    );
    const restored = reedSolomon.decode(k, n - k, shards);
    const indices = restored.take_indices() ?? new Uint16Array();
    const restoredChunks = fromSimd(restored.take_data(), indices.length, words);
    indices.forEach((index, i) => {
      data[index] = restoredChunks[i];
    });
  }
  return concatBytes(data as Uint8Array[]).slice(0, length);
}

const leafHash = (chunk: Uint8Array) => blake2_256(concatBytes([Uint8Array.of(0), chunk]));
const nodeHash = (left: Uint8Array, right: Uint8Array) =>
  blake2_256(concatBytes([Uint8Array.of(1), left, right]));

/** Each level of the tree, leaves first, root last. */
function levels(chunks: readonly Uint8Array[]): Uint8Array[][] {
  const all: Uint8Array[][] = [chunks.map(leafHash)];
  while (all.at(-1)!.length > 1) {
    const level = all.at(-1)!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    all.push(next);
  }
  return all;
}

export function erasureRoot(chunks: readonly Uint8Array[]): Uint8Array {
  return levels(chunks).at(-1)![0]!;
}

/** The sibling hashes of chunk `index` from its leaf up (none where a node is carried up alone). */
export function chunkBranch(chunks: readonly Uint8Array[], index: number): Uint8Array[] {
  const branch: Uint8Array[] = [];
  let at = index;
  for (const level of levels(chunks).slice(0, -1)) {
    const sibling = at ^ 1;
    if (sibling < level.length) branch.push(level[sibling]!);
    at >>= 1;
  }
  return branch;
}

/** Whether `chunk` is chunk `index` of n under `root`, by its branch. */
export function verifyChunk(
  root: Uint8Array,
  n: number,
  index: number,
  chunk: Uint8Array,
  branch: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= n) return false;
  let hash = leafHash(chunk);
  let at = index;
  let width = n;
  let used = 0;
  while (width > 1) {
    const sibling = at ^ 1;
    if (sibling < width) {
      const other = branch[used++];
      if (other?.length !== 32) return false;
      hash = at & 1 ? nodeHash(other, hash) : nodeHash(hash, other);
    }
    at >>= 1;
    width = Math.ceil(width / 2);
  }
  return used === branch.length && bytesEqual(hash, root);
}
