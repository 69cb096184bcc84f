/**
 * Subscription fan-out. Each update is serialized once per distinct view (para, options) and the
 * same JSON text goes to every subscriber of that view. A replay from `fromBlock` reads the store
 * until it reaches the last block the live feed announced, then registers the subscriber in the
 * same synchronous step, and the subscriber skips live blocks its replay already held: no gap, no
 * duplicate, whichever store answers and however long it takes. Best and pending views follow the
 * pending lifecycle (derive/pending.ts).
 */
import type { MailboxUpdateJson, PendingMessageJson } from '../../../rpc/schemas.ts';
import { xcmsOfMessage } from '../../derive/journey.ts';
import {
  type LifecycleBlock,
  type LifecycleEvent,
  PendingLifecycle,
  type PendingMessage,
} from '../../derive/pending.ts';
import {
  type ParaBlockSeen,
  type ParaHeadSeen,
  type SpeculativeEvent,
  SpeculativeLifecycle,
  type SpeculativeMessage,
} from '../../derive/speculative.ts';
import type { BridgedRange } from '../../ingest/pruned.ts';
import type { TypeCodec } from '../../protocol/codec.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { BlockWrite, MessageRecord } from '../../store/types.ts';
import { RawJson } from '../transport/jsonrpc.ts';
import { type BestChainSource, CandidateFeed } from './candidate-feed.ts';
import { addListener, countListeners, ReplayBudget } from './listeners.ts';
import { type FinalitySource, type InboxProofs, ProvenInboxFeed } from './proven.ts';
import { ResumePlan, type ResumeRequest } from './resume.ts';
import { messageJson, pendingMessageJson, speculativeMessageJson } from './wire.ts';

export type MailboxKind = 'inbox' | 'outbox';

/** Messages in block order, one group per block (its hash as the messages carry it). */
function groupByBlock(
  messages: readonly MessageRecord[],
): { block: { number: number; hash: `0x${string}` }; messages: MessageRecord[] }[] {
  const groups: { block: { number: number; hash: `0x${string}` }; messages: MessageRecord[] }[] = [];
  for (const message of messages) {
    const last = groups.at(-1);
    if (last?.block.number === message.sentAt) last.messages.push(message);
    else groups.push({ block: { number: message.sentAt, hash: message.blockHash }, messages: [message] });
  }
  return groups;
}
export type Finality = MailboxUpdateJson['finality'];

export interface MailboxView {
  readonly kind: MailboxKind;
  readonly paraId: number;
  readonly finality: Finality;
  readonly decode: boolean;
  readonly includeUnverified: boolean;
}

type Emit = (result: RawJson) => void;

interface Listener {
  readonly view: MailboxView;
  readonly emit: Emit;
  /** The last finalized block its replay held: live finalized updates up to it are not sent again. */
  readonly replayedTo: number;
  /** Best/pending: also told when a block whose messages it was sent is final (`markFinalized`). */
  readonly markFinalized: boolean;
}

/** Best/pending subscription extras (docs/resume.md). */
export interface MailboxExtras {
  readonly markFinalized?: boolean;
  readonly resume?: ResumeRequest;
}

export interface HubObserver {
  notified(count: number, sinceMs: number): void;
  /** Pending messages dropped (per candidate), by reason. */
  dropped?(reason: string): void;
  /** A para block announced, matched, withdrawn or contradicted (docs/speculative.md). */
  speculative?(event: SpeculativeEvent, since: number): void;
}

export interface HubSources {
  readonly proofs?: InboxProofs;
  /** GRANDPA finality proofs (a node to read them from). */
  readonly finality?: FinalitySource;
  /** The best-chain view, for best and pending replays. */
  readonly best?: BestChainSource;
  /** Relay blocks a para block has to be backed in after its announcement (default SPECULATIVE_WINDOW). */
  readonly speculativeWindow?: number;
}

/** What one update says besides its messages. */
interface UpdateBody {
  readonly type: MailboxUpdateJson['type'];
  readonly block: { number: number; hash: `0x${string}` };
  readonly messages: readonly MessageRecord[];
  readonly pending?: readonly PendingMessage[];
  readonly speculative?: readonly SpeculativeMessage[];
  readonly paraBlock?: { number: number; hash: `0x${string}` };
  /** The para block's XcmpMessageSent events (speculative, withdrawn, contradicted). */
  readonly sent?: readonly { readonly eventIndex: number; readonly messageHash: `0x${string}` }[];
  readonly reason?: MailboxUpdateJson['reason'];
  readonly detail?: string;
  readonly candidateHash?: `0x${string}`;
}

const viewKey = (v: MailboxView) =>
  `${v.kind}:${v.paraId}:${v.finality}:${v.decode ? 1 : 0}:${v.includeUnverified ? 1 : 0}`;

const paraOf = (kind: MailboxKind, m: { sender: number; recipient: number }) =>
  kind === 'inbox' ? m.recipient : m.sender;

/** The update as a view sees it: only its para's messages, verified ones unless asked otherwise; null when none. */
function viewBody(view: MailboxView, body: UpdateBody): UpdateBody | null {
  const mine = (m: { sender: number; recipient: number }) => paraOf(view.kind, m) === view.paraId;
  const messages = body.messages.filter((m) => mine(m) && (view.includeUnverified || m.verified));
  const pending = body.pending?.filter(mine);
  const speculative = body.speculative?.filter(mine);
  if (messages.length === 0 && (pending?.length ?? 0) === 0 && (speculative?.length ?? 0) === 0) return null;
  return { ...body, messages, pending, speculative };
}

/** Updates a view of each finality is sent: a speculative view gets everything a pending one does. */
const BEST_VIEWS: readonly Finality[] = ['best', 'pending', 'speculative'];
const PENDING_VIEWS: readonly Finality[] = ['pending', 'speculative'];
const SPECULATIVE_VIEWS: readonly Finality[] = ['speculative'];

export class SubscriptionHub {
  readonly #store: StoreReader;
  readonly #xcm: () => TypeCodec | null;
  readonly #mailboxes = new Map<string, Set<Listener>>();
  readonly #observer: HubObserver | undefined;
  readonly #best: BestChainSource | null;
  readonly #lifecycle = new PendingLifecycle();
  readonly #speculative: SpeculativeLifecycle;
  /** The last finalized block announced to the live feed (onFinalized), and its hash. */
  #announced = 0;
  #announcedHash: `0x${string}` | null = null;
  readonly candidates: CandidateFeed;
  /** Inbox subscribers with `proof: true`; null when there is no node to read proofs from. */
  readonly proven: ProvenInboxFeed | null;
  /** GRANDPA finality proofs and set changes; null when there is no node to read them from. */
  readonly finality: FinalitySource | null;

  constructor(
    store: StoreReader,
    xcm: () => TypeCodec | null,
    observer?: HubObserver,
    sources: HubSources = {},
  ) {
    this.#store = store;
    this.#xcm = xcm;
    this.#observer = observer;
    this.#best = sources.best ?? null;
    this.#speculative = new SpeculativeLifecycle({ window: sources.speculativeWindow });
    this.candidates = new CandidateFeed(store, this.#best);
    this.finality = sources.finality ?? null;
    this.proven = sources.proofs ? new ProvenInboxFeed(store, sources.proofs, xcm, this.finality) : null;
  }

  get subscriberCount(): { mailbox: number; candidates: number } {
    const mailbox = (this.proven?.subscriberCount ?? 0) + countListeners(this.#mailboxes);
    return { mailbox, candidates: this.candidates.subscriberCount };
  }

  /**
   * A pending message of a block a para node announced with its `XcmpMessageSent` events: those of
   * its own XCMs (by message hash) go with it.
   */
  #withSent(json: PendingMessageJson, message: PendingMessage): PendingMessageJson {
    const events = message.paraHead ? this.#speculative.sentIn(message.paraHead) : undefined;
    const codec = events ? this.#xcm() : null;
    if (!events || !codec) return json;
    const xcms = xcmsOfMessage(message.data, codec);
    if (xcms.kind !== 'xcms') return json;
    const hashes = new Set(xcms.xcms.map((x) => x.messageHash));
    return { ...json, sent: events.filter((e) => hashes.has(e.messageHash)) };
  }

  #encode(view: MailboxView, body: UpdateBody, finality: Finality = view.finality): RawJson {
    const xcm = view.decode ? this.#xcm() : undefined;
    const update: MailboxUpdateJson = {
      type: body.type,
      finality,
      block: body.block,
      messages: body.messages.map((m) => messageJson(m, xcm)),
    };
    if (body.pending) update.pending = body.pending.map((m) => this.#withSent(pendingMessageJson(m, xcm), m));
    if (body.speculative) update.speculative = body.speculative.map((m) => speculativeMessageJson(m, xcm));
    if (body.paraBlock) update.paraBlock = body.paraBlock;
    if (body.sent) update.sent = [...body.sent];
    if (body.reason) update.reason = body.reason;
    if (body.detail) update.detail = body.detail;
    if (body.candidateHash) update.candidateHash = body.candidateHash;
    return new RawJson(JSON.stringify(update));
  }

  /**
   * Registers a mailbox subscriber; replays from `fromBlock` first. The replay is held for the
   * subscriber until its subscribe response is sent, so it counts as a response: past
   * `maxReplayBytes` the subscription is refused (-32008) and nothing is registered. Best and
   * pending subscribers may ask for finalized markers and resume from what they hold (`extras`).
   */
  async subscribeMailbox(
    view: MailboxView,
    fromBlock: number | undefined,
    emit: Emit,
    maxReplayBytes = Number.MAX_SAFE_INTEGER,
    extras: MailboxExtras = {},
  ): Promise<() => void> {
    let replayedTo = this.#announced;
    const resume = extras.resume && fromBlock !== undefined ? new ResumePlan(extras.resume) : null;
    const updates: RawJson[] = [];
    if (fromBlock !== undefined) {
      const why = `Replay from block ${fromBlock} is too big: read older blocks with xcmp_get${view.kind === 'inbox' ? 'Inbox' : 'Outbox'} (paged by fromBlock/limit), then subscribe from a later fromBlock`;
      const budget = new ReplayBudget(maxReplayBytes, why);
      await resume?.readCandidates(this.#store);
      const stored = await this.#replayStored(view, fromBlock, budget, resume);
      replayedTo = stored.upTo;
      // No await from here on: the best chain and pending state are read and the listener added at once.
      if (resume) updates.push(...budget.take(this.#retractions(view, resume, replayedTo)));
      updates.push(...stored.updates);
      updates.push(...budget.take(this.#replayAbove(view, Math.max(fromBlock, replayedTo + 1), resume)));
      if (resume) updates.push(...budget.take(this.#resumeDrops(view, resume)));
    }
    const markFinalized = (extras.markFinalized ?? false) && view.finality !== 'finalized';
    if (markFinalized && this.#announcedHash)
      updates.push(this.#marker(view, { number: this.#announced, hash: this.#announcedHash }));
    for (const update of updates) emit(update);
    return addListener(this.#mailboxes, viewKey(view), { view, emit, replayedTo, markFinalized });
  }

  #marker(view: MailboxView, block: { number: number; hash: `0x${string}` }): RawJson {
    return this.#encode(view, { type: 'finalized', block, messages: [] });
  }

  /** Blocks the resuming subscriber holds that left the chain while it was away (it fills their messages). */
  *#retractions(view: MailboxView, resume: ResumePlan, storedUpTo: number): Generator<RawJson> {
    const path = new Map((this.#best?.path() ?? []).map((block) => [block.number, block.hash]));
    for (const block of resume.retracted(storedUpTo, (number) => path.get(number)))
      yield this.#encode(view, {
        type: 'retracted',
        block,
        messages: [],
        detail: 'it left the chain while you were away',
      });
  }

  /** The resuming subscriber's open candidates that will not be enacted any more. */
  *#resumeDrops(view: MailboxView, resume: ResumePlan): Generator<RawJson> {
    if (view.finality === 'best' || view.finality === 'finalized' || !this.#announcedHash) return;
    const at = { number: this.#announced, hash: this.#announcedHash };
    for (const { candidateHash, reason, detail, messages } of resume.drops(this.#lifecycle)) {
      const pending = messages.filter((m) => paraOf(view.kind, m) === view.paraId);
      yield this.#encode(view, {
        type: 'dropped',
        block: at,
        messages: [],
        pending,
        candidateHash,
        reason,
        detail,
      });
    }
  }

  /**
   * Stored messages from `fromBlock`, one update per block, read until the store's cursor is no
   * older than the last block the live feed announced (blocks written meanwhile are read too).
   */
  async #replayStored(
    view: MailboxView,
    fromBlock: number,
    budget: ReplayBudget,
    resume: ResumePlan | null,
  ): Promise<{ upTo: number; updates: RawJson[] }> {
    const updates: RawJson[] = [];
    let upTo = fromBlock - 1;
    do {
      const cursor = await this.#store.cursor();
      if (!cursor || cursor.number <= upTo) break;
      await resume?.readStoredHashes(this.#store, upTo + 1, cursor.number);
      const query = {
        fromBlock: upTo + 1,
        toBlock: cursor.number,
        includeUnverified: view.includeUnverified,
      };
      let batch: MessageRecord[] = [];
      const flush = () => {
        const first = batch[0]!;
        const body: UpdateBody = {
          type: 'messages',
          block: { number: first.sentAt, hash: first.blockHash },
          messages: batch,
        };
        batch = [];
        if (!resume?.holds(body.block)) updates.push(budget.count(this.#encode(view, body, 'finalized')));
      };
      for await (const message of this.#store.mailboxRows(view.kind, view.paraId, query)) {
        if (batch.length > 0 && batch[0]!.sentAt !== message.sentAt) flush();
        batch.push(message);
      }
      if (batch.length > 0) flush();
      upTo = cursor.number;
    } while (this.#announced > upTo);
    return { upTo: Math.max(upTo, this.#announced), updates };
  }

  /** For best and pending views: the best chain above the stored replay, then what is still pending. */
  *#replayAbove(view: MailboxView, fromBlock: number, resume: ResumePlan | null = null): Generator<RawJson> {
    if (view.finality === 'finalized' || !this.#best) return;
    for (const block of this.#best.path()) {
      if (block.number < fromBlock || resume?.holds(block)) continue;
      const body = viewBody(view, { type: 'messages', block, messages: block.write.messages });
      if (body) yield this.#encode(view, body);
    }
    if (view.finality === 'best') return;
    for (const open of this.#lifecycle.open()) {
      const pending = open.messages.filter((m) => !resume?.isOpen(m.candidateHash));
      const body = viewBody(view, { type: 'pending', block: open.backedAt, messages: [], pending });
      if (body) yield this.#encode(view, body);
    }
    if (view.finality !== 'speculative') return;
    for (const open of this.#speculative.open()) {
      const { block, paraBlock, messages, sent } = open;
      const body = viewBody(view, {
        type: 'speculative',
        block,
        paraBlock,
        messages: [],
        speculative: messages,
        ...(sent ? { sent } : {}),
      });
      if (body) yield this.#encode(view, body);
    }
  }

  /** Sends an update to every view of `finalities` it concerns; each view's JSON is built once. */
  #fanOut(finalities: readonly Finality[], body: UpdateBody, since: number): void {
    if (this.#mailboxes.size === 0) return;
    const finalized = finalities.includes('finalized');
    const items = [...body.messages, ...(body.pending ?? []), ...(body.speculative ?? [])];
    if (items.length === 0) return;
    let sent = 0;
    for (const kind of ['inbox', 'outbox'] as const) {
      const paras = new Set(items.map((m) => paraOf(kind, m)));
      for (const paraId of paras) {
        for (const finality of finalities) {
          for (const decode of [false, true]) {
            for (const includeUnverified of [false, true]) {
              const view: MailboxView = { kind, paraId, finality, decode, includeUnverified };
              const listeners = this.#mailboxes.get(viewKey(view));
              if (!listeners || listeners.size === 0) continue;
              const shown = viewBody(view, body);
              if (!shown) continue;
              const json = this.#encode(view, shown);
              for (const listener of listeners) {
                if (finalized && listener.replayedTo >= body.block.number) continue;
                listener.emit(json);
                sent += 1;
              }
            }
          }
        }
      }
    }
    if (sent > 0) this.#observer?.notified(sent, performance.now() - since);
  }

  /** A finalized block was stored. */
  onFinalized(write: BlockWrite, since = performance.now()): void {
    if (write.number >= this.#announced) this.#announcedHash = write.hash;
    this.#announced = Math.max(this.#announced, write.number);
    this.#fanOut(
      ['finalized'],
      { type: 'messages', block: { number: write.number, hash: write.hash }, messages: write.messages },
      since,
    );
    this.proven?.onFinalized(write);
    this.candidates.onFinalized(write);
    this.#deliver(this.#lifecycle.finalized({ number: write.number, hash: write.hash, write }), since);
    this.#markFinal(write);
  }

  /** Tells best and pending subscribers that asked for it that a block whose messages they were sent is final. */
  #markFinal(write: BlockWrite): void {
    for (const listeners of this.#mailboxes.values()) {
      let marker: RawJson | null = null;
      for (const listener of listeners) {
        if (!listener.markFinalized) continue;
        if (!marker) {
          if (!viewBody(listener.view, { type: 'messages', block: write, messages: write.messages })) break;
          marker = this.#marker(listener.view, { number: write.number, hash: write.hash });
        }
        listener.emit(marker);
      }
    }
  }

  /**
   * The store's cursor jumped over blocks the node had pruned (DESIGN.md §12): finalized
   * subscribers get the messages peers proved for them, block by block, as if those blocks had been
   * stored one by one; proof subscribers one update at the range's end, proven there.
   */
  onBridged(bridge: BridgedRange, since = performance.now()): void {
    this.#announced = Math.max(this.#announced, bridge.to.number);
    for (const block of groupByBlock(bridge.messages))
      this.#fanOut(['finalized'], { type: 'messages', ...block }, since);
    this.proven?.onBridged(bridge);
  }

  /** The best head moved: blocks left the best chain (newest first), others joined it (oldest first). */
  onBestChange(
    change: { readonly retracted: readonly LifecycleBlock[]; readonly announced: readonly LifecycleBlock[] },
    since = performance.now(),
  ): void {
    this.#deliver(this.#lifecycle.change(change.retracted, change.announced), since);
  }

  /** Para blocks of `paras` that these best-chain blocks back and no para node announced yet. */
  unannouncedParaBlocks(blocks: readonly LifecycleBlock[], paras: ReadonlySet<number>): ParaHeadSeen[] {
    return this.#speculative.unannounced(blocks, paras);
  }

  /** A para node imported a block (docs/speculative.md). */
  onParaBlock(block: ParaBlockSeen, since = performance.now()): void {
    this.#deliverSpeculative(this.#speculative.paraBlock(block), since);
  }

  /** A para node's best (or finalized) head moved: what it left behind is withdrawn. */
  onParaHead(kind: 'best' | 'finalized', head: ParaHeadSeen, since = performance.now()): void {
    const events = kind === 'best' ? this.#speculative.paraBest(head) : this.#speculative.paraFinalized(head);
    this.#deliverSpeculative(events, since);
  }

  #deliverSpeculative(events: readonly SpeculativeEvent[], since: number): void {
    for (const event of events) {
      this.#observer?.speculative?.(event, since);
      if (event.type === 'matched') continue;
      const body: UpdateBody = {
        type: event.type,
        block: event.block,
        paraBlock: event.paraBlock,
        messages: [],
        speculative: event.messages,
        ...(event.sent ? { sent: event.sent } : {}),
      };
      if (event.type === 'withdrawn')
        this.#fanOut(SPECULATIVE_VIEWS, { ...body, reason: event.reason, detail: event.detail }, since);
      else if (event.type === 'contradicted')
        this.#fanOut(
          SPECULATIVE_VIEWS,
          { ...body, pending: event.backed, candidateHash: event.candidateHash, detail: event.detail },
          since,
        );
      else this.#fanOut(SPECULATIVE_VIEWS, body, since);
    }
  }

  #deliver(events: readonly LifecycleEvent[], since: number): void {
    for (const event of events) {
      switch (event.type) {
        case 'followed':
          this.candidates.onFollowed(event.block);
          this.#deliverSpeculative(this.#speculative.relayFollowed(event.block), since);
          break;
        case 'left':
          this.candidates.onLeft(event.block);
          this.#speculative.relayLeft(event.block);
          break;
        case 'messages':
        case 'retracted':
          this.#fanOut(BEST_VIEWS, { type: event.type, block: event.block, messages: event.messages }, since);
          break;
        case 'pending':
          this.#fanOut(
            PENDING_VIEWS,
            { type: 'pending', block: event.block, messages: [], pending: event.messages },
            since,
          );
          break;
        case 'dropped':
          this.#observer?.dropped?.(event.reason);
          this.#fanOut(
            PENDING_VIEWS,
            {
              type: 'dropped',
              block: event.block,
              messages: [],
              pending: event.messages,
              reason: event.reason,
              detail: event.detail,
              candidateHash: event.candidateHash,
            },
            since,
          );
          break;
      }
    }
  }
}
