/**
 * GRANDPA as the devnet's authorities sign it (DESIGN.md §15): ed25519 keys from dev seeds, and
 * justifications encoded as a node stores them (`GrandpaJustification`), each precommit signed over
 * SCALE `(Message::Precommit(precommit), round, set_id)`. Written apart from the verifier it tests.
 */
import { u8aConcat } from '@polkadot/util';
import { blake2AsU8a, ed25519PairFromSeed, ed25519Sign } from '@polkadot/util-crypto';
import { encodeCompact, fromHex, type Hex, toHex, u32le, u64le } from '../protocol/bytes.ts';

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
    const precommit = u8aConcat(fromHex(voted.hash), u32le(voted.number));
    const signature = ed25519Sign(u8aConcat(Uint8Array.of(1), precommit, u64le(round), u64le(setId)), key);
    return u8aConcat(precommit, signature, key.publicKey);
  });
  return u8aConcat(
    u64le(round),
    fromHex(target.hash),
    u32le(target.number),
    encodeCompact(precommits.length),
    ...precommits,
    encodeCompact(ancestries.length),
    ...ancestries,
  );
}

/** `FRNK`: GRANDPA's consensus engine id. */
export const GRANDPA_ENGINE = '0x46524e4b';

/**
 * The devnet's GRANDPA (`grandpaAuthorities` > 0): `authorities` dev keys per set, a new set every
 * `setEvery` blocks announced by a `ScheduledChange` (delay 0) in that block's digest, and a
 * justification for each finalized block signed by the threshold of the set in force there (the
 * block that announces a change is still finalized by the old set).
 */
export class DevnetGrandpa {
  readonly authorities: number;
  readonly setEvery: number;

  constructor(authorities: number, setEvery: number) {
    this.authorities = authorities;
    this.setEvery = setEvery;
  }

  /** The set that finalizes block `number`: how many changes were announced below it. */
  setIdAt(number: number): number {
    return this.setEvery > 0 && number > 0 ? Math.floor((number - 1) / this.setEvery) : 0;
  }

  keysOf(setId: number): GrandpaKey[] {
    return grandpaKeys(setId, this.authorities);
  }

  /** The checkpoint a client of this devnet starts from: the genesis set, after the genesis block (JSON-ready). */
  checkpoint(genesisHash: Hex): { setId: number; authorities: Hex[]; block: { number: 0; hash: Hex } } {
    return {
      setId: 0,
      authorities: this.keysOf(0).map((key) => toHex(key.publicKey)),
      block: { number: 0, hash: genesisHash },
    };
  }

  /** The digest item announcing the next set, in the blocks that change it (else null). */
  changeLog(number: number): Hex | null {
    if (this.setEvery === 0 || number === 0 || number % this.setEvery !== 0) return null;
    const next = this.keysOf(this.setIdAt(number) + 1);
    const log = u8aConcat(
      Uint8Array.of(1), // ConsensusLog::ScheduledChange
      encodeCompact(next.length),
      ...next.map((key) => u8aConcat(key.publicKey, u64le(1n))),
      u32le(0), // delay
    );
    const item = u8aConcat(Uint8Array.of(4), fromHex(GRANDPA_ENGINE), encodeCompact(log.length), log);
    return toHex(item);
  }

  /** The justification of a finalized block: precommits of the threshold of its set, round = its number. */
  justify(block: { readonly hash: Hex; readonly number: number }): Uint8Array {
    const setId = this.setIdAt(block.number);
    const keys = this.keysOf(setId);
    const threshold = keys.length - Math.floor((keys.length - 1) / 3);
    return signJustification({
      round: BigInt(block.number),
      setId: BigInt(setId),
      target: block,
      votes: keys.slice(0, threshold).map((key) => ({ key, target: block })),
    });
  }
}
