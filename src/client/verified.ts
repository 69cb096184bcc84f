/**
 * The verifying inbox subscription (DESIGN.md §9): messages are delivered only once the relay
 * proof that travels with them checks out against a header from a source the client trusts (its
 * own node, or a light client), never the sidecar. A failed update delivers nothing and raises a
 * VerificationError; the client then asks for the missing range with a proof (`xcmp_getInbox`,
 * `proof: true`) and delivers it once proven, so one bad update does not poison the ones after it.
 */
import type {
  MailboxJson,
  MailboxUpdateJson,
  MessageJson,
  MessageQueryOptionsJson,
} from '../../rpc/schemas.ts';
import {
  checkMessages,
  headerFields,
  type InboxProof,
  type ProvenHeads,
  proveInboxHeads,
  VerificationError,
} from '../derive/inbox-proof.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { groupByBlock } from './blocks.ts';
import type { CheckpointSource } from './grandpa.ts';

export { VerificationError };

/** Where trusted headers come from: a node URL, or a function from block hash to SCALE header hex. */
export type HeaderSource = string | ((blockHash: Hex) => Promise<Hex>);

export type VerifyOptions =
  | {
      readonly headers: HeaderSource;
      /** How long to wait for the trusted source to know a block the sidecar already announced. */
      readonly headerWaitMs?: number;
    }
  | {
      /** Trust only this GRANDPA checkpoint: every header must be proven final from it (docs/finality.md). */
      readonly grandpa: CheckpointSource;
    };

/** The trusted hash of block `number`, given the hash the sidecar claims for it and the finality proof it sent. */
export type TrustedHash = (number: number, claimedHash: Hex, finalityProof: Hex | undefined) => Promise<Hex>;

/** What the verifier needs from the connection to the sidecar. */
export interface InboxTransport {
  call<T>(method: string, params: unknown[]): Promise<T>;
}

/** Messages that were not checked are never given to the caller: one page per range request. */
const RANGE_PAGE = 10_000;

export class InboxVerifier {
  readonly #recipient: number;
  readonly #trusted: TrustedHash;
  readonly #transport: InboxTransport;
  readonly #deliver: (update: MailboxUpdateJson) => void;
  readonly #reject: (error: VerificationError) => void;
  /** What every range request asks for besides its range (with the headers' finality proofs when asked). */
  readonly #proven: MessageQueryOptionsJson;
  #base: ProvenHeads | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    recipient: number,
    trusted: TrustedHash,
    transport: InboxTransport,
    handlers: { deliver: (update: MailboxUpdateJson) => void; reject: (error: VerificationError) => void },
    finalityProof = false,
  ) {
    this.#proven = {
      proof: true,
      includeUnverified: true,
      limit: RANGE_PAGE,
      ...(finalityProof ? { finalityProof: true } : {}),
    };
    this.#recipient = recipient;
    this.#trusted = trusted;
    this.#transport = transport;
    this.#deliver = handlers.deliver;
    this.#reject = handlers.reject;
  }

  /** The last block whose messages are proven and delivered. */
  get provenBlock(): number | null {
    return this.#base?.number ?? null;
  }

  /** Starts from the heads proven at `block` (`fromBlock - 1`), read with xcmp_getInbox. */
  async startAt(block: number): Promise<void> {
    const answer = await this.#transport.call<MailboxJson>('xcmp_getInbox', [
      this.#recipient,
      { ...this.#proven, fromBlock: block, toBlock: block },
    ]);
    if (!answer.proof) throw new VerificationError(block, null, 'the sidecar sent no proof');
    this.#base = await this.#prove(answer.proof.block, answer.proof);
  }

  /** Takes one update from the subscription; updates are checked one at a time, in order. */
  push(update: MailboxUpdateJson): Promise<void> {
    this.#queue = this.#queue.then(() => this.#check(update));
    return this.#queue;
  }

  async #check(update: MailboxUpdateJson): Promise<void> {
    try {
      await this.#checkUpdate(update);
    } catch (error) {
      this.#reject(asVerificationError(error, update.block.number));
      await this.#recover(update.block.number);
    }
  }

  async #checkUpdate(update: MailboxUpdateJson): Promise<void> {
    const { block, proof, messages } = update;
    if (!proof) throw new VerificationError(block.number, null, 'the update carries no proof');
    if (proof.block.number !== block.number || proof.block.hash !== block.hash)
      throw new VerificationError(block.number, null, `the proof is for block #${proof.block.number}`);
    if (!this.#base && messages.length > 0) await this.startAt(block.number - 1); // subscribed before any block was stored
    const base = this.#base;
    if (base && block.number === base.number && messages.length === 0) return; // a resume's start
    const proven = await this.#prove(block, proof);
    if (!base) {
      // No fromBlock: the first update (at the sidecar's cursor, with no messages) is the start.
      this.#base = proven;
      return;
    }
    // A resume may repeat blocks already proven: they are not delivered twice, and the rest must
    // still extend the proven heads exactly.
    const fresh = messages.filter((m) => m.sentAt > base.number);
    checkMessages(this.#recipient, base, proven, fresh);
    this.#base = proven;
    if (fresh.length > 0) this.#deliverBlocks(fresh);
  }

  /** Re-requests everything after the last proven block up to `upTo`, with proof. */
  async #recover(upTo: number): Promise<void> {
    if (!this.#base) {
      // The start itself failed: take the heads proven just before this block as the start.
      try {
        await this.startAt(upTo - 1);
      } catch (error) {
        this.#reject(asVerificationError(error, upTo));
        return;
      }
    }
    for (;;) {
      const base = this.#base;
      if (!base || base.number >= upTo) return;
      try {
        const answer = await this.#transport.call<MailboxJson>('xcmp_getInbox', [
          this.#recipient,
          { ...this.#proven, fromBlock: base.number + 1, toBlock: upTo },
        ]);
        if (!answer.proof) throw new VerificationError(upTo, null, 'the range answer carries no proof');
        const proven = await this.#prove(answer.proof.block, answer.proof);
        checkMessages(this.#recipient, base, proven, answer.messages);
        this.#base = proven;
        if (answer.messages.length > 0) this.#deliverBlocks(answer.messages);
      } catch (error) {
        // Still a gap: say so, deliver nothing past it; the next update tries again.
        this.#reject(asVerificationError(error, upTo));
        return;
      }
    }
  }

  async #prove(
    block: { number: number; hash: string },
    proof: InboxProof & { readonly finality?: string },
  ): Promise<ProvenHeads> {
    const trustedHash = await this.#trusted(
      block.number,
      block.hash as Hex,
      proof.finality as Hex | undefined,
    );
    return proveInboxHeads(this.#recipient, { number: block.number, trustedHash }, proof);
  }

  #deliverBlocks(messages: readonly MessageJson[]): void {
    for (const block of groupByBlock(messages))
      this.#deliver({ type: 'messages', finality: 'finalized', ...block });
  }
}

function asVerificationError(error: unknown, block: number): VerificationError {
  if (error instanceof VerificationError) return error;
  return new VerificationError(block, null, (error as Error).message);
}

/** A header source as a TrustedHash: a URL asks the node for its canonical hash at that height. */
export function trustedHashes(
  source: HeaderSource,
  node: InboxTransport | null,
  waitMs = 10_000,
): TrustedHash {
  if (typeof source === 'function') {
    return async (number, claimedHash) => {
      const header = fromHex(await source(claimedHash), 'trusted header');
      if (headerFields(header).number !== number)
        throw new VerificationError(number, null, 'the trusted header source answered another block');
      return toHex(blake2_256(header));
    };
  }
  if (!node) throw new Error('a header source URL needs a connection');
  return async (number) => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const hash = await node.call<Hex | null>('chain_getBlockHash', [number]);
      if (hash) return hash.toLowerCase() as Hex;
      if (Date.now() > deadline)
        throw new VerificationError(number, null, `the trusted node has no block #${number}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
}
