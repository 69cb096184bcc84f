/** The canonical index of a devnet chain (relay or para): which block is at each height on the best chain. */
import type { Hex } from '../protocol/bytes.ts';

interface Linked {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
}

/** Re-points `canonical` from the new best `head` back to where it meets the old chain, and drops heights above it. */
export function repointCanonical<B extends Linked>(
  canonical: Map<number, Hex>,
  blocks: ReadonlyMap<Hex, B>,
  head: B,
): void {
  let cursor: B | undefined = head;
  while (cursor && canonical.get(cursor.number) !== cursor.hash) {
    canonical.set(cursor.number, cursor.hash);
    cursor = blocks.get(cursor.parentHash);
  }
  for (let n = head.number + 1; canonical.has(n); n++) canonical.delete(n);
}
