/**
 * `xcmp_subscribeCandidates`: the candidate lifecycle of finalized blocks, or of the best chain
 * (with `retracted` when a reorg removes a block), with a replay from `fromBlock` first.
 */
import type { CandidateUpdateJson } from '../../../rpc/schemas.ts';
import type { LifecycleBlock } from '../../derive/pending.ts';
import type { Hex } from '../../protocol/bytes.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { BlockWrite, CandidateRecord } from '../../store/types.ts';
import { RawJson, tooBig } from '../transport/jsonrpc.ts';
import { addListener, countListeners, replayWithin } from './listeners.ts';
import { candidateJson } from './wire.ts';

type Emit = (result: RawJson) => void;
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
  readonly #subscribers = new Map<string, Set<Emit>>();

  constructor(store: StoreReader, best: BestChainSource | null) {
    this.#store = store;
    this.#best = best;
  }

  get subscriberCount(): number {
    return countListeners(this.#subscribers);
  }

  /** Registers a subscriber after its replay; past `maxReplayBytes` it is refused (-32008), nothing registered. */
  subscribe(
    filter: CandidateFilter,
    fromBlock: number | undefined,
    emit: Emit,
    maxReplayBytes: number,
  ): () => void {
    if (fromBlock !== undefined) {
      const encoded = this.#encoded(filter.finality, this.#replay(filter, fromBlock));
      const why = `Candidate replay from block ${fromBlock} is too big: subscribe from a later fromBlock`;
      for (const json of replayWithin(encoded, maxReplayBytes, why)) emit(json);
    }
    return addListener(this.#subscribers, `${filter.finality}:${filter.paraId ?? '*'}`, emit);
  }

  onFinalized(write: BlockWrite): void {
    this.#send('finalized', this.#blockUpdates(write));
  }

  onFollowed(block: LifecycleBlock): void {
    this.#send('best', this.#blockUpdates(block.write, block.updated));
  }

  onLeft(block: LifecycleBlock): void {
    const updates = this.#blockUpdates(block.write, block.updated).map((u) => ({
      ...u,
      type: 'retracted' as const,
    }));
    this.#send('best', updates);
  }

  #blockUpdates(write: BlockWrite, updated?: readonly CandidateRecord[]): Update[] {
    const block = { number: write.number, hash: write.hash };
    const updates: Update[] = write.newCandidates.map((record) => ({ type: 'backed', block, record }));
    const records =
      updated ??
      write.candidateUpdates.flatMap((u) => {
        const record = this.#store.candidate(u.candidateHash);
        return record ? [record] : [];
      });
    for (const record of records) updates.push({ type: statusType(record), block, record });
    return updates;
  }

  /** Stored candidates backed or settled from `fromBlock`, as the updates they had, in block order; then the best chain. */
  #replay(filter: CandidateFilter, fromBlock: number): Update[] {
    const records = this.#store.candidatesActive(fromBlock, filter.paraId, MAX_REPLAY_CANDIDATES + 1);
    if (records.length > MAX_REPLAY_CANDIDATES)
      throw tooBig(
        MAX_REPLAY_CANDIDATES,
        `Candidate replay from block ${fromBlock} holds more than ${MAX_REPLAY_CANDIDATES} candidates: subscribe from a later fromBlock`,
      );
    const updates: Update[] = [];
    const at = (number: number) => {
      const hash = this.#store.blockHash(number);
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
    if (filter.finality === 'best' && this.#best)
      for (const block of this.#best.path()) updates.push(...this.#blockUpdates(block.write, block.updated));
    return updates.filter((u) => filter.paraId === null || u.record.paraId === filter.paraId);
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

  #send(finality: CandidateFinality, updates: readonly Update[]): void {
    if (this.#subscribers.size === 0) return;
    for (const update of updates) {
      const targets = [
        this.#subscribers.get(`${finality}:*`),
        this.#subscribers.get(`${finality}:${update.record.paraId}`),
      ];
      if (!targets.some((t) => t && t.size > 0)) continue;
      const json = this.#json(finality, update);
      for (const set of targets) for (const emit of set ?? []) emit(json);
    }
  }
}
