/**
 * A sidecar's part in a mesh (DESIGN.md §16, docs/mesh.md): it ages its history into chunks as
 * blocks pass `--mesh-full-retention`, serves its chunks to the other members (signed requests
 * only), and reads aged slices back from k members when asked for them.
 */
import type { Logger } from 'pino';
import { erasureReady } from '../derive/erasure.ts';
import type { PushedBlock } from '../derive/mesh-push.ts';
import type { Hex } from '../protocol/bytes.ts';
import { toHex } from '../protocol/bytes.ts';
import type { MeshSizes, MeshStore } from '../store/mesh.ts';
import type { MessageRecord } from '../store/types.ts';
import { ageUpTo } from './aging.ts';
import type { MeshFeed, MeshFeedStatus } from './feed.ts';
import { MeshLinks } from './links.ts';
import {
  type Mesh,
  type MeshKey,
  type MeshMember,
  type MeshMethod,
  meshOf,
  requestSigner,
  type SignedParams,
  type SignedRequest,
} from './members.ts';
import { MeshPusher, type PushSources, pushedBlock } from './push.ts';
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
  /** No relay node: every block from the members' pushes (--mesh-only). */
  readonly meshOnly: boolean;
  /** Blocks and JSON bytes pushed to each member, by key (a member with a node). */
  readonly pushed: Record<string, { readonly blocks: number; readonly bytes: number }>;
  /** Blocks members pushed that this member refused (forged, or not proven). */
  readonly refusedBlocks: number;
  readonly feed: MeshFeedStatus | null;
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
  #refusedPushes = 0;
  #sources: PushSources | null = null;
  #pusher: MeshPusher | null = null;
  #feed: MeshFeed | null = null;
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

  /** With a relay node: pushes each stored block's plain slices to the members, and answers their pulls. */
  attachPusher(sources: PushSources): void {
    this.#sources = sources;
    this.#pusher = new MeshPusher(this.#links, sources, this.#logger);
  }

  /** Without one (--mesh-only): blocks come from the members' pushes and pulls, proven by `feed`. */
  attachFeed(feed: MeshFeed): void {
    this.#feed = feed;
  }

  get links(): MeshLinks {
    return this.#links;
  }

  /** A block was stored (from this member's node): pushed to the members. */
  pushStored(block: { number: number; hash: Hex }): void {
    this.#pusher?.onStored(block);
  }

  #signer<M extends MeshMethod>(request: SignedRequest & SignedParams<M>, method: M): MeshMember {
    const signer = requestSigner(this.mesh, request, method);
    if (typeof signer === 'string') throw new MeshRefusal(signer);
    return signer;
  }

  /** `xcmp_meshPush`: a member's block. A member without a node takes it (proven); one with a node compares it with its own. */
  async pushFrom(request: SignedRequest & PushedBlock): Promise<{ accepted: boolean; reason?: string }> {
    const member = this.#signer(request, 'xcmp_meshPush');
    const pushed: PushedBlock = {
      block: request.block,
      header: request.header,
      finality: request.finality,
      recipients: request.recipients,
    };
    if (this.#feed) return this.#feed.push(pushed, member);
    const stored = await this.#sources?.store.blockHash(request.block.number);
    if (stored && stored !== request.block.hash) {
      this.#refusedPushes++;
      this.#logger.warn(
        { member: member.key, block: request.block.number },
        `mesh member pushed a block that differs from this node's ${stored}`,
      );
      return {
        accepted: false,
        reason: `differs from block #${request.block.number} ${stored} of this member's node`,
      };
    }
    return { accepted: false, reason: 'this member follows its own node' };
  }

  /** `xcmp_meshBlocks`: the plain slices of stored blocks from `fromBlock` (null: the newest one), for a member that missed them. */
  async blocksFor(
    request: SignedRequest & { fromBlock: number | null; limit: number },
  ): Promise<{ blocks: PushedBlock[] }> {
    this.#signer(request, 'xcmp_meshBlocks');
    const sources = this.#sources;
    if (!sources) throw new MeshRefusal('a member without a relay node serves no blocks');
    const cursor = await sources.store.cursor();
    if (!cursor) return { blocks: [] };
    const from = request.fromBlock ?? cursor.number;
    if (from < this.fullFrom)
      throw new MeshRefusal(`blocks before #${this.fullFrom} are kept as chunks here`);
    const blocks: PushedBlock[] = [];
    for (let number = from; number <= Math.min(cursor.number, from + request.limit - 1); number++) {
      const hash = await sources.store.blockHash(number);
      if (!hash) break;
      blocks.push(await pushedBlock(sources, { number, hash }));
    }
    return { blocks };
  }

  /** `xcmp_meshChunks`: this member's chunks of `recipient`'s slices at `blocks`, for a member. */
  chunksFor(request: SignedRequest & { readonly recipient: number; readonly blocks: readonly number[] }) {
    this.#signer(request, 'xcmp_meshChunks');
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
      meshOnly: this.#feed !== null,
      pushed: Object.fromEntries(this.#pusher?.delivered ?? []),
      refusedBlocks: this.#refusedPushes + (this.#feed?.status.refused ?? 0),
      feed: this.#feed?.status ?? null,
      peers: this.#links.status(),
    };
  }

  async close(): Promise<void> {
    await this.#feed?.stop();
    await this.#aging;
    await this.#links.close();
  }
}
