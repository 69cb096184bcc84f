/**
 * The candidate lifecycle between blocks: candidates backed and not yet enacted or timed out (with
 * their availability votes), and the state of every channel. Kept in memory beside the store so
 * enacting a block needs no query, and so blocks can be enacted ahead of their (batched) write.
 */
import type { Hex } from '../protocol/bytes.ts';
import type { StoreWriter } from '../store/interface.ts';
import type { BlockWrite, CandidateRecord, ChannelRecord } from '../store/types.ts';
import { channelKeyOf, type EnactContext } from './enact.ts';

export class CandidateLedger {
  readonly #pending = new Map<Hex, CandidateRecord>();
  readonly #egress = new Map<number, Set<number>>();
  /** Every channel as of the last applied block (what the store holds once that block is written). */
  readonly #channels = new Map<string, ChannelRecord>();
  /** Candidates backed in applied blocks that are not written yet, for lookups the store cannot answer. */
  readonly #unwritten = new Map<Hex, CandidateRecord>();
  /** Settled candidates read back from the store because a block names them again (see `recall`). */
  readonly #recalled = new Map<Hex, CandidateRecord>();

  /** Loads what the store holds (at start, after seeding, or after a failed write), replacing any earlier state. */
  load(candidates: readonly CandidateRecord[], channels: readonly ChannelRecord[]): void {
    this.#pending.clear();
    this.#egress.clear();
    this.#channels.clear();
    this.#unwritten.clear();
    this.#recalled.clear();
    // Oldest first, so a candidate whose core a later one took is not loaded as pending again.
    for (const candidate of [...candidates].sort((a, b) => a.backedIn - b.backedIn)) {
      this.#freeCore(candidate);
      this.#pending.set(candidate.candidateHash, candidate);
    }
    for (const channel of channels) this.#setChannel(channel);
  }

  /** Follows one stored block: new candidates, enacted or timed-out ones, votes, new channels. */
  apply(write: BlockWrite): void {
    for (const candidate of write.newCandidates) {
      this.#freeCore(candidate);
      this.#pending.set(candidate.candidateHash, candidate);
      this.#unwritten.set(candidate.candidateHash, candidate);
    }
    for (const update of write.candidateUpdates) {
      const pending = this.#pending.get(update.candidateHash);
      if (update.status !== 'backed') this.#pending.delete(update.candidateHash);
      else if (pending)
        this.#pending.set(update.candidateHash, { ...pending, availabilityVotes: update.availabilityVotes });
    }
    for (const channel of write.channels) this.#setChannel(channel);
  }

  /** The applied blocks are in the store now. */
  written(): void {
    this.#unwritten.clear();
    this.#recalled.clear();
  }

  /**
   * Reads from the store the candidates a block's CandidateIncluded events name that the ledger no
   * longer holds (settled long ago), so enacting it (which does no I/O) finds them.
   */
  async recall(included: readonly Hex[], store: Pick<StoreWriter, 'candidate'>): Promise<void> {
    for (const hash of included) {
      if (this.#pending.has(hash) || this.#unwritten.has(hash) || this.#recalled.has(hash)) continue;
      const record = await store.candidate(hash);
      if (record) this.#recalled.set(hash, record);
    }
  }

  /** Recipients of a sender's known channels. */
  egress(sender: number): readonly number[] {
    return [...(this.#egress.get(sender) ?? [])];
  }

  /** The state enactment reads: from the ledger, else (a candidate settled long ago) what `recall` read. */
  context(): EnactContext {
    return {
      candidate: (hash) =>
        this.#pending.get(hash) ?? this.#unwritten.get(hash) ?? this.#recalled.get(hash) ?? null,
      channel: (sender, recipient) => this.#channels.get(channelKeyOf(sender, recipient)) ?? null,
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

  /** As the store upserts a channel: a write without `lastSentAt` keeps the one before. */
  #setChannel(channel: ChannelRecord): void {
    const { sender, recipient } = channel;
    const key = channelKeyOf(sender, recipient);
    const before = this.#channels.get(key);
    this.#channels.set(key, {
      ...channel,
      lastSentAt: channel.lastSentAt ?? before?.lastSentAt ?? null,
    });
    const set = this.#egress.get(sender) ?? new Set<number>();
    set.add(recipient);
    this.#egress.set(sender, set);
  }
}
