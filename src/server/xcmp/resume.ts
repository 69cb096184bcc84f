/**
 * Resuming a best or pending subscription (docs/resume.md): the subscriber says what it holds —
 * the best blocks whose messages it was sent (`known`) and the candidates announced to it that are
 * not settled for good (`open`) — and gets exactly what a subscriber that never left has and it
 * lacks: nothing it holds again, a `retracted` for each block it holds that left the chain while it
 * was away, a `dropped` for each open candidate that will not be enacted any more.
 */

import type { PendingMessage } from '../../derive/pending.ts';
import {
  type CandidateFate,
  type DropReason,
  type PendingLifecycle,
  pendingMessages,
} from '../../derive/pending.ts';
import type { Hex } from '../../protocol/bytes.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { CandidateRecord } from '../../store/types.ts';

export interface ResumeRequest {
  readonly known: readonly { readonly number: number; readonly hash: string }[];
  readonly open: readonly string[];
}

interface BlockRef {
  readonly number: number;
  readonly hash: Hex;
}

/** A pending candidate of the subscriber's that will not be enacted, as it is told. */
export interface ResumeDrop {
  readonly candidateHash: Hex;
  readonly reason: DropReason;
  readonly detail: string;
  readonly messages: readonly PendingMessage[];
}

export class ResumePlan {
  /** Known blocks by number (a subscriber holds one block per height: the one it was last sent). */
  readonly #known = new Map<number, Hex>();
  readonly #open: ReadonlySet<Hex>;
  /** Stored block hashes at the known heights the stored replay covers. */
  readonly #storedHashes = new Map<number, Hex | null>();
  /** The subscriber's open candidates as the store holds them (settled ones stay settled). */
  readonly #stored = new Map<Hex, CandidateRecord | null>();

  constructor(request: ResumeRequest) {
    for (const block of request.known) this.#known.set(block.number, block.hash.toLowerCase() as Hex);
    this.#open = new Set(request.open.map((hash) => hash.toLowerCase() as Hex));
  }

  /** Reads the stored candidates of the open list (once, before the replay). */
  async readCandidates(store: StoreReader): Promise<void> {
    for (const hash of this.#open) this.#stored.set(hash, await store.candidate(hash));
  }

  /** Reads the stored hashes at known heights within [from, to] (each pass of the stored replay). */
  async readStoredHashes(store: StoreReader, from: number, to: number): Promise<void> {
    for (const number of this.#known.keys())
      if (number >= from && number <= to) this.#storedHashes.set(number, await store.blockHash(number));
  }

  /** The subscriber holds this block (and it is on the chain, since its hash is the chain's): not sent again. */
  holds(block: BlockRef): boolean {
    return this.#known.get(block.number) === block.hash;
  }

  /** Whether the subscriber was told of this candidate as pending. */
  isOpen(candidateHash: Hex): boolean {
    return this.#open.has(candidateHash);
  }

  /**
   * Known blocks that are off the chain now, newest first: at or below `storedUpTo` the stored
   * block differs; above it the best path has another block there, or none (past its head).
   */
  retracted(storedUpTo: number, pathHash: (number: number) => Hex | undefined): BlockRef[] {
    const gone: BlockRef[] = [];
    for (const [number, hash] of this.#known) {
      const onChain = number <= storedUpTo ? this.#storedHashes.get(number) : pathHash(number);
      if (onChain !== hash) gone.push({ number, hash });
    }
    return gone.sort((a, b) => b.number - a.number);
  }

  /** Open candidates that will not be enacted any more, with why. */
  drops(lifecycle: PendingLifecycle): ResumeDrop[] {
    const drops: ResumeDrop[] = [];
    for (const candidateHash of this.#open) {
      const drop = this.#dropOf(candidateHash, lifecycle.fate(candidateHash));
      if (drop) drops.push(drop);
    }
    return drops;
  }

  #dropOf(candidateHash: Hex, fate: CandidateFate | null): ResumeDrop | null {
    if (fate?.state === 'open' || fate?.state === 'enacted') return null;
    if (fate?.state === 'dropped') return { candidateHash, ...fate };
    const stored = this.#stored.get(candidateHash) ?? null;
    const messages = stored ? pendingMessages(stored) : [];
    switch (stored?.status) {
      case 'included':
      case 'backed':
        return null;
      case 'timedOut':
        return {
          candidateHash,
          messages,
          reason: 'timedOut',
          detail: `CandidateTimedOut at #${stored.settledIn}: availability was not reached in time`,
        };
      case 'freed':
        return {
          candidateHash,
          messages,
          reason: 'notEnacted',
          detail: `freed at #${stored.settledIn} without enactment: a dispute concluded against it, or its core was given to another candidate`,
        };
      default:
        return {
          candidateHash,
          messages,
          reason: 'retracted',
          detail: 'the block that backed it is not on the chain this sidecar follows',
        };
    }
  }
}
