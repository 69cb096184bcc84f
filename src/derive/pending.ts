/**
 * The pending lifecycle (DESIGN.md §10): a candidate's horizontal messages are announced when it is
 * backed on the best chain (commitments binding held), and each is then settled exactly once:
 * enacted on the best chain, or dropped with a reason. Pure: it follows the best-chain changes it
 * is given and returns what to announce.
 */
import { type Hex, toHex } from '../protocol/bytes.ts';
import { decodeCommitments } from '../protocol/commitments.ts';
import { blake2_256 } from '../protocol/hash.ts';
import type { BlockWrite, CandidateRecord, MessageRecord } from '../store/types.ts';

export type DropReason = 'timedOut' | 'retracted' | 'replaced' | 'notEnacted';

/** A backed candidate's message, before enactment gives it a `sentAt`. */
export interface PendingMessage {
  readonly candidateHash: Hex;
  /** Position among the candidate's horizontal messages. */
  readonly position: number;
  readonly sender: number;
  readonly recipient: number;
  readonly data: Uint8Array;
  readonly hash: Hex;
  /** `blake2_256(head_data)`: a cumulus chain's para block hash, which speculative updates name. */
  readonly paraHead?: Hex;
}

export interface BlockRef {
  readonly number: number;
  readonly hash: Hex;
}

export type LifecycleEvent =
  /** A block joined (followed) or left the best chain, before the updates it causes. */
  | { readonly type: 'followed' | 'left'; readonly block: LifecycleBlock }
  | { readonly type: 'pending'; readonly block: BlockRef; readonly messages: readonly PendingMessage[] }
  | {
      readonly type: 'messages' | 'retracted';
      readonly block: BlockRef;
      readonly messages: readonly MessageRecord[];
    }
  | {
      readonly type: 'dropped';
      readonly block: BlockRef;
      readonly candidateHash: Hex;
      readonly reason: DropReason;
      readonly detail: string;
      readonly messages: readonly PendingMessage[];
    };

/** A best-chain block as the lifecycle needs it. */
export interface LifecycleBlock extends BlockRef {
  readonly write: BlockWrite;
  /** Best-chain blocks: the candidates it updates as they are after it (not in the store yet). */
  readonly updated?: readonly CandidateRecord[];
}

interface OpenCandidate {
  readonly candidate: CandidateRecord;
  readonly backedAt: BlockRef;
  readonly messages: readonly PendingMessage[];
}

/**
 * Blocks a backed candidate may stay open without enactment, time-out or its core being reused,
 * while no block has said (its active configuration's `group_rotation_frequency +
 * paras_availability_period`, BlockWrite.availabilityTimeout).
 */
export const NOT_ENACTED_AFTER = 32;

/** Finalized blocks remembered, to recognise a late best-view announcement of them. */
const KEEP_FINAL = 128;
/** Drops remembered after they are final, for subscribers that resume (what they missed). */
const KEEP_DROPS = 4096;

/** What became of an announced candidate, as far as this lifecycle knows. */
export type CandidateFate =
  | { readonly state: 'open' }
  | { readonly state: 'enacted'; readonly at: BlockRef }
  | {
      readonly state: 'dropped';
      readonly at: BlockRef;
      readonly reason: DropReason;
      readonly detail: string;
      readonly messages: readonly PendingMessage[];
    };

export function pendingMessages(candidate: CandidateRecord): PendingMessage[] {
  const [commitments] = decodeCommitments(candidate.commitments);
  const paraHead = toHex(blake2_256(commitments.headData));
  return commitments.horizontalMessages.map((m, position) => ({
    candidateHash: candidate.candidateHash,
    position,
    sender: candidate.paraId,
    recipient: m.recipient,
    data: m.data,
    hash: toHex(blake2_256(m.data)),
    paraHead,
  }));
}

const ref = (block: BlockRef): BlockRef => ({ number: block.number, hash: block.hash });

export class PendingLifecycle {
  /** Best-chain blocks followed and not retracted, by hash (number kept for forgetting). */
  readonly #seen = new Map<Hex, number>();
  /** Announced as pending, not settled. */
  readonly #open = new Map<Hex, OpenCandidate>();
  /** Blocks after backing by which the runtime enacts or times out a candidate, as the latest block's configuration says. */
  #timeout = NOT_ENACTED_AFTER;
  /** Settled on the best chain: enacted (reopened if that block is retracted) or dropped (final). */
  readonly #settled = new Map<
    Hex,
    { readonly how: 'enacted' | 'dropped'; readonly at: BlockRef; readonly open: OpenCandidate }
  >();

  /** Recent drops, kept past finality (oldest evicted first). */
  readonly #drops = new Map<Hex, Extract<CandidateFate, { state: 'dropped' }>>();

  /** What became of a candidate: open, enacted on the best chain, or dropped; null when not known (or long final). */
  fate(hash: Hex): CandidateFate | null {
    if (this.#open.has(hash)) return { state: 'open' };
    const settled = this.#settled.get(hash);
    if (settled?.how === 'enacted') return { state: 'enacted', at: settled.at };
    return this.#drops.get(hash) ?? null;
  }

  /** Candidates announced and still open, oldest backing first (for a replay). */
  open(): readonly { readonly backedAt: BlockRef; readonly messages: readonly PendingMessage[] }[] {
    return [...this.#open.values()].sort((a, b) => a.backedAt.number - b.backedAt.number);
  }

  /** Follows one move of the best head; returns the updates to announce, in order. */
  change(retracted: readonly LifecycleBlock[], announced: readonly LifecycleBlock[]): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    const orphaned = new Map<Hex, OpenCandidate>();
    for (const block of retracted) {
      if (!this.#seen.delete(block.hash)) continue;
      events.push({ type: 'left', block });
      this.#retract(block, orphaned, events);
    }
    /** "para:number" of every candidate the new branch backs. */
    const backedOnNewPath = new Set<string>();
    for (const block of announced) {
      if (this.#seen.has(block.hash)) continue;
      this.#seen.set(block.hash, block.number);
      this.#timeout = block.write.availabilityTimeout ?? this.#timeout;
      events.push({ type: 'followed', block });
      this.#enact(block, events);
      for (const candidate of block.write.newCandidates)
        backedOnNewPath.add(`${candidate.paraId}:${block.number}`);
      this.#back(block, orphaned, events);
    }
    const head = announced.at(-1) ?? retracted.at(-1);
    if (!head) return events;
    for (const [hash, open] of orphaned) {
      const replaced = backedOnNewPath.has(`${open.candidate.paraId}:${open.backedAt.number}`);
      const detail = replaced
        ? `the block that backed it (#${open.backedAt.number}) left the best chain, whose block #${open.backedAt.number} backs another candidate of para ${open.candidate.paraId}`
        : `the block that backed it (#${open.backedAt.number}) left the best chain`;
      this.#drop(hash, open, ref(head), replaced ? 'replaced' : 'retracted', detail, events);
    }
    this.#expire(ref(head), events);
    return events;
  }

  /**
   * A finalized block was stored. Usually it was followed on the best chain already; when the best
   * view had not reached it (catching up, or finality as fast as the best head), it is followed now,
   * so nothing it enacts or backs is missed. Then what is final is forgotten.
   */
  finalized(block: LifecycleBlock): LifecycleEvent[] {
    const events = this.#seen.has(block.hash) ? [] : this.change([], [block]);
    // Kept a while: a best-view change computed before this block was stored may still announce it.
    const forgetBelow = block.number - KEEP_FINAL;
    for (const [hash, number] of this.#seen) if (number < forgetBelow) this.#seen.delete(hash);
    // A settlement at or below the finalized block cannot be retracted any more.
    for (const [hash, settled] of this.#settled)
      if (settled.at.number <= block.number) this.#settled.delete(hash);
    return events;
  }

  #retract(block: LifecycleBlock, orphaned: Map<Hex, OpenCandidate>, events: LifecycleEvent[]): void {
    if (block.write.messages.length > 0)
      events.push({ type: 'retracted', block: ref(block), messages: block.write.messages });
    for (const [hash, settled] of this.#settled) {
      // An enactment that left the best chain: the candidate is open again. A drop stays final.
      if (settled.at.hash === block.hash && settled.how === 'enacted') {
        this.#settled.delete(hash);
        this.#open.set(hash, settled.open);
      }
    }
    for (const candidate of block.write.newCandidates) {
      const open = this.#open.get(candidate.candidateHash);
      if (open && open.backedAt.hash === block.hash) {
        this.#open.delete(candidate.candidateHash);
        orphaned.set(candidate.candidateHash, open);
      }
    }
  }

  #enact(block: LifecycleBlock, events: LifecycleEvent[]): void {
    const { write } = block;
    if (write.messages.length > 0)
      events.push({ type: 'messages', block: ref(block), messages: write.messages });
    for (const update of write.candidateUpdates) {
      const open = this.#open.get(update.candidateHash);
      if (!open) continue;
      if (update.status === 'included') {
        this.#open.delete(update.candidateHash);
        this.#settled.set(update.candidateHash, { how: 'enacted', at: ref(block), open });
      } else if (update.status === 'timedOut') {
        const detail = `CandidateTimedOut at #${block.number}: availability was not reached in time`;
        this.#drop(update.candidateHash, open, ref(block), 'timedOut', detail, events);
      } else if (update.status === 'freed') {
        const detail = `freed at #${block.number} without enactment: a dispute concluded against it, or its core was given to another candidate`;
        this.#drop(update.candidateHash, open, ref(block), 'notEnacted', detail, events);
      }
    }
  }

  #back(block: LifecycleBlock, orphaned: Map<Hex, OpenCandidate>, events: LifecycleEvent[]): void {
    const announce: PendingMessage[] = [];
    for (const candidate of block.write.newCandidates) {
      const hash = candidate.candidateHash;
      this.#dropReusedCore(candidate, block, events);
      const again = orphaned.get(hash);
      if (again) {
        // Backed again on the new branch: still open, not announced twice.
        orphaned.delete(hash);
        this.#open.set(hash, { ...again, backedAt: ref(block) });
        continue;
      }
      if (!candidate.verified || this.#open.has(hash) || this.#settled.has(hash)) continue;
      const messages = pendingMessages(candidate);
      if (messages.length === 0) continue;
      this.#open.set(hash, { candidate, backedAt: ref(block), messages });
      announce.push(...messages);
    }
    if (announce.length > 0) events.push({ type: 'pending', block: ref(block), messages: announce });
  }

  /** A new candidate on a core frees it: one still pending there was dropped without an event (e.g. a dispute). */
  #dropReusedCore(candidate: CandidateRecord, block: LifecycleBlock, events: LifecycleEvent[]): void {
    if (candidate.coreIndex === null) return;
    for (const [hash, open] of this.#open) {
      if (open.candidate.coreIndex !== candidate.coreIndex || hash === candidate.candidateHash) continue;
      const detail = `core ${candidate.coreIndex} was given to candidate ${candidate.candidateHash} at #${block.number} without this one being enacted or timed out`;
      this.#drop(hash, open, ref(block), 'notEnacted', detail, events);
    }
  }

  #expire(head: BlockRef, events: LifecycleEvent[]): void {
    for (const [hash, open] of this.#open) {
      if (head.number - open.backedAt.number <= this.#timeout) continue;
      const detail = `not enacted within ${this.#timeout} blocks of its backing at #${open.backedAt.number} (the runtime's availability timeout)`;
      this.#drop(hash, open, head, 'notEnacted', detail, events);
    }
  }

  #drop(
    hash: Hex,
    open: OpenCandidate,
    at: BlockRef,
    reason: DropReason,
    detail: string,
    events: LifecycleEvent[],
  ): void {
    this.#open.delete(hash);
    this.#settled.set(hash, { how: 'dropped', at, open });
    this.#drops.set(hash, { state: 'dropped', at, reason, detail, messages: open.messages });
    if (this.#drops.size > KEEP_DROPS) this.#drops.delete(this.#drops.keys().next().value!);
    events.push({ type: 'dropped', block: at, candidateHash: hash, reason, detail, messages: open.messages });
  }
}
