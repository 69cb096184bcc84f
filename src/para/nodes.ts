/**
 * The para nodes attached with `--para`: one follower each, at most one node per para (a second
 * node of a para is refused, not merged: two sources disagreeing on one chain would be
 * contradictions of their own making). A node that cannot be reached is retried; one that is not
 * a parachain's is refused; neither disturbs the others or the relay side.
 */
import { EventEmitter } from 'node:events';
import type { ParaHeadSeen } from '../derive/speculative.ts';
import type { Logger } from '../log.ts';
import type { DeliveryCounts } from './delivery-check.ts';
import { type ParaBlockImported, ParaFollower, type ParaNodeStatus } from './follower.ts';
import { type JourneyCounts, noJourneys } from './journeys.ts';

/** How long a relay block that backs an unannounced para block waits for that block's node. */
const READ_BACKED_TIMEOUT_MS = 500;

export interface ParaNodesEvents {
  block: [ParaBlockImported];
  best: [ParaHeadSeen];
  finalized: [ParaHeadSeen];
}

export interface ParaNodeReport extends ParaNodeStatus {
  readonly contradictions: number;
  readonly deliveryChecks: number;
  readonly deliveryMismatches: number;
  readonly journeys: JourneyCounts;
}

const NO_JOURNEYS: JourneyCounts = noJourneys();

export class ParaNodes extends EventEmitter<ParaNodesEvents> {
  readonly #followers: ParaFollower[];
  readonly #contradictions = new Map<number, number>();
  #delivery: { counts(paraId: number): DeliveryCounts } | null = null;
  #journeys: { counts(paraId: number): JourneyCounts } | null = null;

  constructor(urls: readonly string[], logger: Logger) {
    super();
    this.#followers = urls.map((url) => new ParaFollower({ url, logger }));
    for (const follower of this.#followers) {
      follower.on('identified', (paraId) => this.#admit(follower, paraId));
      follower.on('block', (block) => this.emit('block', block));
      follower.on('best', (head) => this.emit('best', head));
      follower.on('finalized', (head) => this.emit('finalized', head));
    }
  }

  get size(): number {
    return this.#followers.length;
  }

  /** Starts following every node, in the background (status() says how each is doing). */
  start(): void {
    for (const follower of this.#followers) void follower.start();
  }

  /** Paras whose node is followed now. */
  following(): Set<number> {
    const paras = new Set<number>();
    for (const f of this.#followers)
      if (f.status.state === 'following' && f.paraId !== null) paras.add(f.paraId);
    return paras;
  }

  /**
   * Asks each head's node for a block the relay chain backs that its node has not announced yet,
   * waiting at most `timeoutMs` (a node that does not have it, or is slow, is not waited for).
   */
  async readBacked(heads: readonly ParaHeadSeen[], timeoutMs = READ_BACKED_TIMEOUT_MS): Promise<void> {
    const reads = heads.flatMap((head) =>
      this.#followers
        .filter((f) => f.paraId === head.paraId)
        .map((f) => f.readBacked(head).catch(() => undefined)),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(reads), timeout]);
    clearTimeout(timer);
  }

  /** The node followed for `paraId` (null when none is). */
  follower(paraId: number): ParaFollower | null {
    return this.#followers.find((f) => f.paraId === paraId && f.status.state === 'following') ?? null;
  }

  /** Where status() reads each para's delivery checks from. */
  attachDelivery(delivery: { counts(paraId: number): DeliveryCounts }): void {
    this.#delivery = delivery;
  }

  /** Where status() reads each para's journey counts from. */
  attachJourneys(journeys: { counts(paraId: number): JourneyCounts }): void {
    this.#journeys = journeys;
  }

  /** A backed candidate contradicted what the para's node announced. */
  contradicted(paraId: number): void {
    this.#contradictions.set(paraId, (this.#contradictions.get(paraId) ?? 0) + 1);
  }

  status(): ParaNodeReport[] {
    return this.#followers.map((follower) => {
      const status = follower.status;
      const contradictions = status.paraId === null ? 0 : (this.#contradictions.get(status.paraId) ?? 0);
      const delivery = status.paraId === null ? null : (this.#delivery?.counts(status.paraId) ?? null);
      return {
        ...status,
        contradictions,
        deliveryChecks: delivery?.checks ?? 0,
        deliveryMismatches: delivery?.mismatches ?? 0,
        journeys: (status.paraId !== null && this.#journeys?.counts(status.paraId)) || NO_JOURNEYS,
      };
    });
  }

  #admit(follower: ParaFollower, paraId: number): void {
    const other = this.#followers.find(
      (f) => f !== follower && f.paraId === paraId && f.status.state !== 'refused',
    );
    if (other)
      follower.refuse(`para ${paraId} is already followed through ${other.url}: attach one node per para`);
  }

  async close(): Promise<void> {
    await Promise.all(this.#followers.map((follower) => follower.stop()));
  }
}
