/**
 * Inbox proofs from the node (DESIGN.md §9): for a recipient at block N, N's SCALE header and a
 * `state_getReadProof` of `Hrmp::HrmpIngressChannelsIndex(recipient)` and `Hrmp::HrmpChannels` of
 * every inbound channel. Read once per (block, recipient) and shared by every subscriber.
 */
import { decodeParaIds, hrmpChannelsKey, hrmpIngressIndexKey } from '../derive/storage.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { encodeHeader } from '../protocol/header.ts';
import type { NodeClient } from './node.ts';

export interface InboxProofAt {
  readonly block: { readonly number: number; readonly hash: Hex };
  readonly header: Hex;
  readonly nodes: readonly Hex[];
}

/** Proofs kept: a few blocks' worth for every recipient someone subscribes to with proofs. */
const PROOFS_KEPT = 1024;

export class InboxProofSource {
  readonly #node: NodeClient;
  readonly #proofs = new Map<string, Promise<InboxProofAt>>();
  readonly #onRead: () => void;

  /** `onRead` is called for each proof read from the node (not for those answered from the cache). */
  constructor(node: NodeClient, onRead: () => void = () => {}) {
    this.#node = node;
    this.#onRead = onRead;
  }

  /** The proof for `recipient` at `block`; concurrent and repeated asks share one read. */
  proof(recipient: number, block: { number: number; hash: Hex }): Promise<InboxProofAt> {
    const key = `${block.hash}:${recipient}`;
    let proof = this.#proofs.get(key);
    if (!proof) {
      proof = this.#read(recipient, block);
      this.#proofs.set(key, proof);
      proof.catch(() => this.#proofs.delete(key));
      if (this.#proofs.size > PROOFS_KEPT) this.#proofs.delete(this.#proofs.keys().next().value!);
    }
    return proof;
  }

  async #read(recipient: number, block: { number: number; hash: Hex }): Promise<InboxProofAt> {
    this.#onRead();
    const indexKey = hrmpIngressIndexKey(recipient);
    const [header, index] = await Promise.all([
      this.#node.header(block.hash),
      this.#node.storage(indexKey, block.hash),
    ]);
    const senders = index ? decodeParaIds(fromHex(index, 'ingress index')) : [];
    const keys = [indexKey, ...senders.map((sender) => hrmpChannelsKey(sender, recipient))];
    const answer = await this.#node.send<{ proof: Hex[] }>('state_getReadProof', [keys, block.hash]);
    return {
      block: { number: block.number, hash: block.hash },
      header: toHex(encodeHeader(header.json)),
      nodes: answer.proof,
    };
  }
}
