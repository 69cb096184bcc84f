/**
 * Which para blocks are final, from the heads a para node finalizes (DESIGN.md §14). The journey
 * tracker follows blocks in an order of its own (a relay branch can make the sidecar read a backed
 * block before its parent), so a finalized head's ancestry may have holes: a hash known final but
 * not followed yet is remembered, and its own ancestors become final when it is followed.
 */
import type { Hex } from '../protocol/bytes.ts';

export interface FollowedBlock {
  readonly number: number;
  readonly parentHash: Hex;
}

/** Final hashes remembered per para, and final hashes not followed yet. */
const KEEP = 4096;

export class FinalChains {
  readonly #finalAt = new Map<number, Map<number, Hex>>();
  readonly #notFollowed = new Set<Hex>();

  /** The final block at `number` of the para, if known. */
  at(paraId: number, number: number): Hex | undefined {
    return this.#finalAt.get(paraId)?.get(number);
  }

  /**
   * `hash` is final: it and its followed ancestors are, down to one already known or not followed
   * yet. Returns the heights that became known final.
   */
  final(
    paraId: number,
    hash: Hex,
    followed: (hash: Hex) => FollowedBlock | undefined,
  ): { number: number; hash: Hex }[] {
    const finalAt = this.#finalAt.get(paraId) ?? new Map<number, Hex>();
    this.#finalAt.set(paraId, finalAt);
    const known: { number: number; hash: Hex }[] = [];
    for (let at: Hex | undefined = hash; at; ) {
      const block = followed(at);
      if (!block) {
        this.#notFollowed.add(at);
        if (this.#notFollowed.size > KEEP) this.#notFollowed.delete(this.#notFollowed.values().next().value!);
        break;
      }
      if (finalAt.get(block.number) === at) break;
      finalAt.set(block.number, at);
      known.push({ number: block.number, hash: at });
      at = block.parentHash;
    }
    while (finalAt.size > KEEP) finalAt.delete(finalAt.keys().next().value!);
    return known;
  }

  /** A block was followed: if it was known final, its ancestors are (the heights that became known final). */
  followed(
    paraId: number,
    hash: Hex,
    followed: (hash: Hex) => FollowedBlock | undefined,
  ): { number: number; hash: Hex }[] {
    if (!this.#notFollowed.delete(hash)) return [];
    return this.final(paraId, hash, followed);
  }
}
