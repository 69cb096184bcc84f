/**
 * `xcmp_subscribeCandidates`: the candidate lifecycle of finalized blocks, or of the best chain
 * (with `retracted` when a reorg removes a block), with a replay from `fromBlock` first.
 */
import type { CandidateUpdateJson } from '../../../rpc/schemas.ts';
import type { LifecycleBlock } from '../../derive/pending.ts';
import type { Hex } from '../../protocol/bytes.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { BlockWrite, CandidateRecord } from '../../store/types.ts';
import { RawJson, RpcError, tooBig } from '../transport/jsonrpc.ts';
import { addListener, countListeners, ReplayBudget } from './listeners.ts';
import { candidateJson } from './wire.ts';

type Emit = (result: RawJson) => void;

interface Subscriber {
  readonly emit: Emit;
  /** Ends the subscription with an error (it cannot continue). */
  readonly end: (error: RpcError) => void;
  /** The last finalized block its replay held: live finalized updates up to it are not sent again. */
  readonly replayedTo: number;
}
type CandidateFinality = CandidateUpdateJson['finality'];

export interface CandidateFilter {
  readonly paraId: number | null;
  readonly finality: CandidateFinality;
}

/** The best chain above the stored block, as the best-chain view announced it. */
export interface BestChainSource {
  path(): readonly LifecycleBlock[];
}

/** Candidates one replay may hold; past it the subscriber is told to replay from a later block. */
const MAX_REPLAY_CANDIDATES = 10_000;

interface Update {
  readonly type: CandidateUpdateJson['type'];
  readonly block: { number: number; hash: Hex };
  readonly record: CandidateRecord;
}

const statusType = (record: CandidateRecord): CandidateUpdateJson['type'] =>
  record.status === 'backed' ? 'availability' : record.status;

export class CandidateFeed {
  readonly #store: StoreReader;
  readonly #best: BestChainSource | null;
  readonly #subscribers = new Map<string, Set<Subscriber>>();
  /** The last finalized block whose updates were sent. */
  #sent = 0;
  /** Updates, sent one block after another (a block's may first read its candidates from the store). */
  #turn: Promise<void> = Promise.resolve();

  constructor(store: StoreReader, best: BestChainSource | null) {
    this.#store = store;
    this.#best = best;
  }

  get subscriberCount(): number {
    return countListeners(this.#subscribers);
  }

  /** Registers a subscriber after its replay; past `maxReplayBytes` it is refused (-32008), nothing registered. */
  async subscribe(
    filter: CandidateFilter,
    fromBlock: number | undefined,
    emit: Emit,
    maxReplayBytes: number,
    end: (error: RpcError) => void = () => undefined,
  ): Promise<() => void> {
    let replayedTo = this.#sent;
    if (fromBlock !== undefined) {
      const why = `Candidate replay from block ${fromBlock} is too big: subscribe from a later fromBlock`;
      const budget = new ReplayBudget(maxReplayBytes, why);
      // Read again until the replay reaches what the live feed sent (blocks written meanwhile).
      let stored: { upTo: number; updates: Update[] };
      do stored = await this.#replayStored(filter, fromBlock);
      while (stored.upTo < this.#sent);
      replayedTo = stored.upTo;
      // No await from here on: the best chain is read and the subscriber added at once.
      const updates = [...stored.updates, ...this.#replayBest(filter, stored.upTo)];
      for (const json of budget.take(this.#encoded(filter.finality, updates))) emit(json);
    }
    const subscriber: Subscriber = { emit, end, replayedTo };
    return addListener(this.#subscribers, `${filter.finality}:${filter.paraId ?? '*'}`, subscriber);
  }

  /** Sends a finalized block's updates once its candidates are read, after the blocks before it. */
  onFinalized(write: BlockWrite): void {
    this.#inTurn(write.number, async () => {
      const updates = this.#subscribers.size === 0 ? [] : await this.#storedUpdates(write);
      this.#sent = Math.max(this.#sent, write.number);
      this.#send('finalized', updates, write.number);
    });
  }

  onFollowed(block: LifecycleBlock): void {
    this.#inTurn(block.write.number, async () => this.#send('best', await this.#lifecycleUpdates(block)));
  }

  onLeft(block: LifecycleBlock): void {
    this.#inTurn(block.write.number, async () => {
      const updates = (await this.#lifecycleUpdates(block)).map((u) => ({
        ...u,
        type: 'retracted' as const,
      }));
      this.#send('best', updates);
    });
  }

  /**
   * Runs `send` after every update before it was sent, so updates keep the order of their events.
   * When the store cannot be read, every subscriber is ended with the block to resume from: a
   * subscription that would go on with a hole in it is not left open.
   */
  #inTurn(block: number, send: () => Promise<void>): void {
    this.#turn = this.#turn.then(send).catch((error: Error) => {
      const reason = `Cannot read the candidates of block #${block} from the store (${error.message}): subscribe again with fromBlock ${block}`;
      const subscribers = [...this.#subscribers.values()].flatMap((set) => [...set]);
      this.#subscribers.clear();
      for (const subscriber of subscribers) subscriber.end(new RpcError(-32603, reason));
    });
  }

  /** A best-chain block's updates: its settled candidates as the view computed them, else as stored. */
  async #lifecycleUpdates(block: LifecycleBlock): Promise<Update[]> {
    if (block.updated) return this.#blockUpdates(block.write, block.updated);
    if (this.#subscribers.size === 0) return [];
    return this.#storedUpdates(block.write);
  }

  #blockUpdates(write: BlockWrite, updated: readonly CandidateRecord[]): Update[] {
    const block = { number: write.number, hash: write.hash };
    const updates: Update[] = write.newCandidates.map((record) => ({ type: 'backed', block, record }));
    for (const record of updated) updates.push({ type: statusType(record), block, record });
    return updates;
  }

  /** A stored block's updates: the candidates it settled or counted votes for, as the store holds them. */
  async #storedUpdates(write: BlockWrite): Promise<Update[]> {
    const records = await Promise.all(
      write.candidateUpdates.map((u) => this.#store.candidate(u.candidateHash)),
    );
    return this.#blockUpdates(
      write,
      records.filter((record): record is CandidateRecord => record !== null),
    );
  }

  /** Stored candidates backed or settled from `fromBlock` to the cursor, as the updates they had, in block order. */
  async #replayStored(
    filter: CandidateFilter,
    fromBlock: number,
  ): Promise<{ upTo: number; updates: Update[] }> {
    const cursor = await this.#store.cursor();
    if (!cursor) return { upTo: fromBlock - 1, updates: [] };
    const records = await this.#store.candidatesActive(fromBlock, filter.paraId, MAX_REPLAY_CANDIDATES + 1);
    if (records.length > MAX_REPLAY_CANDIDATES)
      throw tooBig(
        MAX_REPLAY_CANDIDATES,
        `Candidate replay from block ${fromBlock} holds more than ${MAX_REPLAY_CANDIDATES} candidates: subscribe from a later fromBlock`,
      );
    const updates: Update[] = [];
    const hashes = await this.#blockHashes(records, fromBlock, cursor.number);
    const at = (number: number) => {
      const hash = hashes.get(number);
      return hash ? { number, hash } : null;
    };
    for (const record of records) {
      const backedAt = record.backedIn >= fromBlock ? at(record.backedIn) : null;
      if (backedAt)
        updates.push({
          type: 'backed',
          block: backedAt,
          record: { ...record, status: 'backed', enactedIn: null, availabilityVotes: 0 },
        });
      const settledAt =
        record.settledIn != null && record.settledIn >= fromBlock ? at(record.settledIn) : null;
      if (settledAt) updates.push({ type: statusType(record), block: settledAt, record });
    }
    updates.sort((a, b) => a.block.number - b.block.number);
    return {
      upTo: cursor.number,
      updates: updates.filter((u) => filter.paraId === null || u.record.paraId === filter.paraId),
    };
  }

  /** The hashes of the stored blocks (from `fromBlock` to the cursor) that back or settle `records`. */
  async #blockHashes(
    records: readonly CandidateRecord[],
    fromBlock: number,
    upTo: number,
  ): Promise<Map<number, Hex>> {
    const numbers = new Set<number>();
    for (const record of records)
      for (const number of [record.backedIn, record.settledIn])
        if (number != null && number >= fromBlock && number <= upTo) numbers.add(number);
    const hashes = new Map<number, Hex>();
    for (const number of numbers) {
      const hash = await this.#store.blockHash(number);
      if (hash) hashes.set(number, hash);
    }
    return hashes;
  }

  /** For best subscribers: the best chain above the stored replay. */
  #replayBest(filter: CandidateFilter, upTo: number): Update[] {
    if (filter.finality !== 'best' || !this.#best) return [];
    return this.#best
      .path()
      .filter((block) => block.number > upTo)
      .flatMap((block) => this.#blockUpdates(block.write, block.updated ?? []))
      .filter((u) => filter.paraId === null || u.record.paraId === filter.paraId);
  }

  /** One at a time, so a replay over its budget stops being encoded there. */
  *#encoded(finality: CandidateFinality, updates: readonly Update[]): Generator<RawJson> {
    for (const update of updates) yield this.#json(finality, update);
  }

  #json(finality: CandidateFinality, update: Update): RawJson {
    const { messages: _, ...candidate } = candidateJson(update.record);
    const json: CandidateUpdateJson = { type: update.type, finality, block: update.block, candidate };
    return new RawJson(JSON.stringify(json));
  }

  /** `finalizedBlock`: skip subscribers whose replay already held it. */
  #send(finality: CandidateFinality, updates: readonly Update[], finalizedBlock?: number): void {
    if (this.#subscribers.size === 0) return;
    for (const update of updates) {
      const targets = [
        this.#subscribers.get(`${finality}:*`),
        this.#subscribers.get(`${finality}:${update.record.paraId}`),
      ];
      if (!targets.some((t) => t && t.size > 0)) continue;
      const json = this.#json(finality, update);
      for (const set of targets)
        for (const subscriber of set ?? [])
          if (finalizedBlock === undefined || subscriber.replayedTo < finalizedBlock) subscriber.emit(json);
    }
  }
}
