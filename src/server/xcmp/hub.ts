/**
 * Subscription fan-out. Each update is serialized once per distinct view (para, options) and the
 * same JSON text goes to every subscriber of that view; replay from `fromBlock` and the switch to
 * live updates happen in one synchronous step, so nothing can be written in between (no gap, no
 * duplicate).
 */
import type { CandidateUpdateJson, MailboxUpdateJson } from '../../../rpc/schemas.ts';
import type { TypeCodec } from '../../protocol/codec.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { BlockWrite, CandidateRecord, MessageRecord } from '../../store/types.ts';
import { RawJson, tooBig } from '../transport/jsonrpc.ts';
import { addListener } from './listeners.ts';
import { type InboxProofs, ProvenInboxFeed } from './proven.ts';
import { candidateJson, messageJson } from './wire.ts';

export type MailboxKind = 'inbox' | 'outbox';
export type Finality = 'finalized' | 'best';

export interface MailboxView {
  readonly kind: MailboxKind;
  readonly paraId: number;
  readonly finality: Finality;
  readonly decode: boolean;
  readonly includeUnverified: boolean;
}

/** A block of the best chain as the best-chain view announces (or retracts) it. */
export interface BestBlockUpdate {
  readonly number: number;
  readonly hash: `0x${string}`;
  readonly messages: readonly MessageRecord[];
}

type Emit = (result: RawJson) => void;

interface Listener {
  readonly view: MailboxView;
  readonly emit: Emit;
}

export interface HubObserver {
  notified(count: number, sinceMs: number): void;
}

const viewKey = (v: MailboxView) =>
  `${v.kind}:${v.paraId}:${v.finality}:${v.decode ? 1 : 0}:${v.includeUnverified ? 1 : 0}`;

export class SubscriptionHub {
  readonly #store: StoreReader;
  readonly #xcm: () => TypeCodec | null;
  readonly #mailboxes = new Map<string, Set<Listener>>();
  readonly #candidates = new Map<number | null, Set<Emit>>();
  readonly #observer: HubObserver | undefined;
  /** Inbox subscribers with `proof: true`; null when there is no node to read proofs from. */
  readonly proven: ProvenInboxFeed | null;

  constructor(store: StoreReader, xcm: () => TypeCodec | null, observer?: HubObserver, proofs?: InboxProofs) {
    this.#store = store;
    this.#xcm = xcm;
    this.#observer = observer;
    this.proven = proofs ? new ProvenInboxFeed(store, proofs, xcm) : null;
  }

  get subscriberCount(): { mailbox: number; candidates: number } {
    let mailbox = this.proven?.subscriberCount ?? 0;
    for (const set of this.#mailboxes.values()) mailbox += set.size;
    let candidates = 0;
    for (const set of this.#candidates.values()) candidates += set.size;
    return { mailbox, candidates };
  }

  #encode(
    view: MailboxView,
    type: MailboxUpdateJson['type'],
    block: { number: number; hash: `0x${string}` },
    messages: readonly MessageRecord[],
  ): RawJson {
    const xcm = view.decode ? this.#xcm() : undefined;
    const update: MailboxUpdateJson = {
      type,
      finality: view.finality,
      block,
      messages: messages.map((m) => messageJson(m, xcm)),
    };
    return new RawJson(JSON.stringify(update));
  }

  /**
   * Registers a mailbox subscriber; replays stored messages from `fromBlock` first. The replay is
   * held for the subscriber until its subscribe response is sent, so it counts as a response: past
   * `maxReplayBytes` the subscription is refused (-32008) and nothing is registered.
   */
  subscribeMailbox(
    view: MailboxView,
    fromBlock: number | undefined,
    emit: Emit,
    maxReplayBytes = Number.MAX_SAFE_INTEGER,
  ): () => void {
    if (fromBlock !== undefined) this.#replay(view, fromBlock, emit, maxReplayBytes);
    return addListener(this.#mailboxes, viewKey(view), { view, emit });
  }

  #replay(view: MailboxView, fromBlock: number, emit: Emit, maxBytes: number): void {
    const cursor = this.#store.cursor();
    if (!cursor) return;
    const query = { fromBlock, toBlock: cursor.number, includeUnverified: view.includeUnverified };
    const finalized: MailboxView = { ...view, finality: 'finalized' };
    const updates: RawJson[] = [];
    let bytes = 0;
    let batch: MessageRecord[] = [];
    const flush = () => {
      const first = batch[0];
      if (!first) return;
      const update = this.#encode(
        finalized,
        'messages',
        { number: first.sentAt, hash: first.blockHash },
        batch,
      );
      bytes += update.json.length;
      if (bytes > maxBytes)
        throw tooBig(
          maxBytes,
          `Replay from block ${fromBlock} is too big: read older blocks with xcmp_get${view.kind === 'inbox' ? 'Inbox' : 'Outbox'} (paged by fromBlock/limit), then subscribe from a later fromBlock`,
        );
      updates.push(update);
      batch = [];
    };
    for (const message of this.#store.mailboxRows(view.kind, view.paraId, query)) {
      if (batch.length > 0 && batch[0]!.sentAt !== message.sentAt) flush();
      batch.push(message);
    }
    flush();
    for (const update of updates) emit(update);
  }

  subscribeCandidates(paraId: number | null, emit: Emit): () => void {
    return addListener(this.#candidates, paraId, emit);
  }

  #fanOut(
    finality: Finality,
    type: MailboxUpdateJson['type'],
    block: { number: number; hash: `0x${string}` },
    messages: readonly MessageRecord[],
    since: number,
  ): void {
    if (this.#mailboxes.size === 0 || messages.length === 0) return;
    let sent = 0;
    for (const kind of ['inbox', 'outbox'] as const) {
      const byPara = new Map<number, MessageRecord[]>();
      for (const m of messages) {
        const para = kind === 'inbox' ? m.recipient : m.sender;
        const list = byPara.get(para);
        if (list) list.push(m);
        else byPara.set(para, [m]);
      }
      for (const [paraId, list] of byPara) {
        for (const decode of [false, true]) {
          for (const includeUnverified of [false, true]) {
            const view: MailboxView = { kind, paraId, finality, decode, includeUnverified };
            const listeners = this.#mailboxes.get(viewKey(view));
            if (!listeners || listeners.size === 0) continue;
            const shown = includeUnverified ? list : list.filter((m) => m.verified);
            if (shown.length === 0) continue;
            const json = this.#encode(view, type, block, shown);
            for (const listener of listeners) listener.emit(json);
            sent += listeners.size;
          }
        }
      }
    }
    if (sent > 0) this.#observer?.notified(sent, performance.now() - since);
  }

  /** A finalized block was stored. */
  onFinalized(write: BlockWrite, since = performance.now()): void {
    this.#fanOut('finalized', 'messages', { number: write.number, hash: write.hash }, write.messages, since);
    this.proven?.onFinalized(write);
    if (this.#candidates.size > 0) this.#candidateUpdates(write);
  }

  onBest(block: BestBlockUpdate, since = performance.now()): void {
    this.#fanOut('best', 'messages', block, block.messages, since);
  }

  onRetracted(block: BestBlockUpdate, since = performance.now()): void {
    this.#fanOut('best', 'retracted', block, block.messages, since);
  }

  #candidateUpdates(write: BlockWrite): void {
    const block = { number: write.number, hash: write.hash };
    const send = (type: CandidateUpdateJson['type'], record: CandidateRecord) => {
      const targets = [this.#candidates.get(null), this.#candidates.get(record.paraId)];
      if (!targets.some((t) => t && t.size > 0)) return;
      const { messages: _, ...candidate } = candidateJson(record);
      const json = new RawJson(JSON.stringify({ type, block, candidate } satisfies CandidateUpdateJson));
      for (const set of targets) for (const emit of set ?? []) emit(json);
    };
    for (const record of write.newCandidates) send('backed', record);
    for (const update of write.candidateUpdates) {
      const record = this.#store.candidate(update.candidateHash);
      if (!record) continue;
      send(update.status === 'backed' ? 'availability' : update.status, record);
    }
  }
}
