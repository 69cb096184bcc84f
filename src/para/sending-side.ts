/**
 * The sending side of a journey (DESIGN.md §14): when the sender's node is attached, the block a
 * message was sent in is the one its candidate's head data names, and that block's
 * `XcmpQueue.XcmpMessageSent` events name each XCM it queued by message hash. A journey begun at
 * enactment gets `sent` (that block and event) and `speculative` (when the node announced it)
 * before `backed`, `enacted` and `finalized`. The event is the node's word until the block's read
 * proof checks it (journeys.ts).
 */
import type { ParaBlockVerdicts } from '../derive/para-verdicts.ts';
import type { ParaBlockSeen } from '../derive/speculative.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { JourneyStage, ParaBlockRef } from './journey-book.ts';

/** Sending blocks remembered. */
const KEEP = 4096;

interface SendingBlock {
  readonly ref: ParaBlockRef;
  readonly sent: ParaBlockVerdicts['sent'];
  /** When its node announced it (ms since the epoch). */
  readonly seenAt: number;
  /** Events already taken by a journey (an XCM sent twice in one block has two). */
  readonly taken: Set<number>;
}

/** The candidate that carried a message: its para block, and where the relay chain backed it. */
export interface CarryingCandidate {
  readonly candidateHash: Hex;
  readonly paraBlock: Hex;
  readonly backedIn: number;
}

/** A journey enacted before its sending block was announced (the sender's node lags). */
export interface AwaitingSent {
  readonly messageHash: Hex;
  /** Called with the stages once the block is announced. */
  readonly told: (stages: readonly JourneyStage[]) => void;
}

export class SendingSide {
  readonly #blocks = new Map<Hex, SendingBlock>();
  readonly #awaiting = new Map<Hex, AwaitingSent[]>();

  /** A para node announced a block: remembered with its XcmpMessageSent events; journeys waiting for it are told. */
  seen(block: ParaBlockSeen): void {
    const sent = block.verdicts?.sent;
    if (!sent || sent.length === 0 || this.#blocks.has(block.hash)) return;
    this.#blocks.set(block.hash, {
      ref: { number: block.number, hash: block.hash },
      sent,
      seenAt: Date.now(),
      taken: new Set(),
    });
    if (this.#blocks.size > KEEP) this.#blocks.delete(this.#blocks.keys().next().value!);
    for (const awaiting of this.#awaiting.get(block.hash) ?? [])
      awaiting.told(this.#sentStages(block.hash, awaiting.messageHash));
    this.#awaiting.delete(block.hash);
  }

  /**
   * The stages before enactment of an XCM with `messageHash` its candidate carried: `sent` and
   * `speculative` when its block was announced with that event, and `backed`. When the block was
   * not announced yet, `late` is told its `sent` and `speculative` once it is.
   */
  stagesBefore(
    messageHash: Hex,
    candidate: CarryingCandidate | undefined,
    now: number,
    late?: AwaitingSent['told'],
  ): JourneyStage[] {
    if (!candidate) return [];
    const backed: JourneyStage = {
      stage: 'backed',
      at: now,
      verified: true,
      relayBlock: candidate.backedIn,
      candidateHash: candidate.candidateHash,
    };
    if (!this.#blocks.has(candidate.paraBlock) && late) {
      const awaiting = this.#awaiting.get(candidate.paraBlock) ?? [];
      awaiting.push({ messageHash, told: late });
      this.#awaiting.set(candidate.paraBlock, awaiting);
      if (this.#awaiting.size > KEEP) this.#awaiting.delete(this.#awaiting.keys().next().value!);
    }
    return [...this.#sentStages(candidate.paraBlock, messageHash), backed];
  }

  /** `sent` and `speculative` of an XCM in an announced block, or none. */
  #sentStages(paraBlock: Hex, messageHash: Hex): JourneyStage[] {
    const block = this.#blocks.get(paraBlock);
    const event = block?.sent.find((e) => e.messageHash === messageHash && !block.taken.has(e.eventIndex));
    if (!block || !event) return [];
    block.taken.add(event.eventIndex);
    const { ref, seenAt } = block;
    const { eventIndex } = event;
    return [
      { stage: 'sent', at: seenAt, verified: false, paraBlock: ref, eventIndex, event: 'XcmpMessageSent' },
      { stage: 'speculative', at: seenAt, verified: false, paraBlock: ref },
    ];
  }
}
