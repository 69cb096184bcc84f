/**
 * Attestors-to-attestors (DESIGN.md §16): as each block is finalized and stored, a member with a
 * relay node pushes its plain slices to the other members — every recipient's messages with the
 * header, the proof of the recipient's inbound channels and the header's finality proof — one
 * block after the other per member. A member that misses some asks for them (`xcmp_meshBlocks`).
 */
import type { Logger } from 'pino';
import type { InboxProofAt } from '../chain/proofs.ts';
import type { PushedBlock } from '../derive/mesh-push.ts';
import { type Hex, toHex } from '../protocol/bytes.ts';
import type { StoreReader } from '../store/interface.ts';
import type { MeshLinks } from './links.ts';
import type { MeshMember } from './members.ts';

export interface PushSources {
  readonly store: StoreReader;
  /** The recipient's inbox proof at the block (header and trie nodes), from the node, shared. */
  proof(recipient: number, block: { number: number; hash: Hex }): Promise<InboxProofAt>;
  /** The block's finality proof, or null without one. */
  finality(block: { number: number; hash: Hex }): Promise<Hex | null>;
  /** The block's SCALE header (for a block with no recipient to prove). */
  header(block: { number: number; hash: Hex }): Promise<Hex>;
}

/** Blocks waiting for one member at most; older ones are dropped (the member asks for them). */
const QUEUE_PER_MEMBER = 64;

/** Block `block` as pushed: every recipient of an open channel, its verified messages and its proof. */
export async function pushedBlock(
  sources: PushSources,
  block: { number: number; hash: Hex },
): Promise<PushedBlock> {
  const recipients = [...new Set((await sources.store.channels()).map((c) => c.recipient))].sort(
    (a, b) => a - b,
  );
  const query = { fromBlock: block.number, toBlock: block.number, limit: 100_000 };
  const [finality, slices] = await Promise.all([
    sources.finality(block),
    Promise.all(
      recipients.map(async (recipient) => {
        const [proof, messages] = await Promise.all([
          sources.proof(recipient, block),
          sources.store.inbox(recipient, query),
        ]);
        return {
          proof,
          slice: {
            recipient,
            nodes: [...proof.nodes],
            messages: messages.map((m) => ({
              sender: m.sender,
              candidateHash: m.candidateHash,
              ...(m.position === undefined ? {} : { position: m.position }),
              data: toHex(m.data),
            })),
          },
        };
      }),
    ),
  ]);
  const header = slices[0]?.proof.header ?? (await sources.header(block));
  return { block, header, finality, recipients: slices.map((s) => s.slice) };
}

export class MeshPusher {
  readonly #links: MeshLinks;
  readonly #sources: PushSources;
  readonly #logger: Logger;
  readonly #queues = new Map<Hex, { blocks: { number: number; hash: Hex }[]; running: boolean }>();
  /** Each block built once for all members (the newest QUEUE_PER_MEMBER). */
  readonly #built = new Map<Hex, Promise<PushedBlock>>();
  /** Blocks and bytes of JSON each member took delivery of, since start. */
  readonly delivered = new Map<Hex, { blocks: number; bytes: number }>();

  constructor(links: MeshLinks, sources: PushSources, logger: Logger) {
    this.#links = links;
    this.#sources = sources;
    this.#logger = logger;
    for (const peer of links.peers) this.#queues.set(peer.key, { blocks: [], running: false });
  }

  /** A finalized block was stored: queue it for every member. */
  onStored(block: { number: number; hash: Hex }): void {
    for (const peer of this.#links.peers) {
      const queue = this.#queues.get(peer.key)!;
      queue.blocks.push(block);
      if (queue.blocks.length > QUEUE_PER_MEMBER) queue.blocks.shift();
      if (!queue.running) void this.#drain(peer, queue);
    }
  }

  #build(block: { number: number; hash: Hex }): Promise<PushedBlock> {
    let built = this.#built.get(block.hash);
    if (!built) {
      built = pushedBlock(this.#sources, block);
      this.#built.set(block.hash, built);
      built.catch(() => this.#built.delete(block.hash));
      if (this.#built.size > QUEUE_PER_MEMBER) this.#built.delete(this.#built.keys().next().value!);
    }
    return built;
  }

  async #drain(peer: MeshMember, queue: { blocks: { number: number; hash: Hex }[]; running: boolean }) {
    queue.running = true;
    try {
      for (let block = queue.blocks.shift(); block; block = queue.blocks.shift()) {
        try {
          await this.#links.reach(peer); // no proofs read from the node for a member that is down
          const pushed = await this.#build(block);
          await this.#links.call(peer, 'xcmp_meshPush', pushed);
          const so = this.delivered.get(peer.key) ?? { blocks: 0, bytes: 0 };
          this.delivered.set(peer.key, {
            blocks: so.blocks + 1,
            bytes: so.bytes + JSON.stringify(pushed).length,
          });
        } catch (error) {
          // The member asks for what it missed; nothing is retried here.
          this.#logger.debug(
            { member: peer.key, block: block.number, err: (error as Error).message },
            'mesh push not delivered',
          );
        }
      }
    } finally {
      queue.running = false;
    }
  }
}
