/**
 * Inbox answers that carry relay proofs (DESIGN.md §9, `proof: true`). Every update for block N
 * carries N's header and the trie nodes proving the recipient's ingress index and each inbound
 * `HrmpChannels` value, read from the node once per (block, recipient) and shared. A subscriber
 * also gets a proof-only update at least every PROOF_INTERVAL blocks, so a sidecar that withholds
 * messages is caught within that many blocks: the proven head moves past the client's chain.
 */
import type { InboxProofJson, MailboxUpdateJson } from '../../../rpc/schemas.ts';
import type { SetChangesAnswer } from '../../chain/finality.ts';
import type { InboxProofAt } from '../../chain/proofs.ts';
import type { BridgedRange } from '../../ingest/pruned.ts';
import type { Hex } from '../../protocol/bytes.ts';
import type { TypeCodec } from '../../protocol/codec.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { BlockWrite, Cursor, MessageRecord } from '../../store/types.ts';
import { RawJson, RpcError, tooBig } from '../transport/jsonrpc.ts';
import { addListener, countListeners } from './listeners.ts';
import { messageJson } from './wire.ts';

/** Blocks after which a proof subscriber that got nothing is sent a proof-only update. */
export const PROOF_INTERVAL = 10;

/** A message's JSON beyond its data hex (ids, hashes, field names): a bound, not a measure. */
const MESSAGE_JSON_OVERHEAD = 700;

/** The node-side source of proofs: by block, or by number (hash from the store, else the node). */
export type InboxProofs = (recipient: number, block: { number: number; hash?: Hex }) => Promise<InboxProofAt>;

/** GRANDPA finality proofs from the node (chain/finality.ts), for clients that hold only a checkpoint. */
export interface FinalitySource {
  /** The SCALE FinalityProof of a finalized block, or null when the node has none. */
  proof(block: { number: number; hash: Hex }): Promise<Hex | null>;
  changesAfter(after: number, limit: number): Promise<SetChangesAnswer>;
}

export interface ProvenView {
  readonly recipient: number;
  readonly decode: boolean;
  readonly includeUnverified: boolean;
  /** Add the header's GRANDPA finality proof to each update's proof. */
  readonly finalityProof?: boolean;
}

interface ProofListener {
  readonly view: ProvenView;
  readonly emit: (update: RawJson) => void;
  readonly end: (error: RpcError) => void;
  /** First block whose live update this listener takes (the one after its start update). */
  from: number;
  /** Block of the last update sent. */
  last: number;
  open: boolean;
}

export function proofJson(proof: InboxProofAt, finality?: Hex | null): InboxProofJson {
  const json: InboxProofJson = { block: proof.block, header: proof.header, nodes: [...proof.nodes] };
  return finality ? { ...json, finality } : json;
}

export class ProvenInboxFeed {
  readonly #store: StoreReader;
  /** The last finalized block announced to the live feed. */
  #announced = 0;
  readonly #proofs: InboxProofs;
  readonly #finality: FinalitySource | null;
  readonly #xcm: () => TypeCodec | null;
  readonly #listeners = new Map<number, Set<ProofListener>>();
  /** Per recipient, updates are sent in block order: each waits for the one before. */
  readonly #turns = new Map<number, Promise<void>>();

  constructor(
    store: StoreReader,
    proofs: InboxProofs,
    xcm: () => TypeCodec | null,
    finality: FinalitySource | null = null,
  ) {
    this.#store = store;
    this.#proofs = proofs;
    this.#xcm = xcm;
    this.#finality = finality;
  }

  /** The finality proof of `block` (null without a GRANDPA node, or when it has none); shared like proofs. */
  finalityProof(block: { number: number; hash: Hex }): Promise<Hex | null> {
    return this.#finality ? this.#finality.proof(block).catch(() => null) : Promise.resolve(null);
  }

  /** The proof for `recipient` at `block` (shared with subscribers of that block). */
  proof(recipient: number, block: { number: number; hash?: Hex }): Promise<InboxProofAt> {
    return this.#proofs(recipient, block);
  }

  get subscriberCount(): number {
    return countListeners(this.#listeners);
  }

  /**
   * Starts with one update at the store's cursor C: the messages from `fromBlock` to C (none
   * without `fromBlock`) and the proof at C. Live updates follow from C + 1.
   */
  async subscribe(
    view: ProvenView,
    fromBlock: number | undefined,
    emit: (update: RawJson) => void,
    end: (error: RpcError) => void,
    maxReplayBytes: number,
  ): Promise<() => void> {
    const listener: ProofListener = { view, emit, end, from: this.#announced + 1, last: -1, open: true };
    // Read again until the start update reaches the last block the live feed announced.
    let start: { cursor: Cursor; messages: MessageRecord[] } | null;
    do start = await this.#start(view, fromBlock, maxReplayBytes);
    while (start && start.cursor.number < this.#announced);
    // No await from here on: the start update is queued and the listener added at once.
    if (start) {
      listener.from = start.cursor.number + 1;
      this.#send(listener, [listener], start.cursor, start.messages);
    }
    const remove = addListener(this.#listeners, view.recipient, listener);
    return () => {
      listener.open = false;
      remove();
    };
  }

  /** The stored cursor and the messages from `fromBlock` up to it (none without `fromBlock`). */
  async #start(
    view: ProvenView,
    fromBlock: number | undefined,
    maxReplayBytes: number,
  ): Promise<{ cursor: Cursor; messages: MessageRecord[] } | null> {
    const cursor = await this.#store.cursor();
    if (!cursor) return null;
    const messages: MessageRecord[] = [];
    if (fromBlock === undefined) return { cursor, messages };
    let bytes = 0;
    const query = { fromBlock, toBlock: cursor.number, includeUnverified: view.includeUnverified };
    for await (const message of this.#store.mailboxRows('inbox', view.recipient, query)) {
      bytes += message.data.length * 2 + MESSAGE_JSON_OVERHEAD;
      if (bytes > maxReplayBytes)
        throw tooBig(
          maxReplayBytes,
          `Replay from block ${fromBlock} is too big: read older blocks with xcmp_getInbox (proof: true, paged by fromBlock/limit), then subscribe from a later fromBlock`,
        );
      messages.push(message);
    }
    return { cursor, messages };
  }

  /** A finalized block was stored: updates for listeners with messages in it, or due a proof. */
  onFinalized(write: BlockWrite): void {
    this.#announced = Math.max(this.#announced, write.number);
    for (const [recipient, set] of this.#listeners) {
      const messages = write.messages.filter((m) => m.recipient === recipient);
      const due = [...set].filter((listener) => {
        if (listener.from > write.number) return false;
        const shown = listener.view.includeUnverified ? messages : messages.filter((m) => m.verified);
        return shown.length > 0 || write.number - listener.last >= PROOF_INTERVAL;
      });
      if (due.length > 0) this.#send(due[0]!, due, write, messages);
    }
  }

  /**
   * The store's cursor jumped over pruned blocks, filled from peers: each subscriber gets their
   * messages in one update at the range's end, proven there (its heads chain from the last update).
   */
  onBridged(bridge: BridgedRange): void {
    this.#announced = Math.max(this.#announced, bridge.to.number);
    for (const [recipient, set] of this.#listeners) {
      const due = [...set].filter((listener) => listener.from <= bridge.to.number);
      const messages = bridge.messages.filter((m) => m.recipient === recipient);
      if (due.length > 0) this.#send(due[0]!, due, bridge.to, messages);
    }
  }

  /** Queues one update for `listeners` (all of one recipient) at `block`, after earlier ones. */
  #send(
    first: ProofListener,
    listeners: readonly ProofListener[],
    block: { number: number; hash: Hex },
    messages: readonly MessageRecord[],
  ): void {
    const recipient = first.view.recipient;
    const proof = this.#proofs(recipient, block);
    proof.catch(() => undefined);
    const finality = listeners.some((listener) => listener.view.finalityProof)
      ? this.finalityProof(block)
      : Promise.resolve(null);
    const previous = this.#turns.get(recipient) ?? Promise.resolve();
    const turn = previous
      .then(async () => {
        let proven: InboxProofAt;
        try {
          proven = await proof;
        } catch (error) {
          const reason = `cannot read the relay proof of block #${block.number} for ${recipient}: ${(error as Error).message}`;
          for (const listener of listeners) if (listener.open) listener.end(new RpcError(-32603, reason));
          return;
        }
        this.#emit(listeners, block, messages, proven, await finality);
      })
      .catch((error: Error) => {
        const reason = `cannot send the proven update of block #${block.number}: ${error.message}`;
        for (const listener of listeners) if (listener.open) listener.end(new RpcError(-32603, reason));
      });
    this.#turns.set(recipient, turn);
    void turn.then(() => {
      if (this.#turns.get(recipient) === turn) this.#turns.delete(recipient);
    });
  }

  #emit(
    listeners: readonly ProofListener[],
    block: { number: number; hash: Hex },
    messages: readonly MessageRecord[],
    proof: InboxProofAt,
    finality: Hex | null,
  ): void {
    const encoded = new Map<string, RawJson>();
    for (const listener of listeners) {
      if (!listener.open) continue;
      const { decode, includeUnverified, finalityProof = false } = listener.view;
      const key = `${decode}:${includeUnverified}:${finalityProof}`;
      let json = encoded.get(key);
      if (!json) {
        const shown = includeUnverified ? messages : messages.filter((m) => m.verified);
        const xcm = decode ? this.#xcm() : undefined;
        const update: MailboxUpdateJson = {
          type: shown.length > 0 ? 'messages' : 'proof',
          finality: 'finalized',
          block: { number: block.number, hash: block.hash },
          messages: shown.map((m) => messageJson(m, xcm)),
          proof: proofJson(proof, finalityProof ? finality : null),
        };
        json = new RawJson(JSON.stringify(update));
        encoded.set(key, json);
      }
      listener.last = block.number;
      listener.emit(json);
    }
  }
}
