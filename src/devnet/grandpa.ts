/**
 * GRANDPA as the devnet's authorities sign it (DESIGN.md §15): ed25519 keys from dev seeds, and
 * justifications encoded as a node stores them (`GrandpaJustification`), each precommit signed over
 * SCALE `(Message::Precommit(precommit), round, set_id)`. Written apart from the verifier it tests.
 */
import { u8aConcat } from '@polkadot/util';
import { blake2AsU8a, ed25519PairFromSeed, ed25519Sign } from '@polkadot/util-crypto';
import type { Hex } from './chain.ts';

export interface GrandpaKey {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Authority `index` of set `setId`: the same keys on every run. */
export function grandpaKey(setId: number, index: number): GrandpaKey {
  return ed25519PairFromSeed(blake2AsU8a(`xcmp-sidecar devnet grandpa set ${setId} authority ${index}`, 256));
}

export function grandpaKeys(setId: number, count: number): GrandpaKey[] {
  return Array.from({ length: count }, (_, i) => grandpaKey(setId, i));
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

function compact(value: number): Uint8Array {
  if (value < 64) return Uint8Array.of(value << 2);
  if (value < 16384) return Uint8Array.of(((value << 2) | 1) & 0xff, value >> 6);
  const out = new Uint8Array(5);
  out[0] = 3;
  new DataView(out.buffer).setUint32(1, value, true);
  return out;
}

const bytesOf = (hex: Hex) => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));

export interface Vote {
  readonly key: GrandpaKey;
  /** The block it precommits to (the target, or a descendant of it). */
  readonly target: { readonly hash: Hex; readonly number: number };
}

/** A SCALE `GrandpaJustification` for `target`, with these votes and ancestry headers (SCALE). */
export function signJustification(options: {
  readonly round: bigint;
  readonly setId: bigint;
  readonly target: { readonly hash: Hex; readonly number: number };
  readonly votes: readonly Vote[];
  readonly ancestries?: readonly Uint8Array[];
}): Uint8Array {
  const { round, setId, target, votes, ancestries = [] } = options;
  const precommits = votes.map(({ key, target: voted }) => {
    const precommit = u8aConcat(bytesOf(voted.hash), u32(voted.number));
    const signature = ed25519Sign(u8aConcat(Uint8Array.of(1), precommit, u64(round), u64(setId)), key);
    return u8aConcat(precommit, signature, key.publicKey);
  });
  return u8aConcat(
    u64(round),
    bytesOf(target.hash),
    u32(target.number),
    compact(precommits.length),
    ...precommits,
    compact(ancestries.length),
    ...ancestries,
  );
}
