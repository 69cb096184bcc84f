/**
 * A sidecar with no relay node (`--mesh-only`, DESIGN.md §16): its finalized blocks come from the
 * other members' pushes, each taken only once its header is proven final from a GRANDPA
 * checkpoint and its slices are proven under that header (derive/mesh-push.ts), in order, each the
 * child of the one before. Blocks it missed (its own restart, a member's) it asks the members for.
 * The first valid copy of a block wins; another copy of a stored block costs one comparison, and
 * one that differs is a forgery: refused, counted, logged.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { grandpaTrust } from '../client/grandpa.ts';
import type { TrustedHash } from '../client/verified.ts';
import type { GrandpaCheckpoint } from '../derive/grandpa.ts';
import type { ProvenHeads } from '../derive/inbox-proof.ts';
import { acceptPushedBlock, type PushedBlock, pushedParent } from '../derive/mesh-push.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { Store } from '../store/interface.ts';
import type { BlockWrite } from '../store/types.ts';
import type { MeshLinks } from './links.ts';
import type { MeshMember } from './members.ts';

/** Blocks asked of a member at once, and pushes kept while an earlier block is missing. */
export const BLOCKS_PER_PULL = 16;
const WAITING_KEPT = 256;
/** Bytes of JSON of the blocks kept waiting, at most (a member cannot make this sidecar hold more). */
const WAITING_BYTES = 16 * 1024 * 1024;
const PULL_EVERY_MS = 1000;

export interface MeshFeedStatus {
  readonly cursor: number | null;
  /** The highest block a member pushed or answered (proven or not). */
  readonly heard: number | null;
  readonly accepted: number;
  readonly duplicates: number;
  readonly refused: number;
  readonly lastRefusal: string | null;
  readonly linked: boolean;
}

export class MeshFeed extends EventEmitter<{ block: [BlockWrite] }> {
  readonly #store: Store;
  readonly #links: MeshLinks;
  readonly #logger: Logger;
  readonly #trust: TrustedHash;
  readonly #waiting = new Map<number, { pushed: PushedBlock; bytes: number }>();
  #waitingBytes = 0;
  #base: Map<number, ProvenHeads> | null = null;
  /** Each channel's last block with a message (`sender>recipient`): a block without one keeps it. */
  readonly #lastSent = new Map<string, number | null>();
  #cursor: { number: number; hash: Hex } | null = null;
  #turn: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #heard: number | null = null;
  #accepted = 0;
  #duplicates = 0;
  #refused = 0;
  #lastRefusal: string | null = null;

  constructor(store: Store, links: MeshLinks, checkpoint: GrandpaCheckpoint, logger: Logger) {
    super();
    this.#store = store;
    this.#links = links;
    this.#logger = logger;
    this.#trust = grandpaTrust(checkpoint, { call: (method, params) => this.#askAny(method, params) });
  }

  get status(): MeshFeedStatus {
    return {
      cursor: this.#cursor?.number ?? null,
      heard: this.#heard,
      accepted: this.#accepted,
      duplicates: this.#duplicates,
      refused: this.#refused,
      lastRefusal: this.#lastRefusal,
      linked: this.#links.status().some((peer) => peer.connected),
    };
  }

  /** Resumes after the stored cursor (its heads from the stored channels), then asks for what it lacks, every second. */
  async start(): Promise<void> {
    const cursor = await this.#store.cursor();
    if (cursor) {
      this.#cursor = cursor;
      this.#base = await this.#storedHeads(cursor);
    }
    const tick = () => {
      this.#turn = this.#turn.then(() => this.#pull()).catch(() => undefined);
      this.#timer = setTimeout(tick, PULL_EVERY_MS);
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#turn;
  }

  /** A member pushed a block: taken in turn, after those before it. */
  push(pushed: PushedBlock, from: MeshMember): Promise<{ accepted: boolean; reason?: string }> {
    const result = this.#turn.then(() => this.#take(pushed, from));
    // One failed take (a store error, say) must not stop the turns after it.
    this.#turn = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async #storedHeads(cursor: { number: number; hash: Hex }): Promise<Map<number, ProvenHeads>> {
    const heads = new Map<number, Map<number, Hex | null>>();
    for (const channel of await this.#store.channels()) {
      this.#lastSent.set(`${channel.sender}>${channel.recipient}`, channel.lastSentAt);
      const of = heads.get(channel.recipient) ?? new Map<number, Hex | null>();
      of.set(channel.sender, channel.mqcHead);
      heads.set(channel.recipient, of);
    }
    return new Map([...heads].map(([recipient, map]) => [recipient, { ...cursor, heads: map }]));
  }

  async #take(pushed: PushedBlock, from: MeshMember | null): Promise<{ accepted: boolean; reason?: string }> {
    const { number, hash } = pushed.block;
    this.#heard = Math.max(this.#heard ?? 0, number);
    if (this.#cursor && number <= this.#cursor.number) {
      const stored = await this.#store.blockHash(number);
      if (stored === hash) {
        this.#duplicates++;
        return { accepted: false, reason: 'a copy of a stored block' };
      }
      return this.#refuse(
        from,
        number,
        `block #${number} ${hash} differs from the stored ${stored ?? '(pruned)'}`,
      );
    }
    if (this.#cursor && number > this.#cursor.number + 1) return this.#wait(pushed);
    try {
      await this.#accept(pushed);
    } catch (error) {
      return this.#refuse(from, number, (error as Error).message);
    }
    for (let next = this.#waiting.get(number + 1); next; next = this.#waiting.get(this.#cursor!.number + 1)) {
      this.#waiting.delete(next.pushed.block.number);
      this.#waitingBytes -= next.bytes;
      await this.#take(next.pushed, null);
    }
    return { accepted: true };
  }

  /** A block ahead of a gap: kept (within WAITING_KEPT blocks and WAITING_BYTES) until the gap is filled. */
  #wait(pushed: PushedBlock): { accepted: false; reason: string } {
    const next = this.#cursor!.number + 1;
    const bytes = JSON.stringify(pushed).length;
    const room = pushed.block.number < next + WAITING_KEPT && this.#waitingBytes + bytes <= WAITING_BYTES;
    if (room && !this.#waiting.has(pushed.block.number)) {
      this.#waiting.set(pushed.block.number, { pushed, bytes });
      this.#waitingBytes += bytes;
    }
    return { accepted: false, reason: `waiting for #${next}${room ? '' : ' (not kept: too far ahead)'}` };
  }

  async #accept(pushed: PushedBlock): Promise<void> {
    const { number, hash } = pushed.block;
    if (this.#cursor && pushedParent(pushed) !== this.#cursor.hash)
      throw new Error(
        `block #${number} is not the child of the stored #${this.#cursor.number} ${this.#cursor.hash}`,
      );
    const trusted = await this.#trust(number, hash, pushed.finality ?? undefined);
    const accepted = await acceptPushedBlock(pushed, trusted, this.#cursor ? this.#base : null);
    const write: BlockWrite = {
      number,
      hash,
      parentHash: accepted.parentHash,
      newCandidates: [],
      candidateUpdates: [],
      messages: accepted.messages,
      channels: accepted.channels.map((channel) => {
        const key = `${channel.sender}>${channel.recipient}`;
        const lastSentAt = channel.lastSentAt ?? this.#lastSent.get(key) ?? null;
        this.#lastSent.set(key, lastSentAt);
        return { ...channel, lastSentAt };
      }),
      watermarks: [],
      failures: [],
    };
    await this.#store.writeBlock(write);
    this.#base = new Map(accepted.heads);
    this.#cursor = { number, hash };
    this.#accepted++;
    this.emit('block', write);
  }

  #refuse(from: MeshMember | null, number: number, reason: string): { accepted: false; reason: string } {
    this.#refused++;
    this.#lastRefusal = `#${number}: ${reason}`;
    this.#logger.warn({ member: from?.key ?? null, block: number }, `mesh block refused: ${reason}`);
    return { accepted: false, reason };
  }

  /** Asks the members, in turn, for the blocks after the cursor; takes them as pushes. */
  async #pull(): Promise<void> {
    for (const member of this.#links.peers) {
      const asked = { fromBlock: this.#cursor ? this.#cursor.number + 1 : null, limit: BLOCKS_PER_PULL };
      let blocks: PushedBlock[];
      try {
        blocks = ((await this.#links.call(member, 'xcmp_meshBlocks', asked)) as { blocks: PushedBlock[] })
          .blocks;
      } catch {
        continue;
      }
      for (const pushed of blocks) await this.#take(pushed, member);
      if (blocks.length < BLOCKS_PER_PULL) return; // this member had no more
    }
  }

  /** An unsigned call (GRANDPA set changes, checked by the caller) to the first member that answers. */
  async #askAny<T>(method: string, params: unknown[]): Promise<T> {
    let last: Error = new Error('no mesh member answered');
    for (const member of this.#links.peers) {
      try {
        return await this.#links.plainCall<T>(member, method, params);
      } catch (error) {
        last = error as Error;
      }
    }
    throw last;
  }
}
