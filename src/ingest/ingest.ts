/**
 * Ingest: follow the relay chain's finalized blocks, verify every message, keep it (DESIGN.md §3,
 * §4). Catch-up runs from the stored cursor to the finalized head with a prefetch window, writing
 * consecutive blocks in one store transaction (up to WRITE_BATCH_BLOCKS or WRITE_BATCH_MS); at the
 * head every block is written as it comes. A lost node is retried until it answers again, resuming
 * at the cursor, so nothing is missed or written twice.
 */
import { EventEmitter } from 'node:events';
import { BlockPrefetcher, type FetchedBlock, fetchBlock, readStorage } from '../chain/blocks.ts';
import { HistoryUnavailableError, type NodeClient } from '../chain/node.ts';
import { type BlockObservation, observeBlock } from '../derive/observe.ts';
import { ACTIVE_CONFIG_KEY, hrmpChannelsKey } from '../derive/storage.ts';
import type { Logger } from '../log.ts';
import { type Hex, toHex } from '../protocol/bytes.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import type { StoreWriter } from '../store/interface.ts';
import type { BlockWrite, Cursor } from '../store/types.ts';
import { chainStateFrom, neededKeys } from './chain-state.ts';
import { type EnactContext, enactBlock, storageNeeds } from './enact.ts';
import { followHeads } from './heads.ts';
import { CandidateLedger } from './ledger.ts';
import type { BridgedRange, PrunedHistory } from './pruned.ts';
import { seedBefore } from './seed.ts';

export interface IngestOptions {
  readonly node: NodeClient;
  readonly store: StoreWriter;
  readonly logger: Logger;
  /** Blocks fetched ahead during catch-up. */
  readonly prefetch?: number;
  /** Messages older than this many blocks (and passed by the watermark) are pruned. */
  readonly retentionBlocks?: number;
  /** First block when the store is empty; default: the finalized head at start. */
  readonly startAt?: number;
  /** Stop after this block (backfill). */
  readonly stopAt?: number;
  /** Delay before retrying after the node failed. */
  readonly retryMs?: number;
  /** When the node no longer holds what comes next: where to go on (peers fill the rest). */
  readonly pruned?: PrunedHistory;
}

export interface IngestStatus {
  readonly cursor: number | null;
  readonly finalized: number | null;
  readonly best: number | null;
  readonly connected: boolean;
  readonly lastError: string | null;
  readonly blocksProcessed: number;
}

export interface IngestEvents {
  /** A finalized block was written (with the metadata it was decoded with). */
  block: [BlockWrite, RuntimeMetadata];
  /** The node announced a new best block. */
  bestHead: [{ number: number; hash: Hex; parentHash: Hex }];
  /** The node failed; ingest retries from the cursor. */
  interrupted: [Error];
  /** Blocks the node had pruned were bridged (the store's cursor jumped over them, peers filled them). */
  bridged: [BridgedRange];
  /** The cursor reached the finalized head. */
  synced: [number];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** At most this many blocks go into one store transaction during catch-up… */
const WRITE_BATCH_BLOCKS = 1024;
/** …and a block waits at most this long for its write, so the store and subscribers keep up while catching up. */
const WRITE_BATCH_MS = 250;

/** Blocks enacted (the ledger has them) and not yet written, with what their `block` event carries. */
interface Unwritten {
  readonly writes: BlockWrite[];
  readonly metadata: RuntimeMetadata[];
  since: number;
}

/** A block fetched and decoded ahead of its turn, with the channel state its enactments will need. */
interface PreparedBlock {
  readonly block: FetchedBlock;
  readonly observation: BlockObservation;
  /** Values read at this block, by storage key (superset of what enactment needs, usually). */
  readonly storage: Map<Hex, Uint8Array | null>;
}

export class Ingest extends EventEmitter<IngestEvents> {
  readonly #node: NodeClient;
  readonly #store: StoreWriter;
  readonly #log: Logger;
  readonly #options: IngestOptions;
  readonly #prefetcher: BlockPrefetcher<PreparedBlock>;
  #running = false;
  /** The finalized head was announced since the last look (no need to ask the node). */
  #headFresh = false;
  /** Hashes of recently announced finalized heads, so fetching them needs no hash lookup. */
  readonly #knownHashes = new Map<number, Hex>();
  /** When those heads were announced (performance.now()), for the announcement-to-stored delay. */
  readonly #announcedAt = new Map<number, number>();
  /** First block to process when the store was empty at start (after seeding). */
  #seededFirst: number | null = null;
  /** A later first block, when the node pruned the one asked for before ingest reached it. */
  #restartAt: number | null = null;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #finalized: number | null = null;
  #best: number | null = null;
  #lastError: string | null = null;
  #blocksProcessed = 0;
  #unsubscribe: (() => Promise<void>) | null = null;
  readonly #ledger = new CandidateLedger();
  readonly #unwritten: Unwritten = { writes: [], metadata: [], since: 0 };
  /** The store's cursor as last read or written: ingest is the store's only writer. */
  #stored: Cursor | null = null;

  constructor(options: IngestOptions) {
    super();
    this.#node = options.node;
    this.#store = options.store;
    this.#log = options.logger;
    this.#options = options;
    this.#prefetcher = new BlockPrefetcher((n) => this.#prepare(n), options.prefetch ?? 16);
  }

  get status(): IngestStatus {
    return {
      cursor: this.#stored?.number ?? null,
      finalized: this.#finalized,
      best: this.#best,
      connected: this.#node.isConnected,
      lastError: this.#lastError,
      blocksProcessed: this.#blocksProcessed,
    };
  }

  /** Starts following; resolves once subscribed (not when caught up). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#reload();
    await this.#subscribeHeads();
    this.#loop = this.#run();
  }

  /** Resolves when the loop ends: after `stop()`, or once `stopAt` is stored. */
  async finished(): Promise<void> {
    await this.#loop;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#unsubscribe?.().catch(() => undefined);
    await this.#loop;
  }

  async #subscribeHeads(): Promise<void> {
    this.#unsubscribe = await followHeads(this.#node, this.#log, this.#options.retryMs ?? 1000, {
      running: () => this.#running,
      finalized: (head) => {
        this.#finalized = Math.max(this.#finalized ?? 0, head.number);
        this.#headFresh = true;
        this.#knownHashes.set(head.number, head.hash);
        if (this.#knownHashes.size > 64) this.#knownHashes.delete(this.#knownHashes.keys().next().value!);
        this.#announcedAt.set(head.number, performance.now());
        if (this.#announcedAt.size > 64) this.#announcedAt.delete(this.#announcedAt.keys().next().value!);
        this.#wake?.();
      },
      best: (head) => {
        this.#best = head.number;
        this.emit('bestHead', head);
      },
    });
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        const target = await this.#target();
        let cursor = this.#stored?.number ?? null;
        if (cursor === null) {
          if (this.#seededFirst === null) {
            const first = Math.max(1, this.#restartAt ?? this.#options.startAt ?? target);
            await this.#seed(first);
            this.#seededFirst = first;
          }
          cursor = this.#seededFirst - 1;
        }
        if (this.#options.stopAt !== undefined && cursor >= this.#options.stopAt) this.#running = false;
        let processed = false;
        while (this.#running && cursor < target) {
          const block = await this.#prefetcher.take(cursor + 1, target);
          await this.#process(block);
          cursor += 1;
          processed = true;
          if (this.#options.stopAt !== undefined && cursor >= this.#options.stopAt) {
            this.#running = false;
          }
          if (cursor >= target || this.#batchFull()) await this.#write();
        }
        await this.#write();
        this.#lastError = null;
        if (processed && cursor >= target) this.emit('synced', cursor);
        if (this.#running) await this.#idle();
      } catch (error) {
        this.#prefetcher.reset();
        await this.#writeAfterFailure();
        if (!this.#running) break;
        if (error instanceof HistoryUnavailableError && (await this.#movePastPruned(error))) continue;
        const cursor = this.#stored?.number;
        if (error instanceof HistoryUnavailableError) {
          // Retrying is kept (the node may be an archive node catching up), but it rarely helps.
          this.#lastError = `${error.message}: the node has pruned what ingest needs next; use an archive node (see docs/troubleshooting.md)`;
          this.#log.error(
            { err: error.message, cursor },
            'the node no longer holds the blocks or state ingest needs',
          );
        } else {
          this.#lastError = (error as Error).message;
          this.#log.warn({ err: (error as Error).message, cursor }, 'ingest interrupted; retrying');
        }
        this.emit('interrupted', error as Error);
        await sleep(this.#options.retryMs ?? 1000);
      }
    }
  }

  /**
   * The node dropped what ingest needs next: with another source for it, start later (empty store)
   * or bridge the pruned blocks (peers fill them). False when there is no way on.
   */
  async #movePastPruned(error: HistoryUnavailableError): Promise<boolean> {
    const pruned = this.#options.pruned;
    if (!pruned) return false;
    try {
      if (this.#stored === null) {
        const asked = this.#seededFirst ?? this.#restartAt ?? this.#options.startAt ?? 1;
        const first = await pruned.restartAt(asked + 1, this.#options.stopAt);
        if (first === null) return false;
        this.#log.warn(
          { asked, first, err: error.message },
          'the node pruned the first block: starting later',
        );
        this.#seededFirst = null;
        this.#restartAt = first;
        return true;
      }
      const bridged = await pruned.bridge();
      if (!bridged) return false;
      await this.#reload();
      this.emit('bridged', bridged);
      return true;
    } catch (bridgeError) {
      this.#log.error(
        { cursor: this.#stored?.number ?? null, err: (bridgeError as Error).message },
        'could not move past the blocks the node pruned',
      );
      return false;
    }
  }

  /** The finalized head: as just announced by the subscription, else asked of the node. */
  async #target(): Promise<number> {
    if (!this.#headFresh || this.#finalized === null) {
      this.#finalized = Math.max(this.#finalized ?? 0, await this.#node.finalizedNumber());
    }
    this.#headFresh = false;
    return this.#options.stopAt === undefined
      ? this.#finalized
      : Math.min(this.#finalized, this.#options.stopAt);
  }

  #idle(): Promise<void> {
    // A head announced while the loop was busy: go round again at once.
    if (this.#headFresh) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, 6000);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  /** Seeds an empty store from the state before `first` (DESIGN.md §3.2). */
  async #seed(first: number): Promise<void> {
    const { channels, pending, watermarks } = await seedBefore(this.#node, first);
    await this.#store.seed(channels, pending, { at: first - 1, values: watermarks });
    this.#ledger.load(pending, channels);
    this.#log.info(
      { first, channels: channels.length, pendingCandidates: pending.length },
      'seeded from the state before the first block',
    );
  }

  /** When the node announced finalized block `number` (performance.now()), if it was announced lately. */
  announcedAt(number: number): number | undefined {
    return this.#announcedAt.get(number);
  }

  /**
   * The ledger and channel state as of the stored cursor (the best-chain view builds on it); null
   * while catch-up holds enacted blocks that are not written yet.
   */
  enactContext(): EnactContext | null {
    return this.#unwritten.writes.length === 0 ? this.#context() : null;
  }

  #context(): EnactContext {
    return this.#ledger.context();
  }

  /** The first block ingest took from the node on an empty store (later than asked when the node pruned it). */
  get firstBlock(): number | null {
    return this.#seededFirst;
  }

  /** The stored cursor (what the best-chain view builds on). */
  get storedCursor(): Cursor | null {
    return this.#stored;
  }

  /** Takes the ledger and cursor back to what the store holds (at start, or after a failed write). */
  async #reload(): Promise<void> {
    const [pending, channels, cursor] = await Promise.all([
      this.#store.pendingCandidates(),
      this.#store.channels(),
      this.#store.cursor(),
    ]);
    this.#ledger.load(pending, channels);
    this.#stored = cursor;
  }

  /** Reads from the store any settled candidate the block's events name, before enacting it. */
  recall(observation: BlockObservation): Promise<void> {
    const included = (observation.events?.included ?? []).map((event) => toHex(event.candidateHash));
    return this.#ledger.recall(included, this.#store);
  }

  /**
   * Runs ahead of the store (up to `prefetch` blocks): fetch, decode, and read the channel state of
   * every sender enacted in the block, so the sequential part needs no round trip in the common case.
   */
  async #prepare(number: number): Promise<PreparedBlock> {
    const block = await fetchBlock(this.#node, number, this.#knownHashes.get(number));
    const observation = observeBlock(block.metadata, block.input);
    if (observation.hash !== block.hash) {
      throw new Error(`block #${number}: header hashes to ${observation.hash}, the node said ${block.hash}`);
    }
    const keys = [
      ACTIVE_CONFIG_KEY,
      ...(observation.events?.included ?? []).flatMap((event) =>
        this.#ledger.egress(event.paraId).map((recipient) => hrmpChannelsKey(event.paraId, recipient)),
      ),
    ];
    return { block, observation, storage: await readStorage(this.#node, keys, block.hash) };
  }

  async #process(prepared: PreparedBlock): Promise<void> {
    const started = performance.now();
    const { block, observation } = prepared;
    const cursor = this.#unwritten.writes.at(-1) ?? this.#stored;
    if (cursor && observation.parentHash !== cursor.hash) {
      throw new Error(
        `block #${block.number} (${block.hash}) does not build on the stored #${cursor.number} ${cursor.hash}: a different chain?`,
      );
    }
    await this.recall(observation);
    const context = this.#context();
    const needs = storageNeeds(observation, context);
    const missing = neededKeys(needs).filter((key) => !prepared.storage.has(key));
    const values =
      missing.length === 0
        ? prepared.storage
        : new Map([...prepared.storage, ...(await readStorage(this.#node, missing, block.hash))]);
    const chain = chainStateFrom(block.metadata, needs, values);
    const write = enactBlock(observation, context, chain, needs);
    this.#ledger.apply(write);
    if (this.#unwritten.writes.length === 0) this.#unwritten.since = performance.now();
    this.#unwritten.writes.push(write);
    this.#unwritten.metadata.push(block.metadata);
    this.#log.debug(
      { block: write.number, messages: write.messages.length, ms: Math.round(performance.now() - started) },
      'block enacted',
    );
  }

  #batchFull(): boolean {
    const { writes, since } = this.#unwritten;
    return writes.length >= WRITE_BATCH_BLOCKS || performance.now() - since >= WRITE_BATCH_MS;
  }

  /** Writes the enacted blocks in one transaction, then tells listeners block by block. */
  async #write(): Promise<void> {
    const writes = this.#unwritten.writes.splice(0);
    const metadata = this.#unwritten.metadata.splice(0);
    if (writes.length === 0) return;
    try {
      await this.#store.writeBlocks(writes);
    } catch (error) {
      // The ledger is ahead of the store now: take it back to what the store holds.
      await this.#reload();
      throw error;
    }
    const last = writes.at(-1)!;
    this.#stored = { number: last.number, hash: last.hash };
    this.#ledger.written();
    writes.forEach((write, i) => {
      this.#afterWrite(write);
      this.emit('block', write, metadata[i]!);
    });
  }

  /** After a node failure the blocks already enacted are still good: keep them, unless the store fails too. */
  async #writeAfterFailure(): Promise<void> {
    try {
      await this.#write();
    } catch (error) {
      this.#log.error(
        { err: (error as Error).message },
        'writing the blocks enacted before a failure failed',
      );
    }
  }

  #afterWrite(write: BlockWrite): void {
    for (const failure of write.failures) {
      this.#log.error(
        { block: write.number, kind: failure.kind, para: failure.paraId, candidate: failure.candidateHash },
        failure.reason,
      );
    }
    for (const dropped of write.notBacked ?? [])
      this.#log.info(
        { block: write.number, para: dropped.paraId, candidate: dropped.candidateHash },
        'candidate in the inherent was not backed: the runtime dropped it (no CandidateBacked); its messages are never enacted',
      );
    this.#blocksProcessed += 1;
    const retention = this.#options.retentionBlocks;
    if (retention !== undefined && write.number % 100 === 0)
      this.#store
        .prune(retention)
        .catch((error: Error) =>
          this.#log.error({ block: write.number, err: error.message }, 'pruning failed'),
        );
  }
}
