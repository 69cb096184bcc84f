/**
 * The best-chain view (DESIGN.md §4): unfinalized blocks held in memory, enacted with the same code
 * as finalized ones on top of the stored state, announced to `finality: "best"` subscribers, and
 * retracted when a reorg removes them. The store never sees them; on restart they are rebuilt.
 */
import { EventEmitter } from 'node:events';
import { readStorage } from '../chain/blocks.ts';
import type { NodeClient } from '../chain/node.ts';
import type { BlockObservation } from '../derive/observe.ts';
import { observeBlock } from '../derive/observe.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { BlockWrite, CandidateRecord, ChannelRecord, Cursor } from '../store/types.ts';
import { chainStateFrom, neededKeys } from './chain-state.ts';
import { channelKeyOf, type EnactContext, enactBlock, storageNeeds } from './enact.ts';
import type { Head } from './heads.ts';

export interface BestBlock {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly write: BlockWrite;
  /** The candidates this block updates (included, timed out, availability), as they are after it. */
  readonly updated: readonly CandidateRecord[];
}

/** One move of the best head: blocks that left the best chain (newest first), then those that joined (oldest first). */
export interface BestChange {
  readonly retracted: readonly BestBlock[];
  readonly announced: readonly BestBlock[];
}

export interface BestViewEvents {
  change: [BestChange];
}

/** How far ahead of the store the view goes; beyond it (catching up) it waits. */
const MAX_DEPTH = 64;

/**
 * What the view builds on: the stored block and the candidate ledger there. Ingest is one; an API
 * replica following a writer through the database is the other.
 */
export interface BestBase {
  readonly storedCursor: Cursor | null;
  /** The ledger as of the stored cursor; null while blocks are enacted and not written yet. */
  enactContext(): EnactContext | null;
  /** Reads from the store the settled candidates a block's events name, before enacting it. */
  recall(observation: BlockObservation): Promise<void>;
  on(event: 'bestHead', listener: (head: Head) => void): unknown;
  on(event: 'block', listener: (write: BlockWrite) => void): unknown;
}

export class BestView extends EventEmitter<BestViewEvents> {
  readonly #node: NodeClient;
  readonly #ingest: BestBase;
  readonly #log: Logger;
  /** Blocks computed, by hash. */
  readonly #blocks = new Map<Hex, BestBlock>();
  /** Blocks announced to subscribers and not retracted, by hash. */
  readonly #announced = new Map<Hex, BestBlock>();
  #latest: { number: number; hash: Hex } | null = null;
  /** The node's best head as last announced. */
  #head: { number: number; hash: Hex } | null = null;
  #busy = false;
  /** Callers waiting for a block to be computed. */
  readonly #waiting = new Map<Hex, Set<() => void>>();

  constructor(node: NodeClient, ingest: BestBase, logger: Logger) {
    super();
    this.#node = node;
    this.#ingest = ingest;
    this.#log = logger;
    ingest.on('bestHead', (head) => {
      this.#head = head;
      this.#latest = head;
      void this.#drain();
    });
    // A head that came before the store could be built on (at start, or far behind) is followed
    // once the store catches up, not only when the next head comes.
    ingest.on('block', (write) => {
      const head = this.#head;
      if (!head || head.number <= write.number || this.#announced.has(head.hash)) return;
      this.#latest ??= head;
      void this.#drain();
    });
  }

  /** The announced best chain above the stored block, oldest first. */
  path(): BestBlock[] {
    const stored = this.#ingest.storedCursor?.number ?? 0;
    return [...this.#announced.values()].filter((b) => b.number > stored).sort((a, b) => a.number - b.number);
  }

  /** The computed blocks from just above the stored block up to `hash` (oldest first); null when `hash` is not computed. */
  pathTo(hash: Hex): BestBlock[] | null {
    const cursor = this.#ingest.storedCursor;
    if (!cursor) return null;
    const path: BestBlock[] = [];
    let at = hash;
    while (at !== cursor.hash) {
      const block = this.#blocks.get(at);
      if (!block || block.number <= cursor.number) return null;
      path.push(block);
      at = block.parentHash;
    }
    return path.reverse();
  }

  /**
   * Resolves once `hash` is computed (true), or after `ms` (false). A collator asks about a relay
   * block as soon as it is imported, usually while this view is still computing it.
   */
  whenComputed(hash: Hex, ms: number): Promise<boolean> {
    if (this.#blocks.has(hash)) return Promise.resolve(true);
    const cursor = this.#ingest.storedCursor;
    const following = cursor && this.#head && this.#head.number - cursor.number <= MAX_DEPTH;
    if (!following) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(hash) ?? new Set<() => void>();
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.#waiting.delete(hash);
        resolve(this.#blocks.has(hash));
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
      this.#waiting.set(hash, waiters);
    });
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#latest) {
        const head = this.#latest;
        this.#latest = null;
        await this.#update(head).catch((error: Error) =>
          this.#log.debug({ err: error.message, head: head.number }, 'best-chain view skipped a head'),
        );
      }
    } finally {
      this.#busy = false;
    }
  }

  async #update(head: { number: number; hash: Hex }): Promise<void> {
    const cursor = this.#ingest.storedCursor;
    if (!cursor || head.number - cursor.number > MAX_DEPTH) return;
    // The path from the stored block to the new best head.
    const path: { number: number; hash: Hex }[] = [];
    let hash = head.hash;
    let number = head.number;
    while (number > cursor.number) {
      path.push({ number, hash });
      const known = this.#blocks.get(hash);
      const parent = known ? known.parentHash : (await this.#node.header(hash)).parentHash;
      hash = parent;
      number -= 1;
    }
    if (hash !== cursor.hash) throw new Error('the best chain does not contain the stored block');
    path.reverse();
    const base = this.#ingest.enactContext();
    if (!base) return; // catch-up holds blocks not written yet; the next written block brings this back
    const overlay = new Overlay(base);
    const onPath = new Set<Hex>();
    for (const step of path) {
      onPath.add(step.hash);
      let block = this.#blocks.get(step.hash);
      if (!block) {
        block = await this.#compute(step.hash, overlay.context());
        this.#blocks.set(step.hash, block);
        for (const wake of [...(this.#waiting.get(step.hash) ?? [])]) wake();
      }
      overlay.apply(block.write);
    }
    // Retract what left the best chain (newest first), then announce what joined it (oldest first).
    const finalizedNumber = cursor.number;
    const retract = [...this.#announced.values()]
      .filter((b) => !onPath.has(b.hash) && b.number > finalizedNumber)
      .sort((a, b) => b.number - a.number);
    for (const block of retract) {
      this.#announced.delete(block.hash);
    }
    const announced: BestBlock[] = [];
    for (const step of path) {
      if (this.#announced.has(step.hash)) continue;
      const block = this.#blocks.get(step.hash)!;
      this.#announced.set(step.hash, block);
      announced.push(block);
    }
    if (retract.length > 0 || announced.length > 0) this.emit('change', { retracted: retract, announced });
    // Forget what is final now.
    for (const [key, block] of this.#blocks) if (block.number <= finalizedNumber) this.#blocks.delete(key);
    for (const [key, block] of this.#announced)
      if (block.number <= finalizedNumber) this.#announced.delete(key);
  }

  async #compute(hash: Hex, context: EnactContext): Promise<BestBlock> {
    const { metadata, input } = await this.#node.blockInput(hash);
    const observation = observeBlock(metadata, input);
    await this.#ingest.recall(observation);
    const needs = storageNeeds(observation, context);
    const values = await readStorage(this.#node, neededKeys(needs), hash);
    const chain = chainStateFrom(metadata, needs, values);
    const write = enactBlock(observation, context, chain, needs);
    const updated = write.candidateUpdates.flatMap((update) => {
      const before = context.candidate(update.candidateHash);
      const settledIn = update.status === 'backed' ? null : observation.number;
      return before ? [{ ...before, ...update, settledIn }] : [];
    });
    return { number: observation.number, hash, parentHash: observation.parentHash, write, updated };
  }
}

/** Stored state plus the effects of the unfinalized blocks before the one being computed. */
class Overlay {
  readonly #base: EnactContext;
  readonly #candidates = new Map<Hex, CandidateRecord>();
  readonly #finished = new Set<Hex>();
  readonly #channels = new Map<string, ChannelRecord>();

  constructor(base: EnactContext) {
    this.#base = base;
  }

  apply(write: BlockWrite): void {
    for (const candidate of write.newCandidates) this.#candidates.set(candidate.candidateHash, candidate);
    for (const update of write.candidateUpdates)
      if (update.status !== 'backed') this.#finished.add(update.candidateHash);
    for (const channel of write.channels)
      this.#channels.set(channelKeyOf(channel.sender, channel.recipient), channel);
  }

  context(): EnactContext {
    return {
      candidate: (hash) =>
        this.#finished.has(hash) ? null : (this.#candidates.get(hash) ?? this.#base.candidate(hash)),
      channel: (sender, recipient) =>
        this.#channels.get(channelKeyOf(sender, recipient)) ?? this.#base.channel(sender, recipient),
      egress: (sender) => this.#base.egress(sender),
      pending: () => [
        ...this.#base.pending().filter((c) => !this.#finished.has(c.candidateHash)),
        ...this.#candidates.values(),
      ],
    };
  }
}
