/**
 * `--role writer`: ingest into PostgreSQL while holding the relay chain's writer lock. Without the
 * lock it is a standby: it waits, and takes over from the stored cursor when the holder dies. A
 * writer that loses its lock (the database went away) stops ingesting at once and waits again;
 * even a write already in flight cannot land twice, since every write extends the stored cursor.
 */
import { EventEmitter } from 'node:events';
import type { NodeClient } from '../chain/node.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { StoreWriter } from '../store/interface.ts';
import { WriterLock } from '../store/pg-roles.ts';
import { Ingest, type IngestEvents, type IngestOptions, type IngestStatus } from './ingest.ts';

export type WriterState = 'starting' | 'standby' | 'active';

export interface WriterRoleOptions extends Omit<IngestOptions, 'store'> {
  /** The PostgreSQL URL the lock is taken on (the store's database). */
  readonly url: string;
  readonly store: StoreWriter;
  /** How often a standby tries the lock. */
  readonly lockPollMs?: number;
}

export class WriterRole extends EventEmitter<IngestEvents> {
  readonly #options: WriterRoleOptions;
  readonly #node: NodeClient;
  readonly #log: Logger;
  #state: WriterState = 'starting';
  #ingest: Ingest | null = null;
  #lock: WriterLock | null = null;
  #lostReason: string | null = null;
  #running = false;
  #loop: Promise<void> | null = null;
  readonly #abort = new AbortController();
  /** Resolves when `stop()` is called: a tenure waiting for its lock to be lost ends then too. */
  readonly #stopped: Promise<void>;
  #stop: () => void = () => undefined;

  constructor(options: WriterRoleOptions) {
    super();
    this.#options = options;
    this.#node = options.node;
    this.#log = options.logger;
    this.#stopped = new Promise((resolve) => {
      this.#stop = resolve;
    });
  }

  get state(): WriterState {
    return this.#state;
  }

  /** Why this writer last lost its lock, while it has not taken it again. */
  get lostReason(): string | null {
    return this.#lostReason;
  }

  get status(): IngestStatus {
    return (
      this.#ingest?.status ?? {
        cursor: null,
        finalized: null,
        best: null,
        connected: this.#node.isConnected,
        lastError: null,
        blocksProcessed: 0,
      }
    );
  }

  announcedAt(number: number): number | undefined {
    return this.#ingest?.announcedAt(number);
  }

  /** Starts waiting for the lock; resolves at once (a standby may wait for hours). */
  async start(): Promise<void> {
    this.#running = true;
    const genesis = (await this.#node.blockHash(0)) as Hex;
    this.#loop = this.#run(genesis).catch((error: Error) => {
      if (this.#running) this.#log.error({ err: error.message }, 'the writer role stopped');
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stop();
    this.#abort.abort();
    await this.#ingest?.stop();
    await this.#lock?.release();
    await this.#loop;
  }

  async #run(genesis: Hex): Promise<void> {
    while (this.#running) {
      this.#state = 'standby';
      const lock = await WriterLock.acquire(this.#options.url, genesis, {
        pollMs: this.#options.lockPollMs,
        signal: this.#abort.signal,
        onWaiting: () =>
          this.#log.info(
            { genesis },
            'standby: another writer holds the lock for this chain; waiting to take over',
          ),
      });
      if (!this.#running) {
        await lock.release();
        return;
      }
      this.#lock = lock;
      const lost = new Promise<Error>((resolve) => lock.once('lost', resolve));
      await this.#tenure(lost);
    }
  }

  /** Ingests from the stored cursor until the lock is lost (or the role stops). */
  async #tenure(lost: Promise<Error>): Promise<void> {
    this.#state = 'active';
    this.#lostReason = null;
    const ingest = new Ingest({ ...this.#options, store: this.#options.store });
    ingest.on('block', (write, metadata) => this.emit('block', write, metadata));
    ingest.on('bestHead', (head) => this.emit('bestHead', head));
    ingest.on('interrupted', (error) => this.emit('interrupted', error));
    ingest.on('synced', (number) => this.emit('synced', number));
    this.#ingest = ingest;
    this.#log.info('took the writer lock: ingesting from the stored cursor');
    await ingest.start();
    const error = await Promise.race([lost, this.#stopped]);
    if (!this.#running || !error) return;
    this.#state = 'standby';
    this.#lostReason = `lost the writer lock: ${error.message}`;
    this.#log.error({ err: error.message }, 'lost the writer lock: ingest stopped; waiting to take it again');
    await ingest.stop();
    this.#lock = null;
  }
}
