/**
 * The candidate lifecycle between blocks: candidates backed and not yet enacted or timed out (with
 * their availability votes), and the known channels of each sender. Kept in memory beside the
 * store so enacting a block needs no query for them.
 */
import type { Hex } from '../protocol/bytes.ts';
import type { StoreWriter } from '../store/interface.ts';
import type { BlockWrite, CandidateRecord } from '../store/types.ts';
import type { EnactContext } from './enact.ts';

export class CandidateLedger {
  readonly #pending = new Map<Hex, CandidateRecord>();
  readonly #egress = new Map<number, Set<number>>();

  /** Loads what the store holds (at start or after seeding). */
  load(
    candidates: readonly CandidateRecord[],
    channels: readonly { sender: number; recipient: number }[],
  ): void {
    // Oldest first, so a candidate whose core a later one took is not loaded as pending again.
    for (const candidate of [...candidates].sort((a, b) => a.backedIn - b.backedIn)) {
      this.#freeCore(candidate);
      this.#pending.set(candidate.candidateHash, candidate);
    }
    for (const { sender, recipient } of channels) this.#addChannel(sender, recipient);
  }

  /** Follows one stored block: new candidates, enacted or timed-out ones, votes, new channels. */
  apply(write: BlockWrite): void {
    for (const candidate of write.newCandidates) {
      this.#freeCore(candidate);
      this.#pending.set(candidate.candidateHash, candidate);
    }
    for (const update of write.candidateUpdates) {
      const pending = this.#pending.get(update.candidateHash);
      if (update.status !== 'backed') this.#pending.delete(update.candidateHash);
      else if (pending)
        this.#pending.set(update.candidateHash, { ...pending, availabilityVotes: update.availabilityVotes });
    }
    for (const channel of write.channels) this.#addChannel(channel.sender, channel.recipient);
  }

  /** Recipients of a sender's known channels. */
  egress(sender: number): readonly number[] {
    return [...(this.#egress.get(sender) ?? [])];
  }

  /** The state enactment reads: candidates from the ledger (else the store), channels from the store. */
  context(store: StoreWriter): EnactContext {
    return {
      candidate: (hash) => this.#pending.get(hash) ?? store.candidate(hash),
      channel: (sender, recipient) => store.channel(sender, recipient),
      egress: (sender) => this.egress(sender),
      pending: () => [...this.#pending.values()],
    };
  }

  /**
   * A candidate backed on a core frees it: one still pending there was dropped without an event
   * (the runtime frees a candidate disputed as invalid so), and no availability vote is its any more.
   */
  #freeCore(candidate: CandidateRecord): void {
    if (candidate.coreIndex === null) return;
    for (const [hash, pending] of this.#pending)
      if (pending.coreIndex === candidate.coreIndex && hash !== candidate.candidateHash)
        this.#pending.delete(hash);
  }

  #addChannel(sender: number, recipient: number): void {
    const set = this.#egress.get(sender) ?? new Set<number>();
    set.add(recipient);
    this.#egress.set(sender, set);
  }
}
