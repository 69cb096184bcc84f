/**
 * Stuck journeys (DESIGN.md §14): an XCM enacted to a para whose node is attached, whose delivery
 * the sidecar has not seen after `after` of the receiving para's blocks were included on the relay
 * chain since, is stuck — the receiver is not consuming it, or its node lags. The count is what
 * the relay chain includes, so a node that lags or stops does not stop the clock. A later delivery
 * ends it.
 */
import type { Journey, JourneyBook } from './journey-book.ts';

/** Journeys waited on at most (the oldest are forgotten past it). */
const MAX_WAITING = 100_000;

interface Waiting {
  readonly journey: Journey;
  /** The receiving para's included-block count when it began waiting. */
  readonly since: number;
  stuck: boolean;
}

export class StuckWatch {
  readonly #after: number;
  readonly #book: JourneyBook;
  readonly #included = new Map<number, number>();
  readonly #waiting = new Map<string, Waiting>();

  constructor(after: number, book: JourneyBook) {
    this.#after = after;
    this.#book = book;
  }

  /** A journey that is not delivered (enacted, or its delivery retracted) starts waiting. */
  undelivered(journey: Journey): void {
    if (journey.deliveredIn || this.#waiting.has(journey.key)) return;
    this.#waiting.set(journey.key, {
      journey,
      since: this.#included.get(journey.recipient) ?? 0,
      stuck: false,
    });
    if (this.#waiting.size > MAX_WAITING) this.#waiting.delete(this.#waiting.keys().next().value!);
  }

  /**
   * A followed block of `paraId` had consumed everything sent up to `watermark` before it: journeys
   * to it sent by then and still waiting were delivered where the sidecar did not follow (before it
   * attached the node): no longer waited for.
   */
  consumedBefore(paraId: number, watermark: number): void {
    for (const [key, { journey }] of this.#waiting)
      if (journey.recipient === paraId && journey.sentAt <= watermark) this.#waiting.delete(key);
  }

  delivered(journey: Journey): void {
    this.#waiting.delete(journey.key);
  }

  /** A block of `paraId` was included on the relay chain. */
  included(paraId: number): void {
    this.#included.set(paraId, (this.#included.get(paraId) ?? 0) + 1);
  }

  /**
   * Journeys to `paraId` waiting `after` included blocks are stuck (said once each). Asked only when
   * the sidecar has caught up with what the para's node announced: its own lag is not the receiver's.
   */
  check(paraId: number): void {
    const count = this.#included.get(paraId) ?? 0;
    for (const waiting of this.#waiting.values()) {
      if (waiting.stuck || waiting.journey.recipient !== paraId || count - waiting.since < this.#after)
        continue;
      waiting.stuck = true;
      const reason = `not delivered after ${count - waiting.since} included blocks of para ${paraId}`;
      this.#book.add(waiting.journey, { stage: 'stuck', at: Date.now(), verified: false, reason });
    }
  }

  /** Stuck journeys now, per channel ("sender-recipient"). */
  stuck(): Map<string, number> {
    const channels = new Map<string, number>();
    for (const { journey, stuck } of this.#waiting.values())
      if (stuck) {
        const channel = `${journey.sender}-${journey.recipient}`;
        channels.set(channel, (channels.get(channel) ?? 0) + 1);
      }
    return channels;
  }

  /** Stuck journeys to `paraId` now. */
  stuckTo(paraId: number): number {
    let count = 0;
    for (const { journey, stuck } of this.#waiting.values())
      if (stuck && journey.recipient === paraId) count++;
    return count;
  }
}
