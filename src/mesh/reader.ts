/**
 * Reading aged history back (DESIGN.md §16): for each slice, this member's own chunk and the
 * chunks the other members send, each checked against this member's own erasure root by its
 * branch (a member whose chunk fails is skipped, counted and logged); k of them are decoded, and
 * the slice is served only when its messages fold each sender's kept MQC head before to the one
 * after. A slice that cannot be given back is an error naming it, never a silent gap.
 */
import type { Logger } from 'pino';
import { erasureReady, reconstruct, verifyChunk } from '../derive/erasure.ts';
import { checkedSlice, decodeSlice } from '../derive/mesh-slice.ts';
import { fromHex } from '../protocol/bytes.ts';
import type { MeshSliceRow, MeshStore } from '../store/mesh.ts';
import type { MessageRecord } from '../store/types.ts';
import type { ChunkAnswer, MeshLinks } from './links.ts';
import type { Mesh, MeshMember } from './members.ts';

/** Slices read back per call at most; `xcmp_meshChunks` serves as many per request. */
export const MAX_SLICES_PER_READ = 256;

export interface MeshReadObserver {
  /** A member sent a chunk that does not prove against this member's root (or none it should have). */
  badChunk(member: MeshMember, reason: string): void;
}

type Gathered = Map<number, { index: number; bytes: Uint8Array }[]>;

/** The messages of a slice read back, as the store held them, once they match its kept heads. */
function messagesOf(row: MeshSliceRow, sliceBytes: Uint8Array): MessageRecord[] {
  const at = { block: row.block, hash: row.blockHash, recipient: row.recipient };
  const checked = checkedSlice(at, decodeSlice(sliceBytes), row.heads);
  if (checked instanceof Error)
    throw new Error(
      `the slice of block #${row.block} for ${row.recipient} read back does not match its heads: ${checked.message}`,
    );
  return checked;
}

/** The chunk's bytes when it is `peer`'s chunk of `row` under this member's own root; else null. */
function provenChunk(
  chunk: ChunkAnswer['chunks'][number],
  peer: MeshMember,
  row: MeshSliceRow,
): Uint8Array | null {
  try {
    const bytes = fromHex(chunk.chunk, 'chunk');
    const branch = chunk.branch.map((hash) => fromHex(hash, 'branch'));
    return chunk.index === peer.index &&
      verifyChunk(fromHex(row.root), row.members, chunk.index, bytes, branch)
      ? bytes
      : null;
  } catch {
    return null; // not hex, no branch: not a chunk
  }
}

export class MeshReader {
  readonly #mesh: Mesh;
  readonly #store: MeshStore;
  readonly #links: MeshLinks;
  readonly #observer: MeshReadObserver;
  readonly #logger: Logger;

  constructor(mesh: Mesh, store: MeshStore, links: MeshLinks, observer: MeshReadObserver, logger: Logger) {
    this.#mesh = mesh;
    this.#store = store;
    this.#links = links;
    this.#observer = observer;
    this.#logger = logger;
  }

  /**
   * The aged messages to `recipient` sent in [fromBlock, toBlock], from at most MAX_SLICES_PER_READ
   * slices: `through` is the last block they cover (toBlock, or the last slice's when cut there).
   */
  async inbox(
    recipient: number,
    fromBlock: number,
    toBlock: number,
  ): Promise<{ messages: MessageRecord[]; through: number }> {
    await erasureReady();
    const rows = this.#store.slices(recipient, fromBlock, toBlock, MAX_SLICES_PER_READ);
    const through = rows.length === MAX_SLICES_PER_READ ? rows.at(-1)!.block : toBlock;
    if (rows.length === 0) return { messages: [], through };
    const gathered: Gathered = new Map(
      rows.map((row) => [row.block, [{ index: row.index, bytes: row.chunk }]]),
    );
    const byBlock = new Map(rows.map((row) => [row.block, row]));
    await Promise.all(this.#links.peers.map((peer) => this.#ask(peer, recipient, byBlock, gathered)));
    const messages = rows.flatMap((row) => {
      const chunks = gathered.get(row.block)!;
      if (chunks.length < this.#mesh.k)
        throw new Error(
          `the slice of block #${row.block} for ${recipient} is unavailable: ${chunks.length} of the ${this.#mesh.k} chunks needed answered`,
        );
      return messagesOf(row, reconstruct(chunks, row.members, row.length, this.#mesh.k));
    });
    return { messages, through };
  }

  /** Asks one member for its chunks of these slices; keeps those that prove out. */
  async #ask(
    peer: MeshMember,
    recipient: number,
    rows: ReadonlyMap<number, MeshSliceRow>,
    gathered: Gathered,
  ): Promise<void> {
    let answer: ChunkAnswer;
    try {
      answer = await this.#links.chunks(peer, recipient, [...rows.keys()]);
    } catch (error) {
      this.#logger.debug(
        { member: peer.key, url: peer.url, err: (error as Error).message },
        'mesh member did not answer',
      );
      return;
    }
    for (const chunk of answer.chunks ?? []) {
      const row = rows.get(chunk.block);
      if (!row) continue; // a slice this member did not ask for
      const bytes = provenChunk(chunk, peer, row);
      const valid = bytes !== null;
      if (!valid) {
        const reason = `its chunk of block #${row.block} for ${recipient} does not prove against the erasure root`;
        this.#observer.badChunk(peer, reason);
        this.#logger.warn(
          { member: peer.key, url: peer.url, block: row.block, recipient },
          `mesh member skipped: ${reason}`,
        );
        continue;
      }
      gathered.get(row.block)!.push({ index: chunk.index, bytes: bytes! });
    }
  }
}
