/**
 * An API replica's view of the chain (`--role api`): it writes nothing. It follows the blocks the
 * writer commits (announced by LISTEN/NOTIFY, read back from the store), and, for the best-chain and
 * pending views, keeps its own node connection and a candidate ledger as of the followed block.
 * It offers what ingest offers the rest of the sidecar: `block` and `bestHead` events, a status,
 * and the base the best-chain view builds on.
 */
import { EventEmitter } from 'node:events';
import type { NodeClient } from '../chain/node.ts';
import type { BlockObservation } from '../derive/observe.ts';
import type { Logger } from '../log.ts';
import { toHex } from '../protocol/bytes.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import type { StoreReader } from '../store/interface.ts';
import type { BlockWrite, Cursor } from '../store/types.ts';
import type { EnactContext } from './enact.ts';
import { followHeads, type Head } from './heads.ts';
import type { IngestStatus } from './ingest.ts';
import { CandidateLedger } from './ledger.ts';
import type { BridgedRange } from './pruned.ts';

export interface ReplicaEvents {
  /** A block the writer committed, read back from the store (with the metadata to decode it). */
  block: [BlockWrite, RuntimeMetadata];
  bestHead: [Head];
  /** Never emitted: a replica does not bridge (its writer does, and commits the range). */
  bridged: [BridgedRange];
}

/** Announces the highest block the writer committed (LISTEN/NOTIFY, and a poll). */
export interface CommitSource {
  on(event: 'advanced', listener: (number: number) => void): unknown;
}

/** Blocks read back per round; a replica far behind catches up in rounds of this many. */
const FOLLOW_BATCH = 256;

export class Replica extends EventEmitter<ReplicaEvents> {
  readonly #node: NodeClient;
  readonly #store: StoreReader;
  readonly #log: Logger;
  readonly #ledger = new CandidateLedger();
  #stored: Cursor | null = null;
  #ledgerFresh = false;
  #target = 0;
  #following: Promise<void> | null = null;
  #running = false;
  #finalized: number | null = null;
  #best: number | null = null;
  #lastError: string | null = null;
  #blocksFollowed = 0;
  #unsubscribe: (() => Promise<void>) | null = null;

  constructor(options: { node: NodeClient; store: StoreReader; commits: CommitSource; logger: Logger }) {
    super();
    this.#node = options.node;
    this.#store = options.store;
    this.#log = options.logger;
    options.commits.on('advanced', (number) => {
      this.#target = Math.max(this.#target, number);
      this.#wake();
    });
  }

  get status(): IngestStatus {
    return {
      cursor: this.#stored?.number ?? null,
      finalized: this.#finalized,
      best: this.#best,
      connected: this.#node.isConnected,
      lastError: this.#lastError,
      blocksProcessed: this.#blocksFollowed,
    };
  }

  get storedCursor(): Cursor | null {
    return this.#stored;
  }

  /** Starts from the store's cursor (earlier blocks are history, served from the store). */
  async start(): Promise<void> {
    this.#running = true;
    const cursor = await this.#store.cursor();
    if (cursor) {
      this.#ledgerFresh = await this.#loadLedgerAt(cursor.number);
      this.#stored = cursor;
    }
    this.#unsubscribe = await followHeads(this.#node, this.#log, 1_000, {
      running: () => this.#running,
      finalized: (head) => {
        this.#finalized = Math.max(this.#finalized ?? 0, head.number);
      },
      best: (head) => {
        this.#best = head.number;
        this.emit('bestHead', head);
      },
    });
    this.#wake();
  }

  /** Starts following unless a round is running (it reads the target again before it ends). */
  #wake(): void {
    if (this.#following || !this.#running) return;
    this.#following = this.#follow().finally(() => {
      this.#following = null;
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#unsubscribe?.().catch(() => undefined);
    await this.#following;
  }

  /** Null while the ledger is not that of the followed block (the writer is further; the next round loads it). */
  enactContext(): EnactContext | null {
    return this.#ledgerFresh ? this.#ledger.context() : null;
  }

  recall(observation: BlockObservation): Promise<void> {
    const included = (observation.events?.included ?? []).map((event) => toHex(event.candidateHash));
    return this.#ledger.recall(included, this.#store);
  }

  /** Follows committed blocks up to the target, in rounds; a failed read is retried on the next announcement. */
  async #follow(): Promise<void> {
    try {
      while (this.#running && (this.#stored?.number ?? 0) < this.#target) await this.#followRound();
      this.#lastError = null;
    } catch (error) {
      this.#lastError = `following the writer: ${(error as Error).message}`;
      this.#log.warn(
        { err: (error as Error).message, at: this.#stored?.number },
        'cannot read the blocks the writer committed; retrying',
      );
    }
  }

  async #followRound(): Promise<void> {
    const from = (this.#stored?.number ?? this.#target - 1) + 1;
    const to = Math.min(this.#target, from + FOLLOW_BATCH - 1);
    const writes: BlockWrite[] = [];
    for (let number = from; number <= to; number++) {
      const write = await this.#store.storedBlock(number);
      if (!write) break;
      writes.push(write);
    }
    if (writes.length === 0) return this.#skipMissing(from);
    const last = writes.at(-1)!;
    this.#ledgerFresh = await this.#loadLedgerAt(last.number);
    const metadata = await this.#node.metadata(last.hash);
    this.#stored = { number: last.number, hash: last.hash };
    for (const write of writes) {
      this.#blocksFollowed += 1;
      this.emit('block', write, metadata);
    }
  }

  /** Block `from` is not in the store: pruned while this replica was behind (go on from the cursor), or not committed. */
  async #skipMissing(from: number): Promise<void> {
    const cursor = await this.#store.cursor();
    if (cursor && cursor.number >= from) {
      this.#log.warn({ from, to: cursor.number }, 'blocks pruned before this replica followed them: skipped');
      this.#ledgerFresh = await this.#loadLedgerAt(cursor.number);
      this.#stored = cursor;
    }
    this.#target = Math.min(this.#target, this.#stored?.number ?? 0);
  }

  /**
   * Loads the ledger (pending candidates, channels) if the store's cursor is `at` before and after
   * reading it, so it is the ledger of `at` exactly; else (the writer is further) false, and the
   * blocks up to its cursor are followed next.
   */
  async #loadLedgerAt(at: number): Promise<boolean> {
    const before = await this.#store.cursor();
    if (before?.number === at) {
      const [pending, channels] = await Promise.all([
        this.#store.pendingCandidates(),
        this.#store.channels(),
      ]);
      const after = await this.#store.cursor();
      if (after?.number === at) {
        this.#ledger.load(pending, channels);
        return true;
      }
    }
    const cursor = await this.#store.cursor();
    this.#target = Math.max(this.#target, cursor?.number ?? 0);
    return false;
  }

  /** When the node announced finalized block `number`: not known to a replica (the writer saw it). */
  announcedAt(_number: number): number | undefined {
    return undefined;
  }
}
