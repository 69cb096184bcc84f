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

/** Bytes of `words` words in reed-solomon-simd's layout: 64-byte blocks of 32 words. */
const blockBytes = (words: number) => Math.ceil(words / 32) * 64;

/** Chunks (words little-endian) to reed-solomon-simd's layout. */
function toSimd(chunks: readonly Uint8Array[], words: number): Uint8Array {
  const stride = blockBytes(words);
  const out = new Uint8Array(stride * chunks.length);
  chunks.forEach((chunk, i) => {
    const base = i * stride;
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
  const stride = blockBytes(words);
  return Array.from({ length: count }, (_, i) => {
    const chunk = new Uint8Array(words * 2);
    const base = i * stride;
    for (let w = 0; w < words; w++) {
      const at = base + (w >> 5) * 64 + (w & 31);
      chunk[2 * w] = bytes[at]!;
      chunk[2 * w + 1] = bytes[at + 32]!;
    }
    return chunk;
  });
}

/**
 * Words per chunk handed to the library at once: it refuses shards of 64 KiB and more, and each
 * word position is a codeword of its own, so longer chunks are coded a column range at a time
 * (a multiple of the 32-word blocks of its layout).
 */
const WORDS_PER_CALL = 16_384;

/** Runs `code` over the chunks' word columns [w, w + WORDS_PER_CALL) in turn, joining its outputs. */
function byColumns(
  chunks: readonly Uint8Array[],
  words: number,
  outputs: number,
  code: (columns: Uint8Array[], columnWords: number) => Uint8Array[],
): Uint8Array[] {
  const joined = Array.from({ length: outputs }, () => new Uint8Array(words * 2));
  for (let w = 0; w < words; w += WORDS_PER_CALL) {
    const columnWords = Math.min(WORDS_PER_CALL, words - w);
    const columns = chunks.map((chunk) => chunk.subarray(w * 2, (w + columnWords) * 2));
    code(columns, columnWords).forEach((part, i) => {
      joined[i]!.set(part, w * 2);
    });
  }
  return joined;
}

/** `data` as n chunks: the k data chunks, then the n − k recovery chunks. */
export function encodeChunks(data: Uint8Array, n: number, k = recoveryThreshold(n)): Uint8Array[] {
  if (!(k >= 1 && k <= n)) throw new RangeError(`cannot code into ${n} chunks with threshold ${k}`);
  const size = chunkBytes(data.length, k);
  const padded = new Uint8Array(size * k);
  padded.set(data);
  const originals = Array.from({ length: k }, (_, i) => padded.slice(i * size, (i + 1) * size));
  if (n === k) return originals;
  const recovery = byColumns(originals, size / 2, n - k, (columns, words) => {
    const shards = new reedSolomon.ShardsCollection(blockBytes(words), toSimd(columns, words));
    return fromSimd(reedSolomon.encode(n - k, shards).take_data(), n - k, words);
  });
  return [...originals, ...recovery];
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
  const missing = data.flatMap((chunk, i) => (chunk ? [] : [i]));
  if (missing.length > 0) {
    const used = distinct.slice(0, k);
    const indices = Uint16Array.from(used.map((c) => c.index));
    const restored = byColumns(
      used.map((c) => c.bytes),
      size / 2,
      missing.length,
      (columns, words) => {
        const shards = new reedSolomon.ShardsCollection(blockBytes(words), toSimd(columns, words), indices);
        const out = reedSolomon.decode(k, n - k, shards);
        const got = Array.from(out.take_indices() ?? []);
        const bytes = fromSimd(out.take_data(), got.length, words);
        return missing.map((index) => bytes[got.indexOf(index)]!);
      },
    );
    missing.forEach((index, i) => {
      data[index] = restored[i];
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
