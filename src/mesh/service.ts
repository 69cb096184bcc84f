/**
 * A sidecar's part in a mesh (DESIGN.md §16, docs/mesh.md): it ages its history into chunks as
 * blocks pass `--mesh-full-retention`, serves its chunks to the other members (signed requests
 * only), and reads aged slices back from k members when asked for them.
 */
import type { Logger } from 'pino';
import { erasureReady } from '../derive/erasure.ts';
import type { Hex } from '../protocol/bytes.ts';
import { toHex } from '../protocol/bytes.ts';
import type { MeshSizes, MeshStore } from '../store/mesh.ts';
import type { MessageRecord } from '../store/types.ts';
import { ageUpTo } from './aging.ts';
import { MeshLinks } from './links.ts';
import { type Mesh, type MeshKey, meshOf, requestSigner, type SignedRequest } from './members.ts';
import { MAX_SLICES_PER_READ, MeshReader } from './reader.ts';

export interface MeshOptions {
  readonly key: MeshKey;
  readonly peers: readonly { readonly key: string; readonly url: string }[];
  /** Blocks kept in full before a block is aged into chunks. */
  readonly fullRetention: number;
}

export interface MeshObserver {
  badChunk(member: Hex): void;
  aged(blocks: number): void;
}

export class MeshRefusal extends Error {
  override readonly name = 'MeshRefusal';
}

export interface MeshStatus {
  readonly key: Hex;
  readonly index: number;
  readonly n: number;
  readonly k: number;
  readonly fullRetention: number;
  /** Blocks up to this one are kept as chunks (0: none yet). */
  readonly agedUpTo: number;
  readonly sizes: MeshSizes;
  readonly badChunks: number;
  readonly peers: ReturnType<MeshLinks['status']>;
}

export class MeshService {
  readonly mesh: Mesh;
  readonly fullRetention: number;
  readonly #store: MeshStore;
  readonly #links: MeshLinks;
  readonly #reader: MeshReader;
  readonly #logger: Logger;
  readonly #observer: MeshObserver;
  #badChunks = 0;
  #aging: Promise<void> = Promise.resolve();

  constructor(options: MeshOptions, store: MeshStore, observer: MeshObserver, logger: Logger) {
    this.mesh = meshOf(options.key, options.peers);
    this.fullRetention = options.fullRetention;
    this.#store = store;
    this.#logger = logger.child({ mesh: this.mesh.self.key });
    this.#observer = observer;
    this.#links = new MeshLinks(this.mesh, options.key);
    this.#reader = new MeshReader(
      this.mesh,
      store,
      this.#links,
      {
        badChunk: (member) => {
          this.#badChunks++;
          observer.badChunk(member.key);
        },
      },
      this.#logger,
    );
  }

  /** The first block still held in full (older ones are read back from the mesh). */
  get fullFrom(): number {
    return this.#store.agedUpTo() + 1;
  }

  /** A finalized block was stored: age what passed the full retention (in turn, never two at once). */
  onStored(cursor: number): Promise<void> {
    this.#aging = this.#aging.then(async () => {
      await erasureReady();
      try {
        const aged = ageUpTo(this.mesh, this.#store, cursor - this.fullRetention);
        if (aged > 0) this.#observer.aged(aged);
      } catch (error) {
        this.#logger.error(
          { err: (error as Error).message, cursor },
          'mesh aging failed; the blocks stay in full',
        );
      }
    });
    return this.#aging;
  }

  /** Aged messages to `recipient` in [fromBlock, toBlock], read back from the mesh (at most 256 blocks of slices). */
  agedInbox(
    recipient: number,
    fromBlock: number,
    toBlock: number,
  ): Promise<{ messages: MessageRecord[]; through: number }> {
    return this.#reader.inbox(recipient, fromBlock, toBlock);
  }

  /** `xcmp_meshChunks`: this member's chunks of `recipient`'s slices at `blocks`, for a member. */
  chunksFor(request: SignedRequest & { readonly recipient: number; readonly blocks: readonly number[] }) {
    const payload = `${request.recipient}:${request.blocks.join(',')}`;
    const signer = requestSigner(this.mesh, request, 'xcmp_meshChunks', payload);
    if (typeof signer === 'string') throw new MeshRefusal(signer);
    const wanted = new Set(request.blocks);
    const from = Math.min(...request.blocks);
    const to = Math.max(...request.blocks);
    const rows = this.#store
      .slices(request.recipient, from, to, MAX_SLICES_PER_READ)
      .filter((row) => wanted.has(row.block));
    return {
      chunks: rows.map((row) => ({
        block: row.block,
        index: row.index,
        chunk: toHex(row.chunk),
        branch: [...row.branch],
        root: row.root,
      })),
    };
  }

  status(): MeshStatus {
    return {
      key: this.mesh.self.key,
      index: this.mesh.self.index,
      n: this.mesh.n,
      k: this.mesh.k,
      fullRetention: this.fullRetention,
      agedUpTo: this.#store.agedUpTo(),
      sizes: this.#store.sizes(),
      badChunks: this.#badChunks,
      peers: this.#links.status(),
    };
  }

  async close(): Promise<void> {
    await this.#aging;
    await this.#links.close();
  }
}
