/**
 * The journeys the sidecar follows (DESIGN.md §14), one per XCM sent to a para whose node is
 * attached: kept in memory (bounded: the oldest are forgotten past `maxJourneys`), looked up by id
 * or message hash, and told to listeners as each stage is added or verified.
 */
import { EventEmitter } from 'node:events';
import type { XcmOfMessage } from '../derive/journey.ts';
import type { XcmOutcome } from '../derive/para-verdicts.ts';
import type { Hex } from '../protocol/bytes.ts';
import { type MessageRecord, messageId } from '../store/types.ts';

export interface ParaBlockRef {
  readonly number: number;
  readonly hash: Hex;
}

export type JourneyStageName =
  | 'sent'
  | 'speculative'
  | 'backed'
  | 'enacted'
  | 'finalized'
  | 'delivered'
  | XcmOutcome
  | 'retracted'
  | 'deliveryMismatch'
  | 'unverifiable'
  | 'stuck';

export interface JourneyStage {
  readonly stage: JourneyStageName;
  /** When the sidecar saw it (ms since the epoch). */
  readonly at: number;
  /** Checked against the relay chain: `enacted` by the MQC proof of its message; receiving stages by a read proof under the included para header. */
  verified: boolean;
  /** `enacted`: the relay block (the message's sentAt); receiving stages: the receiving para block. */
  readonly relayBlock?: number;
  readonly paraBlock?: ParaBlockRef;
  /** `backed`: the candidate that carried the message. */
  readonly candidateHash?: Hex;
  /** `enacted`: the channel's MQC head after the message. */
  readonly mqcHead?: Hex;
  /** `delivered`: the receiving block's HRMP watermark. */
  readonly watermark?: number;
  /** Verdicts: the event record's index, name and what it says. */
  readonly eventIndex?: number;
  readonly event?: string;
  readonly weightUsed?: { readonly refTime: string; readonly proofSize: string } | null;
  readonly error?: unknown;
  /** `retracted`: which stage of paraBlock no longer holds; `deliveryMismatch`/`unverifiable`: why. */
  readonly of?: JourneyStageName;
  readonly reason?: string;
}

export interface Journey {
  /** `<message id>/<xcm index>`: unique per XCM. */
  readonly key: string;
  readonly id: Hex;
  readonly messageHash: Hex;
  readonly topic: Hex | null;
  readonly version: string;
  readonly sender: number;
  readonly recipient: number;
  readonly sentAt: number;
  /** The relay block that enacted it (its sentAt). */
  readonly blockHash: Hex;
  readonly message: string;
  readonly xcmIndex: number;
  readonly stages: JourneyStage[];
  /** The verdict that holds now (its block not retracted), else null. */
  outcome: XcmOutcome | null;
  /** The receiving block that holds its delivery now, else null. */
  deliveredIn: ParaBlockRef | null;
}

export interface JourneyUpdate {
  /** The stage added; `verified` when one was proven; `replay` for a journey replayed from `fromBlock`. */
  readonly stage: JourneyStageName | 'verified' | 'replay';
  readonly journey: Journey;
}

export interface JourneyFilter {
  readonly sender?: number;
  readonly recipient?: number;
  readonly id?: Hex;
}

export function matchesJourney(journey: Journey, filter: JourneyFilter): boolean {
  return (
    (filter.sender === undefined || journey.sender === filter.sender) &&
    (filter.recipient === undefined || journey.recipient === filter.recipient) &&
    (filter.id === undefined || journey.id === filter.id || journey.messageHash === filter.id)
  );
}

const MAX_JOURNEYS = 100_000;
const MAX_PER_ID = 16;

export class JourneyBook extends EventEmitter<{ update: [JourneyUpdate] }> {
  readonly #journeys = new Map<string, Journey>();
  readonly #byId = new Map<Hex, Set<string>>();
  readonly #max: number;

  constructor(maxJourneys = MAX_JOURNEYS) {
    super();
    this.setMaxListeners(0);
    this.#max = maxJourneys;
  }

  get size(): number {
    return this.#journeys.size;
  }

  get(key: string): Journey | undefined {
    return this.#journeys.get(key);
  }

  /** Journeys whose id or message hash is `id` (at most 16: one topic reused more often is not a journey's name). */
  find(id: Hex): Journey[] {
    const keys = this.#byId.get(id.toLowerCase() as Hex) ?? new Set<string>();
    return [...keys].flatMap((key) => this.#journeys.get(key) ?? []);
  }

  /** Journeys held whose message was sent at `fromBlock` or later, by (sentAt, key). */
  sentFrom(fromBlock: number): Journey[] {
    return [...this.#journeys.values()]
      .filter((j) => j.sentAt >= fromBlock)
      .sort((a, b) => a.sentAt - b.sentAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * The journey of an XCM of a verified message, begun (if it is new) at its enactment, after the
   * stages `before` it that the sidecar saw (sent, speculative, backed), and final.
   */
  journeyOf(
    message: MessageRecord,
    xcm: XcmOfMessage,
    at: number,
    before: (xcm: XcmOfMessage) => readonly JourneyStage[] = () => [],
  ): Journey {
    const key = `${messageId(message)}/${xcm.xcmIndex}`;
    const known = this.#journeys.get(key);
    if (known) return known;
    const journey: Journey = {
      key,
      ...xcm,
      sender: message.sender,
      recipient: message.recipient,
      sentAt: message.sentAt,
      blockHash: message.blockHash,
      message: messageId(message),
      stages: [],
      outcome: null,
      deliveredIn: null,
    };
    this.#journeys.set(key, journey);
    for (const id of new Set([xcm.id, xcm.messageHash])) {
      const keys = this.#byId.get(id) ?? new Set<string>();
      if (keys.size < MAX_PER_ID) keys.add(key);
      this.#byId.set(id, keys);
    }
    journey.stages.push(...before(xcm));
    this.add(journey, {
      stage: 'enacted',
      at,
      verified: message.verified,
      relayBlock: message.sentAt,
      mqcHead: message.mqcHeadAfter,
    });
    // The store holds finalized relay blocks only: an enactment seen there is final.
    this.add(journey, { stage: 'finalized', at, verified: message.verified, relayBlock: message.sentAt });
    this.#evict();
    return journey;
  }

  add(journey: Journey, stage: JourneyStage): void {
    journey.stages.push(stage);
    this.emit('update', { stage: stage.stage, journey });
  }

  /** A stage was proven: said once, as `verified`. */
  verified(journey: Journey, stage: JourneyStage): void {
    if (stage.verified) return;
    stage.verified = true;
    this.emit('update', { stage: 'verified', journey });
  }

  #evict(): void {
    while (this.#journeys.size > this.#max) {
      const [key, journey] = this.#journeys.entries().next().value!;
      this.#journeys.delete(key);
      for (const id of [journey.id, journey.messageHash]) {
        const keys = this.#byId.get(id);
        keys?.delete(key);
        if (keys?.size === 0) this.#byId.delete(id);
      }
    }
  }
}
