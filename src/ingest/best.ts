/**
 * The best-chain view (DESIGN.md §4): unfinalized blocks held in memory, enacted with the same code
 * as finalized ones on top of the stored state, announced to `finality: "best"` subscribers, and
 * retracted when a reorg removes them. The store never sees them; on restart they are rebuilt.
 */
import { EventEmitter } from 'node:events';
import { readStorage } from '../chain/blocks.ts';
import type { NodeClient } from '../chain/node.ts';
import { observeBlock } from '../derive/observe.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { StoreReader } from '../store/interface.ts';
import type { BlockWrite, CandidateRecord, ChannelRecord } from '../store/types.ts';
import { chainStateFrom, neededKeys } from './chain-state.ts';
import { channelKeyOf, type EnactContext, enactBlock, storageNeeds } from './enact.ts';
import type { Ingest } from './ingest.ts';

export interface BestBlock {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly write: BlockWrite;
}

export interface BestViewEvents {
  best: [BestBlock];
  retracted: [BestBlock];
}

/** How far ahead of the store the view goes; beyond it (catching up) it waits. */
const MAX_DEPTH = 64;

export class BestView extends EventEmitter<BestViewEvents> {
  readonly #node: NodeClient;
  readonly #store: StoreReader;
  readonly #ingest: Ingest;
  readonly #log: Logger;
  /** Blocks computed, by hash. */
  readonly #blocks = new Map<Hex, BestBlock>();
  /** Blocks announced to subscribers and not retracted, by hash. */
  readonly #announced = new Map<Hex, BestBlock>();
  #latest: { number: number; hash: Hex } | null = null;
  #busy = false;

  constructor(node: NodeClient, store: StoreReader, ingest: Ingest, logger: Logger) {
    super();
    this.#node = node;
    this.#store = store;
    this.#ingest = ingest;
    this.#log = logger;
    ingest.on('bestHead', (head) => {
      this.#latest = head;
      void this.#drain();
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
    const cursor = this.#store.cursor();
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
    const overlay = new Overlay(this.#ingest.enactContext());
    const onPath = new Set<Hex>();
    for (const step of path) {
      onPath.add(step.hash);
      let block = this.#blocks.get(step.hash);
      if (!block) {
        block = await this.#compute(step.hash, overlay.context());
        this.#blocks.set(step.hash, block);
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
      this.emit('retracted', block);
    }
    for (const step of path) {
      if (this.#announced.has(step.hash)) continue;
      const block = this.#blocks.get(step.hash)!;
      this.#announced.set(step.hash, block);
      this.emit('best', block);
    }
    // Forget what is final now.
    for (const [key, block] of this.#blocks) if (block.number <= finalizedNumber) this.#blocks.delete(key);
    for (const [key, block] of this.#announced)
      if (block.number <= finalizedNumber) this.#announced.delete(key);
  }

  async #compute(hash: Hex, context: EnactContext): Promise<BestBlock> {
    const { metadata, input } = await this.#node.blockInput(hash);
    const observation = observeBlock(metadata, input);
    const needs = storageNeeds(observation, context);
    const values = await readStorage(this.#node, neededKeys(needs), hash);
    const chain = chainStateFrom(metadata, needs, values);
    const write = enactBlock(observation, context, chain, needs);
    return { number: observation.number, hash, parentHash: observation.parentHash, write };
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
