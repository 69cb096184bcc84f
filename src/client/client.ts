/**
 * XcmpClient: a typed client for collators and dapps. Subscriptions to an inbox or outbox resume
 * after any reconnect from the block after the last one seen, so a consumer loses nothing and sees
 * nothing twice.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { type MethodName, type SubscriptionName, subscriptions } from '../../rpc/contract.ts';
import type {
  CandidateJson,
  CandidateSubscriptionOptionsJson,
  CandidateUpdateJson,
  ChannelJson,
  MailboxJson,
  MailboxUpdateJson,
  MessageJson,
  MessageQueryOptionsJson,
  StatusJson,
  SubscriptionOptionsJson,
} from '../../rpc/schemas.ts';
import { BestStream } from './best-stream.ts';
import { groupByBlock } from './blocks.ts';
import { grandpaTrust, resolveCheckpoint } from './grandpa.ts';
import {
  InboxVerifier,
  type TrustedHash,
  trustedHashes,
  type VerificationError,
  type VerifyOptions,
} from './verified.ts';

export { type HeaderSource, VerificationError, type VerifyOptions } from './verified.ts';

export class XcmpRpcError extends Error {
  override readonly name = 'XcmpRpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

interface NotificationParams {
  readonly subscription: string;
  readonly result?: unknown;
  readonly error?: RpcErrorObject;
}

/** A subscription notification: an update, or the error the server ended it with. */
type Notification = { readonly result: unknown } | { readonly error: RpcErrorObject };

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface ClientSubscription {
  readonly subscribe: string;
  readonly unsubscribe: string;
  readonly notification: string;
  /** Params for (re)subscribing; for mailboxes, fromBlock moves past what was seen. */
  params: () => unknown[];
  readonly onUpdate: (update: unknown) => void;
  /** Called when the server refuses the subscribe as too big (-32008): catch up another way, then retry. */
  readonly catchUp?: () => Promise<void>;
  serverId: string | null;
  closed: boolean;
}

/** -32008: the replay a subscribe asked for is larger than the server's response limit. */
const RESPONSE_TOO_BIG = -32008;
/** Subscription ids whose notifications may be kept while their subscribe answers are on the way. */
const MAX_EARLY_IDS = 64;
/** Messages per page when catching up with xcmp_getInbox / xcmp_getOutbox. */
const CATCH_UP_PAGE = 1000;

export interface Subscription {
  /** Last finalized block whose messages were delivered (mailboxes). */
  readonly lastSeenBlock: number | null;
  unsubscribe(): Promise<void>;
}

export interface ClientOptions {
  /** Delay between reconnection attempts; 0 disables reconnection. */
  readonly reconnectMs?: number;
  readonly timeoutMs?: number;
  /**
   * Verify inboxes against relay proofs (docs/trust-model.md): `headers` is a source the client
   * trusts, a node URL or `(blockHash) => Promise<headerHex>`. Inbox messages are then delivered
   * only when proven; a failed update emits `verificationError` and delivers nothing.
   */
  readonly verify?: VerifyOptions;
}

export interface ClientEvents {
  connected: [];
  disconnected: [];
  /** A subscription was re-established after a reconnect, or after the server ended it. */
  resubscribed: [string];
  /** The server ended a subscription with this error; it is taken up again after `reconnectMs`. */
  subscriptionError: [string, XcmpRpcError];
  /** An inbox update failed verification (verify mode): nothing of it was delivered. */
  verificationError: [VerificationError];
}

export class XcmpClient extends EventEmitter<ClientEvents> {
  /** The sidecars this client may use (replicas of one service, or sidecars on one chain), in order. */
  readonly urls: readonly string[];
  /** Index in `urls` of the one connected now (or tried last). */
  #current = 0;
  readonly #options: Required<Omit<ClientOptions, 'verify'>>;
  #trusted: TrustedHash | null = null;
  #headerNode: XcmpClient | null = null;
  /** Verify mode with a GRANDPA checkpoint: proofs carry finality proofs. */
  #finalityProof = false;
  #socket: WebSocket | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #subscriptions = new Set<ClientSubscription>();
  readonly #byServerId = new Map<string, ClientSubscription>();
  /** Notifications (results, or the error that ended it) that arrived before their subscribe response was handled. */
  readonly #early = new Map<string, Notification[]>();
  /** Subscribe calls in flight: only while one is, a notification for an unknown id is kept. */
  #subscribing = 0;
  #closing = false;

  private constructor(urls: readonly string[], options: ClientOptions) {
    super();
    if (urls.length === 0) throw new Error('XcmpClient needs at least one sidecar URL');
    this.urls = urls;
    this.#options = { reconnectMs: options.reconnectMs ?? 1000, timeoutMs: options.timeoutMs ?? 30_000 };
  }

  /**
   * Connects to `url`, or to the first of a list that answers. After a lost connection the client
   * tries the next sidecar of the list in turn (then the one it lost) and resumes every
   * subscription from the block after the last one delivered: nothing is lost or repeated.
   */
  static async connect(url: string | readonly string[], options: ClientOptions = {}): Promise<XcmpClient> {
    const client = new XcmpClient(typeof url === 'string' ? [url] : url, options);
    const verify = options.verify;
    if (verify && 'grandpa' in verify) {
      client.#trusted = grandpaTrust(await resolveCheckpoint(verify.grandpa), client);
      client.#finalityProof = true;
    } else if (verify) {
      if (typeof verify.headers === 'string')
        client.#headerNode = await XcmpClient.connect(verify.headers, { timeoutMs: options.timeoutMs });
      client.#trusted = trustedHashes(verify.headers, client.#headerNode, verify.headerWaitMs);
    }
    try {
      await client.#openAny();
    } catch (error) {
      await client.#headerNode?.close();
      throw error;
    }
    return client;
  }

  /** The sidecar in use now (or being tried). */
  get url(): string {
    return this.urls[this.#current]!;
  }

  /** Opens the current sidecar, else each of the others once in turn; fails with the last error. */
  async #openAny(): Promise<void> {
    let lastError: unknown;
    for (let tried = 0; tried < this.urls.length; tried++) {
      try {
        await this.#open();
        return;
      } catch (error) {
        lastError = error;
        this.#current = (this.#current + 1) % this.urls.length;
      }
    }
    throw lastError;
  }

  get connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  #open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      socket.once('open', () => {
        this.#socket = socket;
        this.emit('connected');
        resolve();
      });
      socket.once('error', (error) => {
        if (this.#socket !== socket) reject(error);
      });
      socket.on('message', (data) => this.#onMessage(data.toString()));
      socket.on('close', () => {
        if (this.#socket !== socket) return;
        this.#socket = null;
        for (const [id, pending] of this.#pending) {
          clearTimeout(pending.timer);
          pending.reject(new Error(`connection to ${this.url} closed`));
          this.#pending.delete(id);
        }
        this.#byServerId.clear();
        for (const sub of this.#subscriptions) sub.serverId = null;
        this.emit('disconnected');
        if (!this.#closing && this.#options.reconnectMs > 0) void this.#reconnect();
      });
    });
  }

  async #reconnect(): Promise<void> {
    // With several sidecars, the next one first: the one just lost is likely still down.
    this.#current = (this.#current + 1) % this.urls.length;
    while (!this.#closing) {
      await new Promise((r) => setTimeout(r, this.#options.reconnectMs));
      try {
        await this.#openAny();
      } catch {
        continue;
      }
      for (const sub of this.#subscriptions) {
        if (sub.closed) continue;
        try {
          await this.#activate(sub);
          this.emit('resubscribed', sub.subscribe);
        } catch {
          // the connection went again: the next reconnect retries
        }
      }
      return;
    }
  }

  #onMessage(text: string): void {
    let message: {
      id?: number;
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
      method?: string;
      params?: { subscription: string; result: unknown };
    };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.method && message.params) {
      const { subscription, result, error } = message.params as NotificationParams;
      const notification: Notification = error ? { error } : { result };
      const sub = this.#byServerId.get(subscription);
      if (sub) this.#notified(sub, notification);
      else {
        // The subscribe response is on its way to #activate: keep this until it registers the id.
        // With no subscribe in flight it is a stray (a subscription already given up): dropped.
        if (this.#subscribing === 0) return;
        this.#keepEarly(subscription, notification);
      }
      return;
    }
    if (typeof message.id !== 'number') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error)
      pending.reject(new XcmpRpcError(message.error.code, message.error.message, message.error.data));
    else pending.resolve(message.result);
  }

  /**
   * Keeps a notification for an id whose subscribe answer is still on its way. At most
   * MAX_EARLY_IDS ids are kept (a server sending notifications for ids nobody asked for cannot grow
   * it without end); the notifications of one id are all kept, and only while a subscribe call is
   * in flight (its timeout bounds that), since dropping one would lose an update.
   */
  #keepEarly(subscription: string, notification: Notification): void {
    let early = this.#early.get(subscription);
    if (!early) {
      // The oldest id goes: the answer on its way belongs to the newest.
      if (this.#early.size >= MAX_EARLY_IDS) this.#early.delete(this.#early.keys().next().value!);
      early = [];
      this.#early.set(subscription, early);
    }
    early.push(notification);
  }

  /** Forgets notifications kept for ids no subscribe call claimed. */
  #dropStrays(): void {
    if (this.#subscribing === 0) this.#early.clear();
  }

  #notified(sub: ClientSubscription, notification: Notification): void {
    if ('result' in notification) sub.onUpdate(notification.result);
    else if (sub.serverId) this.#onEnded(sub, sub.serverId, notification.error);
  }

  /**
   * The server ended a subscription with an error (it could not go on: a proof it could not read,
   * a store it could not read). It is taken up again after `reconnectMs`, from where it stood.
   */

  #onEnded(sub: ClientSubscription, serverId: string, error: RpcErrorObject): void {
    this.#byServerId.delete(serverId);
    sub.serverId = null;
    this.emit('subscriptionError', sub.subscribe, new XcmpRpcError(error.code, error.message, error.data));
    if (this.#closing || this.#options.reconnectMs === 0) return;
    const retry = async () => {
      if (sub.closed || this.#closing || sub.serverId !== null || !this.connected) return;
      try {
        await this.#activate(sub);
        this.emit('resubscribed', sub.subscribe);
      } catch {
        setTimeout(() => void retry(), this.#options.reconnectMs).unref();
      }
    };
    setTimeout(() => void retry(), this.#options.reconnectMs).unref();
  }

  /** A raw JSON-RPC call (any method: the contract's, or the node's through the sidecar's proxy). */
  call<T>(method: string, params: unknown[] = []): Promise<T> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN)
      return Promise.reject(new Error(`not connected to ${this.url}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method} timed out after ${this.#options.timeoutMs} ms`));
      }, this.#options.timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  async #activate(sub: ClientSubscription): Promise<void> {
    let serverId: string;
    this.#subscribing += 1;
    try {
      for (;;) {
        try {
          serverId = await this.call<string>(sub.subscribe, sub.params());
          break;
        } catch (error) {
          if (!(error instanceof XcmpRpcError && error.code === RESPONSE_TOO_BIG && sub.catchUp)) throw error;
          await sub.catchUp(); // moves params() past what it delivered
        }
      }
    } finally {
      this.#subscribing -= 1;
      if (this.#subscribing === 0) queueMicrotask(() => this.#dropStrays());
    }
    sub.serverId = serverId;
    this.#byServerId.set(serverId, sub);
    const early = this.#early.get(serverId) ?? [];
    this.#early.delete(serverId);
    for (const notification of early) this.#notified(sub, notification);
  }

  async #subscribe(
    subscribe: SubscriptionName,
    params: () => unknown[],
    onUpdate: (update: unknown) => void,
    seen: () => number | null,
    catchUp?: () => Promise<void>,
  ): Promise<Subscription> {
    const { unsubscribe, notification } = subscriptions[subscribe];
    const sub: ClientSubscription = {
      subscribe,
      unsubscribe,
      notification,
      params,
      onUpdate,
      catchUp,
      serverId: null,
      closed: false,
    };
    this.#subscriptions.add(sub);
    try {
      await this.#activate(sub);
    } catch (error) {
      this.#subscriptions.delete(sub);
      throw error;
    }
    return {
      get lastSeenBlock() {
        return seen();
      },
      unsubscribe: async () => {
        sub.closed = true;
        this.#subscriptions.delete(sub);
        if (sub.serverId) {
          this.#byServerId.delete(sub.serverId);
          if (this.connected) await this.call<boolean>(unsubscribe, [sub.serverId]).catch(() => false);
        }
      },
    };
  }

  #mailbox(
    kind: 'Inbox' | 'Outbox',
    paraId: number,
    onUpdate: (update: MailboxUpdateJson) => void,
    options: SubscriptionOptionsJson,
  ): Promise<Subscription> {
    let lastSeen: number | null = options.fromBlock !== undefined ? options.fromBlock - 1 : null;
    // Best and pending: what was told and held decides the resume (best-stream.ts).
    const best = (options.finality ?? 'finalized') === 'finalized' ? null : new BestStream(options.fromBlock);
    const seen = () => (best ? best.finalBlock : lastSeen);
    const params = () => {
      if (best) return [paraId, best.params(options)];
      // Resume from the block after the last finalized one delivered.
      const fromBlock = lastSeen === null ? options.fromBlock : lastSeen + 1;
      return [paraId, { ...options, ...(fromBlock === undefined ? {} : { fromBlock }) }];
    };
    const deliver = (update: MailboxUpdateJson) => {
      if (best) {
        for (const shown of best.take(update)) onUpdate(shown);
        return;
      }
      if (update.finality === 'finalized' && update.type === 'messages') {
        if (lastSeen !== null && update.block.number <= lastSeen) return; // already delivered
        lastSeen = update.block.number;
      }
      onUpdate(update);
    };
    // A replay too big for one answer: read it page by page, whole blocks at a time, then subscribe
    // again from the block after the last one delivered.
    let pageSize = CATCH_UP_PAGE;
    const catchUp = async () => {
      const before = seen();
      const fromBlock = before === null ? (options.fromBlock ?? 0) : before + 1;
      const query = { decode: options.decode, includeUnverified: options.includeUnverified };
      const method: MethodName = kind === 'Inbox' ? 'xcmp_getInbox' : 'xcmp_getOutbox';
      const read = async (range: { fromBlock: number; toBlock?: number }, limit: number) => {
        // A page over the server's response limit: ask for fewer messages (never fewer than a block).
        for (;;) {
          try {
            return await this.call<MailboxJson>(method, [paraId, { ...query, ...range, limit }]);
          } catch (error) {
            if (!(error instanceof XcmpRpcError && error.code === RESPONSE_TOO_BIG && limit > 1)) throw error;
            limit = Math.max(1, Math.floor(limit / 2));
            pageSize = Math.min(pageSize, limit);
          }
        }
      };
      const page = await read({ fromBlock }, pageSize);
      let blocks = groupByBlock(page.messages);
      const full = page.messages.length === pageSize;
      // A full page may end inside a block: keep that block for the next page; a block that fills a
      // page alone is read whole.
      if (full && blocks.length > 1) blocks.pop();
      else if (full) {
        const only = blocks[0]!.block.number;
        blocks = groupByBlock((await read({ fromBlock: only, toBlock: only }, 10_000)).messages);
      }
      for (const block of blocks) deliver({ type: 'messages', finality: 'finalized', ...block });
      if (!full && page.at) {
        if (best) best.take({ type: 'finalized', finality: 'finalized', block: page.at, messages: [] });
        else lastSeen = Math.max(lastSeen ?? 0, page.at.number);
      }
      if (seen() === before)
        throw new Error(`catching up ${method} for ${paraId} made no progress at block ${fromBlock}`);
    };
    return this.#subscribe(
      kind === 'Inbox' ? 'xcmp_subscribeInbox' : 'xcmp_subscribeOutbox',
      params,
      (raw) => deliver(raw as MailboxUpdateJson),
      seen,
      catchUp,
    );
  }

  subscribeInbox(
    recipient: number,
    onUpdate: (update: MailboxUpdateJson) => void,
    options: SubscriptionOptionsJson = {},
  ): Promise<Subscription> {
    if (this.#trusted) return this.#verifiedInbox(recipient, onUpdate, options, this.#trusted);
    return this.#mailbox('Inbox', recipient, onUpdate, options);
  }

  /** Verify mode: proofs requested, checked one update at a time, resumed from the proven block. */
  async #verifiedInbox(
    recipient: number,
    onUpdate: (update: MailboxUpdateJson) => void,
    options: SubscriptionOptionsJson,
    trusted: TrustedHash,
  ): Promise<Subscription> {
    if ((options.finality ?? 'finalized') !== 'finalized')
      throw new Error('verified inboxes follow finalized blocks: proofs anchor in finalized headers');
    const finalityProof = this.#finalityProof;
    const verifier = new InboxVerifier(
      recipient,
      trusted,
      this,
      { deliver: onUpdate, reject: (error) => this.emit('verificationError', error) },
      finalityProof,
    );
    if (options.fromBlock !== undefined) await verifier.startAt(options.fromBlock - 1);
    const params = () => {
      const proven = verifier.provenBlock;
      const { fromBlock: _, ...rest } = options;
      const resume = proven === null ? {} : { fromBlock: proven + 1 };
      const finality = finalityProof ? { finalityProof: true } : {};
      return [recipient, { ...rest, ...resume, ...finality, proof: true, includeUnverified: true }];
    };
    return this.#subscribe(
      'xcmp_subscribeInbox',
      params,
      (raw) => void verifier.push(raw as MailboxUpdateJson),
      () => verifier.provenBlock,
    );
  }

  subscribeOutbox(
    sender: number,
    onUpdate: (update: MailboxUpdateJson) => void,
    options: SubscriptionOptionsJson = {},
  ): Promise<Subscription> {
    return this.#mailbox('Outbox', sender, onUpdate, options);
  }

  subscribeCandidates(
    onUpdate: (update: CandidateUpdateJson) => void,
    filter: CandidateSubscriptionOptionsJson = {},
  ): Promise<Subscription> {
    return this.#subscribe(
      'xcmp_subscribeCandidates',
      () => [filter],
      (u) => onUpdate(u as CandidateUpdateJson),
      () => null,
    );
  }

  getInbox(recipient: number, options: MessageQueryOptionsJson = {}): Promise<MailboxJson> {
    return this.call('xcmp_getInbox', [recipient, options]);
  }

  getOutbox(sender: number, options: MessageQueryOptionsJson = {}): Promise<MailboxJson> {
    return this.call('xcmp_getOutbox', [sender, options]);
  }

  getChannel(sender: number, recipient: number): Promise<ChannelJson> {
    return this.call('xcmp_getChannel', [sender, recipient]);
  }

  getChannels(filter: { sender?: number; recipient?: number } = {}): Promise<ChannelJson[]> {
    return this.call('xcmp_getChannels', [filter]);
  }

  getCandidate(candidateHash: string): Promise<CandidateJson> {
    return this.call('xcmp_getCandidate', [candidateHash]);
  }

  getMessage(messageId: string, options: { decode?: boolean } = {}): Promise<MessageJson> {
    return this.call('xcmp_getMessage', [messageId, options]);
  }

  status(): Promise<StatusJson> {
    return this.call('xcmp_status', []);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#headerNode?.close();
    const socket = this.#socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close();
    });
  }
}
