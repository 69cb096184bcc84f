/**
 * What the writer and API roles need from PostgreSQL besides the store: the writer's advisory lock
 * (one writer per relay chain, a standby waits for it) and the replicas' LISTEN on `xcmp_blocks`.
 * Each holds one connection of its own: a lock lives as long as its session, and so does a LISTEN.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Hex } from '../protocol/bytes.ts';
import { BLOCKS_CHANNEL } from './pg-schema.ts';
import { pgConfig } from './postgres.ts';

/** The advisory lock key of a relay chain: the first 8 bytes of its genesis hash, as a signed bigint. */
export function writerLockKey(genesisHash: Hex): string {
  return BigInt.asIntN(64, BigInt(genesisHash.slice(0, 18))).toString();
}

export interface WriterLockEvents {
  /** The session holding the lock ended (server restart, network): this process is no longer the writer. */
  lost: [Error];
}

/**
 * The writer's lock. `acquire` waits (a standby) until no other session holds it; PostgreSQL drops
 * a session's locks when it ends, so a writer that dies (even SIGKILL) frees it within the time
 * the server takes to see its connection close, and the standby polling every `pollMs` takes over.
 */
export class WriterLock extends EventEmitter<WriterLockEvents> {
  readonly #client: pg.Client;
  #held = true;

  private constructor(client: pg.Client) {
    super();
    this.#client = client;
    const lost = (error: Error) => {
      if (!this.#held) return;
      this.#held = false;
      this.emit('lost', error);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the lock connection ended')));
  }

  static async acquire(
    url: string,
    genesisHash: Hex,
    options: {
      readonly pollMs?: number;
      readonly onWaiting?: () => void;
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<WriterLock> {
    const key = writerLockKey(genesisHash);
    let waiting = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const client = new pg.Client({ ...pgConfig(url), keepAlive: true });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const row = (await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [key]))
          .rows[0];
        if (row?.got) return new WriterLock(client);
      } catch {
        // The server is down or restarting: keep waiting, as a standby does.
      }
      await client.end().catch(() => undefined);
      if (!waiting) options.onWaiting?.();
      waiting = true;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
    }
  }

  get held(): boolean {
    return this.#held;
  }

  async release(): Promise<void> {
    this.#held = false;
    await this.#client.end().catch(() => undefined);
  }
}

export interface BlockFollowerEvents {
  /** The writer committed blocks up to this one (a notification, or the safety poll). */
  advanced: [number];
  /** Listening started (true) or the connection was lost and is being re-established (false). */
  listening: [boolean, Error | null];
}

/**
 * LISTEN on `xcmp_blocks` with reconnection. A notification says the writer committed blocks up to
 * `number`; a replica reads the blocks it has not followed from the store, so a notification lost
 * while disconnected costs nothing (on reconnecting, and every `pollMs`, the cursor is announced).
 */
export class BlockFollower extends EventEmitter<BlockFollowerEvents> {
  readonly #url: string;
  readonly #readCursor: () => Promise<number | null>;
  readonly #retryMs: number;
  #client: pg.Client | null = null;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    url: string,
    readCursor: () => Promise<number | null>,
    options: { readonly retryMs?: number; readonly pollMs?: number } = {},
  ) {
    super();
    this.#url = url;
    this.#readCursor = readCursor;
    this.#retryMs = options.retryMs ?? 1_000;
    this.#timer = setInterval(() => void this.#announceCursor(), options.pollMs ?? 5_000);
    this.#timer.unref();
  }

  get listening(): boolean {
    return this.#client !== null;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ ...pgConfig(this.#url), keepAlive: true });
    const lost = (error: Error) => {
      if (this.#client !== client) return;
      this.#client = null;
      client.end().catch(() => undefined);
      this.emit('listening', false, error);
      this.#retry();
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      const number = Number.parseInt(message.payload?.split(':')[0] ?? '', 10);
      if (Number.isSafeInteger(number)) this.emit('advanced', number);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${BLOCKS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.emit('listening', false, error as Error);
      this.#retry();
      return;
    }
    this.#client = client;
    this.emit('listening', true, null);
    // What was committed while not listening.
    await this.#announceCursor();
  }

  #retry(): void {
    if (this.#stopped) return;
    setTimeout(() => void this.#connect(), this.#retryMs).unref();
  }

  async #announceCursor(): Promise<void> {
    const number = await this.#readCursor().catch(() => null);
    if (number !== null && !this.#stopped) this.emit('advanced', number);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }
}
