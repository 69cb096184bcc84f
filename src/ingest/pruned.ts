/**
 * Following a pruned node (DESIGN.md §12): it keeps the state and bodies of its last blocks only,
 * and drops the oldest of them with every new block. Ingest must not start at the first block the
 * node still serves (the state before it is the next to go), and must move on when the node drops
 * what it needs next while it runs; peers fill what it skips.
 */
import { firstServable } from '../chain/blocks.ts';
import type { NodeClient } from '../chain/node.ts';
import type { Cursor, MessageRecord } from '../store/types.ts';

/** Never start closer than this to the oldest block the node serves. */
const MIN_MARGIN = 2;

/** Blocks the store's cursor moved over, and the messages of them that peers proved. */
export interface BridgedRange {
  readonly from: number;
  readonly to: Cursor;
  /** In block order (then sender, then queue order). */
  readonly messages: readonly MessageRecord[];
}

/**
 * What ingest does when the node no longer holds what it needs next. Given to Ingest by callers
 * that have another source (peers) for what it skips.
 */
export interface PrunedHistory {
  /** An empty store whose first block the node no longer serves: the block to start from instead. */
  restartAt(first: number, last?: number): Promise<number | null>;
  /** Moves the store's cursor over the blocks after it the node no longer serves (peers fill them). */
  bridge(): Promise<BridgedRange | null>;
}

/**
 * The first block in [from, to] to follow the node from: `from` when it still serves it (and the
 * state before it), else the first block it serves plus a margin of a quarter of what it keeps
 * (at least MIN_MARGIN), so the state before it outlives the seeding and the first fetches. With
 * Polkadot's pruning of 256 blocks and 6 s blocks that is 64 blocks, 6.4 minutes; the devnet's
 * 64 blocks at 300 ms give 16 blocks, 4.8 s. Null when the node serves none of them.
 */
export async function followableFrom(node: NodeClient, from: number, to: number): Promise<number | null> {
  const first = await firstServable(node, from, to);
  if (first === null || first === from) return first;
  const kept = Math.max(0, (await node.finalizedNumber()) - first);
  return Math.min(to, first + Math.max(MIN_MARGIN, Math.floor(kept / 4)));
}
