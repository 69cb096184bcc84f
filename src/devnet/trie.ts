/**
 * The devnet's state trie: Substrate's base-16 Patricia-Merkle trie, blake2-256, state version 1.
 *
 * Substrate's own trie (compiled to wasm in @acala-network/chopsticks-executor) computes every
 * root and builds every trie. Its proof builder only emits version-0 nodes (values inline), so
 * `readProof` re-encodes those nodes in the version-1 form (values of 33 bytes or more replaced
 * by their blake2-256 hash, the value travelling as its own proof item) and then checks that the
 * re-encoded root is exactly the library's version-1 root before it answers: an encoding mistake
 * here fails loudly instead of serving a proof that does not verify.
 */
import { calculate_state_root, create_proof } from '@acala-network/chopsticks-executor';
import {
  concatBytes,
  encodeCompact,
  fromHex,
  type Hex,
  readCompactNumber,
  toHex,
} from '../protocol/bytes.ts';
import { blake2_256 } from '../protocol/hash.ts';

/** Values this long or longer are stored hashed in state version 1 (`TRIE_VALUE_NODE_THRESHOLD`). */
const HASHED_VALUE_THRESHOLD = 33;
const STATE_VERSION = 1;

export async function stateRoot(storage: ReadonlyMap<string, Hex>): Promise<Hex> {
  return (await calculate_state_root([...storage], STATE_VERSION)) as Hex;
}

type NodeKind = 'leaf' | 'branch';

interface TrieNode {
  readonly kind: NodeKind;
  readonly nibbles: readonly number[];
  /** The partial key as encoded (kept to re-encode without rebuilding it). */
  readonly partialKey: Uint8Array;
  readonly value: { readonly hashed: boolean; readonly bytes: Uint8Array } | null;
  /** 16 child references (32-byte hash or inline node), or null; empty for a leaf. */
  readonly children: readonly (Uint8Array | null)[];
}

/** Header layout (sp-trie `NodeHeader`): prefix bits, and how many bits are left for the size. */
const HEADERS = {
  leaf: { prefix: 0b01 << 6, sizeBits: 6 },
  branchNoValue: { prefix: 0b10 << 6, sizeBits: 6 },
  branchValue: { prefix: 0b11 << 6, sizeBits: 6 },
  hashedLeaf: { prefix: 0b001 << 5, sizeBits: 5 },
  hashedBranch: { prefix: 0b0001 << 4, sizeBits: 4 },
} as const;

function headerKind(first: number): keyof typeof HEADERS {
  switch (first >> 6) {
    case 0b01:
      return 'leaf';
    case 0b10:
      return 'branchNoValue';
    case 0b11:
      return 'branchValue';
  }
  if (first >> 5 === 0b001) return 'hashedLeaf';
  if (first >> 4 === 0b0001) return 'hashedBranch';
  throw new Error(`trie: unknown node header 0x${first.toString(16)}`);
}

function decodeNode(bytes: Uint8Array): TrieNode {
  const kind = headerKind(bytes[0]!);
  const max = (1 << HEADERS[kind].sizeBits) - 1;
  let size = bytes[0]! & max;
  let at = 1;
  if (size === max) {
    let next: number;
    do {
      next = bytes[at++]!;
      size += next;
    } while (next === 255);
  }
  const keyLength = Math.ceil(size / 2);
  const partialKey = bytes.subarray(at, at + keyLength);
  at += keyLength;
  const nibbles = keyNibbles(partialKey, size);
  const isLeaf = kind === 'leaf' || kind === 'hashedLeaf';
  let bitmap = 0;
  if (!isLeaf) {
    bitmap = bytes[at]! | (bytes[at + 1]! << 8);
    at += 2;
  }
  let value: TrieNode['value'] = null;
  if (kind === 'hashedLeaf' || kind === 'hashedBranch') {
    value = { hashed: true, bytes: bytes.subarray(at, at + 32) };
    at += 32;
  } else if (kind !== 'branchNoValue') {
    [value, at] = readLengthPrefixed(bytes, at, (b) => ({ hashed: false, bytes: b }));
  }
  const children: (Uint8Array | null)[] = [];
  for (let i = 0; i < (isLeaf ? 0 : 16); i++) {
    if (bitmap & (1 << i)) [children[i], at] = readLengthPrefixed(bytes, at, (b) => b);
    else children[i] = null;
  }
  return { kind: isLeaf ? 'leaf' : 'branch', nibbles, partialKey, value, children };
}

function readLengthPrefixed<T>(bytes: Uint8Array, at: number, wrap: (b: Uint8Array) => T): [T, number] {
  const [length, offset] = readCompactNumber(bytes, at);
  return [wrap(bytes.subarray(offset, offset + length)), offset + length];
}

/** Nibbles of a partial key; an odd count is left-padded, so the first byte holds one nibble. */
function keyNibbles(partialKey: Uint8Array, count: number): number[] {
  const nibbles: number[] = [];
  for (const byte of partialKey) nibbles.push(byte >> 4, byte & 15);
  return count % 2 === 1 ? nibbles.slice(1) : nibbles;
}

function encodeHeader(kind: keyof typeof HEADERS, nibbleCount: number): Uint8Array {
  const { prefix, sizeBits } = HEADERS[kind];
  const max = (1 << sizeBits) - 1;
  if (nibbleCount < max) return Uint8Array.of(prefix | nibbleCount);
  const out = [prefix | max];
  let rest = nibbleCount - max;
  while (rest >= 255) {
    out.push(255);
    rest -= 255;
  }
  out.push(rest);
  return Uint8Array.from(out);
}

/** Re-encodes a node in state version 1, with `children` already re-encoded. */
function encodeNodeV1(node: TrieNode, children: readonly (Uint8Array | null)[]): Uint8Array {
  const value = node.value;
  const hashed = value !== null && (value.hashed || value.bytes.length >= HASHED_VALUE_THRESHOLD);
  const kind: keyof typeof HEADERS =
    node.kind === 'leaf'
      ? hashed
        ? 'hashedLeaf'
        : 'leaf'
      : hashed
        ? 'hashedBranch'
        : value
          ? 'branchValue'
          : 'branchNoValue';
  const parts = [encodeHeader(kind, node.nibbles.length), node.partialKey];
  if (node.kind === 'branch') {
    let bitmap = 0;
    children.forEach((child, i) => {
      if (child) bitmap |= 1 << i;
    });
    parts.push(Uint8Array.of(bitmap & 255, bitmap >> 8));
  }
  if (value) {
    if (value.hashed) parts.push(value.bytes);
    else if (hashed) parts.push(blake2_256(value.bytes));
    else parts.push(encodeCompact(value.bytes.length), value.bytes);
  }
  for (const child of children) if (child) parts.push(encodeCompact(child.length), child);
  return concatBytes(parts);
}

/** A whole trie by node hash, with the values that version 1 stores outside their nodes. */
export interface TrieNodes {
  readonly root: Hex;
  readonly nodes: ReadonlyMap<Hex, Uint8Array>;
  readonly values: ReadonlyMap<Hex, Uint8Array>;
}

/** Rebuilds version-0 nodes (by hash) as version 1, from `hash` down; returns the new hash. */
function transcode(hash: Hex, v0: ReadonlyMap<Hex, Uint8Array>, out: TrieNodes): Hex {
  const bytes = v0.get(hash);
  if (!bytes) throw new Error(`trie: node ${hash} is missing from the library's trie`);
  const node = decodeNode(bytes);
  // Inline children (under 32 bytes) hold only short values: they are the same in both versions.
  const children = node.children.map((child) =>
    child && child.length === 32 ? fromHex(transcode(toHex(child), v0, out)) : child,
  );
  const encoded = encodeNodeV1(node, children);
  const newHash = toHex(blake2_256(encoded));
  (out.nodes as Map<Hex, Uint8Array>).set(newHash, encoded);
  if (node.value && !node.value.hashed && node.value.bytes.length >= HASHED_VALUE_THRESHOLD)
    (out.values as Map<Hex, Uint8Array>).set(toHex(blake2_256(node.value.bytes)), node.value.bytes);
  return newHash;
}

/** The version-1 trie over `storage`, checked against the library's version-1 root. */
export async function buildTrie(storage: ReadonlyMap<string, Hex>, expectedRoot: Hex): Promise<TrieNodes> {
  const [v0Root, v0Nodes] = (await create_proof([], [...storage])) as [Hex, Hex[]];
  const v0 = new Map<Hex, Uint8Array>();
  for (const node of v0Nodes) {
    const bytes = fromHex(node);
    v0.set(toHex(blake2_256(bytes)), bytes);
  }
  const trie: TrieNodes = { root: expectedRoot, nodes: new Map(), values: new Map() };
  const root = transcode(v0Root, v0, trie);
  if (root !== expectedRoot)
    throw new Error(`trie: re-encoded root ${root} is not the library's state root ${expectedRoot}`);
  return trie;
}

/** The nodes on the paths to `keys` (present or absent), as `state_getReadProof` returns them. */
export function readProof(trie: TrieNodes, keys: readonly Hex[]): Hex[] {
  const proof = new Set<Hex>();
  for (const key of keys) collectPath(trie, keyNibbles(fromHex(key), key.length - 2), proof);
  return [...proof];
}

function collectPath(trie: TrieNodes, key: readonly number[], proof: Set<Hex>): void {
  let bytes = trie.nodes.get(trie.root);
  let byHash = true;
  let at = 0;
  while (bytes) {
    const node = decodeNode(bytes);
    // Inline children travel inside their parent; only nodes referenced by hash are proof items.
    if (byHash) proof.add(toHex(bytes));
    if (!node.nibbles.every((nibble, i) => key[at + i] === nibble)) return;
    at += node.nibbles.length;
    if (at === key.length) {
      if (node.value?.hashed) {
        const value = trie.values.get(toHex(node.value.bytes));
        if (value) proof.add(toHex(value));
      }
      return;
    }
    const child = node.children[key[at]!];
    at += 1;
    if (!child) return;
    byHash = child.length === 32;
    bytes = byHash ? trie.nodes.get(toHex(child)) : child;
  }
}
