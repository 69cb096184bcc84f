/**
 * Checks what an attached para node says its blocks consumed (DESIGN.md §14): when a block moves
 * its `HrmpWatermark` past its parent's, its `LastHrmpMqcHeads` must hold, for every sender that
 * sent it something in between, the channel's head after the last of those messages, as the
 * sidecar verified them against the relay chain (derive/delivery.ts). A difference is a
 * `deliveryMismatch`: counted per para and logged at error level. A block is checked once its node
 * finalized it (so its relay parent is on the finalized relay chain, which is what the store holds:
 * a block built on a relay fork consumed that fork's messages) and the store holds its watermark's
 * block; a node's first block (whose parent it did not see) is the baseline.
 */
import { expectedMqcHeads, mqcHeadMismatches } from '../derive/delivery.ts';
import type { ParaBlockSeen, ParaHeadSeen } from '../derive/speculative.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { StoreReader } from '../store/interface.ts';

/** Watermarks remembered per para block, to find a block's parent's. */
const KEEP_WATERMARKS = 4096;
/** Checks waiting for the store to reach their watermark; past it the oldest is given up (logged). */
const MAX_WAITING = 1024;

export interface DeliveryCounts {
  readonly checks: number;
  readonly mismatches: number;
}

export interface DeliveryMismatch {
  readonly paraId: number;
  readonly paraBlock: { readonly number: number; readonly hash: Hex };
  readonly watermark: number;
  readonly mismatches: ReturnType<typeof mqcHeadMismatches>;
}

interface Waiting {
  readonly block: ParaBlockSeen;
  readonly from: number;
  readonly to: number;
}

export class DeliveryCheck {
  readonly #store: StoreReader;
  readonly #log: Logger;
  readonly #onMismatch: (mismatch: DeliveryMismatch) => void;
  readonly #watermarks = new Map<Hex, number>();
  readonly #waiting: Waiting[] = [];
  /** Parent of each para block seen, to walk down from a finalized head. */
  readonly #parents = new Map<Hex, Hex>();
  /** Para blocks their nodes finalized (bounded like the watermarks). */
  readonly #final = new Set<Hex>();
  #stored = -1;
  readonly #counts = new Map<number, { checks: number; mismatches: number }>();

  constructor(store: StoreReader, logger: Logger, onMismatch: (mismatch: DeliveryMismatch) => void) {
    this.#store = store;
    this.#log = logger;
    this.#onMismatch = onMismatch;
  }

  counts(paraId: number): DeliveryCounts {
    return this.#counts.get(paraId) ?? { checks: 0, mismatches: 0 };
  }

  /** A para block was read: remember its watermark, and check it when the store holds it. */
  async paraBlock(block: ParaBlockSeen, stored: number | null): Promise<void> {
    const inbound = block.inbound;
    if (!inbound) return;
    this.#watermarks.set(block.hash, inbound.hrmpWatermark);
    this.#parents.set(block.hash, block.parentHash);
    if (this.#watermarks.size > KEEP_WATERMARKS) {
      const oldest = this.#watermarks.keys().next().value!;
      this.#watermarks.delete(oldest);
      this.#parents.delete(oldest);
      this.#final.delete(oldest);
    }
    const parent = this.#watermarks.get(block.parentHash);
    if (parent === undefined || inbound.hrmpWatermark <= parent) return;
    this.#waiting.push({ block, from: parent + 1, to: inbound.hrmpWatermark });
    if (this.#waiting.length > MAX_WAITING) {
      const dropped = this.#waiting.shift()!;
      this.#log.warn(
        { para: dropped.block.paraId, paraBlock: dropped.block.number, watermark: dropped.to },
        'delivery not checked: the store is too far behind the para node',
      );
    }
    if (stored !== null) await this.stored(stored);
  }

  /** A para node finalized `head`: it and its ancestors are checked once the store is there. */
  async paraFinalized(head: ParaHeadSeen): Promise<void> {
    for (
      let hash: Hex | undefined = head.hash;
      hash && !this.#final.has(hash);
      hash = this.#parents.get(hash)
    ) {
      if (!this.#watermarks.has(hash)) break;
      this.#final.add(hash);
    }
    // Blocks at or below it that are not on its chain never will be: forks, not checked.
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const { block } = this.#waiting[i]!;
      if (block.paraId === head.paraId && block.number <= head.number && !this.#final.has(block.hash))
        this.#waiting.splice(i, 1);
    }
    await this.stored(this.#stored);
  }

  /** The store holds blocks up to `number`: check what waited for them. */
  async stored(number: number): Promise<void> {
    this.#stored = Math.max(this.#stored, number);
    const ready = this.#waiting.filter((w) => w.to <= this.#stored && this.#final.has(w.block.hash));
    if (ready.length === 0) return;
    for (const w of ready) this.#waiting.splice(this.#waiting.indexOf(w), 1);
    for (const w of ready) await this.#check(w);
  }

  async #check({ block, from, to }: Waiting): Promise<void> {
    const messages = await this.#store.inbox(block.paraId, { fromBlock: from, toBlock: to });
    const expected = expectedMqcHeads(messages, to);
    const mismatches = mqcHeadMismatches(block.inbound!.mqcHeads, expected);
    const counts = this.#counts.get(block.paraId) ?? { checks: 0, mismatches: 0 };
    this.#counts.set(block.paraId, counts);
    counts.checks++;
    if (mismatches.length === 0) return;
    counts.mismatches++;
    const paraBlock = { number: block.number, hash: block.hash };
    this.#log.error(
      { para: block.paraId, paraBlock, watermark: to, mismatches },
      `para ${block.paraId}'s node says its block #${block.number} consumed other HRMP than the relay chain sent it: ${mismatches.length} channel head(s) differ`,
    );
    this.#onMismatch({ paraId: block.paraId, paraBlock, watermark: to, mismatches });
  }
}
