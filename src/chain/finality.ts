/**
 * GRANDPA finality proofs from the node (DESIGN.md §15), for clients that trust only a checkpoint:
 * - per finalized block, the node's `grandpa_proveFinality` answer (SCALE `FinalityProof`), read
 *   once per block and shared by every subscriber and range answer;
 * - the set changes after a block: walked with `grandpa_proveFinality`, whose justification for a
 *   block of an ended set is the one of that set's last block (the block that enacts the change).
 */

import { setChangeOf } from '../derive/grandpa.ts';
import { decodeFinalityProof } from '../derive/grandpa-ledger.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { encodeHeader, type HeaderRef, readHeader } from '../protocol/header.ts';
import type { NodeClient } from './node.ts';

/** Proofs kept (by block hash); set changes kept (by the block they follow). */
const PROOFS_KEPT = 1024;
const CHANGES_KEPT = 4096;
/** A node answers null until it holds a justification at or after the block: asked again this often, this many times. */
const RETRY_MS = 250;
const RETRIES = 8;

export interface SetChangeJson {
  /** The block that enacts the change: the last one its set finalizes. */
  readonly block: { readonly number: number; readonly hash: Hex };
  /** SCALE headers from the one announcing the change to the enacting one. */
  readonly headers: Hex[];
  /** SCALE justification of the enacting block, by the set it ends. */
  readonly justification: Hex;
}

export interface SetChangesAnswer {
  readonly changes: SetChangeJson[];
  /** Whether every change after `after` up to the node's finalized head is in `changes`. */
  readonly complete: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FinalityProofSource {
  readonly #node: NodeClient;
  readonly #proofs = new Map<Hex, Promise<Hex | null>>();
  readonly #changes = new Map<number, SetChangeJson | null>();
  readonly #onRead: () => void;

  /** `onRead` counts each proof asked of the node (cached answers are not counted). */
  constructor(node: NodeClient, onRead: () => void = () => {}) {
    this.#node = node;
    this.#onRead = onRead;
  }

  /** The finality proof of finalized `block`, or null when the node has none for it (yet). */
  proof(block: { number: number; hash: Hex }): Promise<Hex | null> {
    let proof = this.#proofs.get(block.hash);
    if (!proof) {
      proof = this.#read(block);
      this.#proofs.set(block.hash, proof);
      proof.then(
        (value) => value === null && this.#proofs.delete(block.hash),
        () => this.#proofs.delete(block.hash),
      );
      if (this.#proofs.size > PROOFS_KEPT) this.#proofs.delete(this.#proofs.keys().next().value!);
    }
    return proof;
  }

  async #read(block: { number: number; hash: Hex }): Promise<Hex | null> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      this.#onRead();
      const proof = await this.#node.send<Hex | null>('grandpa_proveFinality', [block.number]);
      if (proof) {
        const { block: justified, unknownHeaders } = decodeFinalityProof(fromHex(proof, 'finality proof'));
        const from = unknownHeaders[0]?.parentHash ?? justified;
        if (from !== block.hash)
          throw new Error(
            `the node's finality proof of #${block.number} starts from ${from}, not ${block.hash}`,
          );
        return proof;
      }
      await sleep(RETRY_MS);
    }
    return null;
  }

  /** Up to `limit` set changes after block `after` (the block after which the client's newest set finalizes). */
  async changesAfter(after: number, limit: number): Promise<SetChangesAnswer> {
    const changes: SetChangeJson[] = [];
    let from = after;
    while (changes.length < limit) {
      const change = this.#changes.has(from) ? this.#changes.get(from)! : await this.#nextChange(from);
      if (!change) return { changes, complete: true };
      changes.push(change);
      from = change.block.number;
    }
    return { changes, complete: false };
  }

  /** The change that ends the set finalizing the blocks after `after`, or null if that set is still in force. */
  async #nextChange(after: number): Promise<SetChangeJson | null> {
    const first = after + 1;
    const answer = await this.#node.send<Hex | null>('grandpa_proveFinality', [first]);
    this.#onRead();
    if (!answer) return null;
    const bytes = fromHex(answer, 'finality proof');
    const proof = decodeFinalityProof(bytes);
    const firstHash = await this.#node.blockHash(first);
    if (!firstHash) return null;
    const firstBytes = encodeHeader((await this.#node.header(firstHash)).json);
    const raw = [firstBytes, ...proof.raw.headers];
    const headers: HeaderRef[] = [readHeader(firstBytes, 0)[0], ...proof.unknownHeaders];
    const enacting = headers.at(-1)!;
    const announcing = headers.findIndex((header) => {
      const change = setChangeOf(header.digest);
      return change !== null && !change.forced && header.number + change.delay === enacting.number;
    });
    if (announcing < 0) return null; // the justification is of a block in the current set: no change yet
    const change: SetChangeJson = {
      block: { number: enacting.number, hash: enacting.hash },
      headers: raw.slice(announcing).map((header) => toHex(header)),
      justification: toHex(proof.raw.justification),
    };
    this.#changes.set(after, change);
    if (this.#changes.size > CHANGES_KEPT) this.#changes.delete(this.#changes.keys().next().value!);
    return change;
  }
}
