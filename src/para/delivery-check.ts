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
  /** Each para block seen: its watermark, its parent (to walk down from a finalized head), whether its node finalized it. */
  readonly #seen = new Map<Hex, { readonly watermark: number; readonly parentHash: Hex; final: boolean }>();
  readonly #waiting: Waiting[] = [];
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
    this.#seen.set(block.hash, {
      watermark: inbound.hrmpWatermark,
      parentHash: block.parentHash,
      final: false,
    });
    if (this.#seen.size > KEEP_WATERMARKS) this.#seen.delete(this.#seen.keys().next().value!);
    const parent = this.#seen.get(block.parentHash)?.watermark;
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
    for (let seen = this.#seen.get(head.hash); seen && !seen.final; seen = this.#seen.get(seen.parentHash))
      seen.final = true;
    // Blocks at or below it that are not on its chain never will be: forks, not checked.
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const { block } = this.#waiting[i]!;
      if (block.paraId === head.paraId && block.number <= head.number && !this.#isFinal(block.hash))
        this.#waiting.splice(i, 1);
    }
    await this.stored(this.#stored);
  }

  /** The store holds blocks up to `number`: check what waited for them. */
  async stored(number: number): Promise<void> {
    this.#stored = Math.max(this.#stored, number);
    const ready = this.#waiting.filter((w) => w.to <= this.#stored && this.#isFinal(w.block.hash));
    if (ready.length === 0) return;
    for (const w of ready) this.#waiting.splice(this.#waiting.indexOf(w), 1);
    for (const w of ready) await this.#check(w);
  }

  #isFinal(hash: Hex): boolean {
    return this.#seen.get(hash)?.final ?? false;
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
