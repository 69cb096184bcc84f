/**
 * One JSON-RPC connection to the node over WebSocket that reconnects by itself and owns every
 * subscription made through it. After a reconnect each subscription is made again under the same
 * handle, so an unsubscribe always reaches the node with the id the node knows now; a subscription
 * the node does not take back is ended with the node's error, never left silent.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { topLevelMembers } from './json-members.ts';

/** An error answer from the node: its code, message and data, unchanged. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

const CLOSE_BRACE = Buffer.from('}');

/** No answer could be had: not connected, connection lost, or no answer in time. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

export interface UpstreamOptions {
  /** Delay between reconnection attempts; 0 = never reconnect. */
  readonly reconnectMs: number;
  /** A request without an answer this long fails with a ConnectionError. */
  readonly requestTimeoutMs?: number;
  /** Largest frame accepted from the node. */
  readonly maxPayload?: number;
  /** WebSocket ping interval; a connection that misses a pong is dropped. */
  readonly pingIntervalMs?: number;
}

export interface SubscriptionSpec {
  readonly method: string;
  readonly params: readonly unknown[];
  readonly unsubscribe: string;
  /**
   * Made again after a reconnect (default). False for subscriptions whose state lives on the node
   * (a chainHead follow and its pinned blocks): a lost connection ends them.
   */
  readonly renew?: boolean;
}

export interface SubscriptionCallbacks {
  /** `method` is the notification's method as the node named it. */
  onEvent(result: unknown, method: string): void;
  /** The subscription ended without being unsubscribed: the node closed it or refused to renew it. */
  onEnd(error: Error): void;
}

/** A subscription held by the connection; `unsubscribe` uses whatever id the node gave last. */
export interface UpstreamSubscription {
  /** The node's id for it now; null while not held (between a lost connection and its renewal). */
  readonly id: string | number | null;
  unsubscribe(): Promise<void>;
}

interface LiveSubscription {
  readonly spec: SubscriptionSpec;
  readonly callbacks: SubscriptionCallbacks;
  /** The node's id for it now, as the node wrote it (string or number); null while not held. */
  id: string | number | null;
  ended: boolean;
}

interface PendingRequest {
  readonly method: string;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** For subscribe requests: the id is bound in the same turn as the answer, before any notification. */
  readonly subscription?: LiveSubscription;
  /** Resolve with the result's JSON text as the node wrote it (`requestRaw`). */
  readonly raw?: boolean;
}

interface UpstreamEvents {
  connected: [];
  disconnected: [Error];
}

interface Envelope {
  readonly id?: unknown;
  readonly result?: unknown;
  readonly error?: { code?: unknown; message?: unknown; data?: unknown };
  readonly method?: unknown;
  readonly params?: { subscription?: unknown; result?: unknown; error?: Envelope['error'] };
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;

function errorFrom(error: Envelope['error']): UpstreamError {
  const code = typeof error?.code === 'number' ? error.code : -32603;
  const message = typeof error?.message === 'string' ? error.message : 'error without a message';
  return new UpstreamError(code, message, error?.data);
}

export class UpstreamConnection extends EventEmitter<UpstreamEvents> {
  readonly url: string;
  readonly #options: UpstreamOptions;
  #socket: WebSocket | null = null;
  /** The TCP socket under #socket, corked for the rest of a turn once a request is written in it. */
  #tcp: { cork(): void; uncork(): void } | null = null;
  #corked = false;
  /** Raw requests in flight: only then are answers scanned for a raw result before being parsed. */
  #rawPending = 0;
  #open = false;
  #stopped = false;
  #everConnected = false;
  #nextId = 1;
  #reconnectTimer: NodeJS.Timeout | null = null;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #subscriptions = new Set<LiveSubscription>();
  readonly #byId = new Map<string, LiveSubscription>(); // keyed by String(id)

  constructor(url: string, options: UpstreamOptions) {
    super();
    this.url = url;
    this.#options = options;
  }

  get isConnected(): boolean {
    return this.#open;
  }

  /** Subscriptions currently held (for tests and metrics). */
  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /** Opens the first connection; rejects with the socket's error if it fails. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.#dial();
      socket.once('open', () => resolve());
      socket.once('error', (error) => reject(error));
      socket.once('close', () => reject(new ConnectionError('closed before it opened')));
    });
  }

  /** Closes the connection for good: pending requests fail, nothing reconnects. */
  disconnect(): Promise<void> {
    this.#stopped = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const socket = this.#socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.terminate();
    });
  }

  request<T>(method: string, params: readonly unknown[] = [], timeoutMs?: number): Promise<T> {
    return this.#request(method, params, timeoutMs) as Promise<T>;
  }

  /**
   * Like `request`, resolving with the result's JSON text as the node wrote it (not parsed).
   * `paramsJson`: the params as the client wrote them (valid JSON, already checked), sent as they
   * are instead of serialized again (a large param is then never copied into a new string).
   */
  requestRaw(method: string, params: readonly unknown[] = [], paramsJson?: string): Promise<string> {
    this.#rawPending += 1;
    const request = this.#request(method, params, undefined, undefined, true, paramsJson) as Promise<string>;
    return request.finally(() => {
      this.#rawPending -= 1;
    });
  }

  /** Subscribes; the returned handle stays valid across reconnects. */
  async subscribe(spec: SubscriptionSpec, callbacks: SubscriptionCallbacks): Promise<UpstreamSubscription> {
    const live: LiveSubscription = { spec, callbacks, id: null, ended: false };
    await this.#request(spec.method, spec.params, undefined, live);
    this.#subscriptions.add(live);
    return {
      get id() {
        return live.id;
      },
      unsubscribe: () => this.#unsubscribe(live),
    };
  }

  #dial(): WebSocket {
    const socket = new WebSocket(this.url, {
      // A zero masking key: masking shields browsers' proxies (RFC 6455 §10.3), nothing here, and a
      // random key costs a random fill and a copy of every frame.
      generateMask: () => undefined,
      maxPayload: this.#options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      handshakeTimeout: this.#options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    this.#socket = socket;
    this.#tcp = null;
    socket.on('upgrade', (response) => {
      if (this.#socket === socket) this.#tcp = response.socket;
    });
    let alive = true;
    let ping: NodeJS.Timeout | null = null;
    socket.on('open', () => {
      this.#open = true;
      const reconnected = this.#everConnected;
      this.#everConnected = true;
      ping = setInterval(() => {
        if (!alive) {
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, this.#options.pingIntervalMs ?? 30_000);
      ping.unref();
      this.emit('connected');
      if (reconnected) void this.#resubscribeAll();
    });
    socket.on('pong', () => {
      alive = true;
    });
    socket.on('message', (data) => this.#onMessage(data.toString()));
    socket.on('error', () => undefined); // 'close' follows and handles it
    socket.on('close', () => {
      if (ping) clearInterval(ping);
      const wasOpen = this.#open;
      this.#open = false;
      if (this.#socket === socket) this.#socket = null;
      this.#dropConnectionState();
      // A close we asked for (disconnect()) is not a loss.
      if (wasOpen && !this.#stopped)
        this.emit('disconnected', new ConnectionError(`connection to ${this.url} lost`));
      this.#scheduleReconnect();
    });
    return socket;
  }

  /** Re-dials a connection that was up and was lost; a first connection is retried by its caller. */
  #scheduleReconnect(): void {
    if (this.#stopped || !this.#everConnected || this.#options.reconnectMs <= 0 || this.#reconnectTimer)
      return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (!this.#stopped) this.#dial();
    }, this.#options.reconnectMs);
    this.#reconnectTimer.unref?.();
  }

  /**
   * A lost connection: in-flight requests fail; subscriptions wait for the next connection, except
   * those that cannot be renewed, which end now.
   */
  #dropConnectionState(): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(new ConnectionError(`connection to ${this.url} lost during ${pending.method}`));
    }
    this.#byId.clear();
    for (const live of [...this.#subscriptions]) {
      live.id = null;
      if (live.spec.renew === false)
        this.#end(
          live,
          new ConnectionError(`connection to ${this.url} lost: ${live.spec.method} cannot be renewed`),
        );
    }
  }

  #request(
    method: string,
    params: readonly unknown[],
    timeoutMs = this.#options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    subscription?: LiveSubscription,
    raw = false,
    paramsJson?: string,
  ): Promise<unknown> {
    const socket = this.#socket;
    if (!socket || !this.#open) {
      return Promise.reject(new ConnectionError(`not connected to the node at ${this.url}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ConnectionError(`no answer to ${method} from ${this.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer, subscription, raw });
      this.#cork();
      if (paramsJson === undefined) socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      else {
        // As UTF-8 parts: the params text (a slice of the client's request) is written out as it is,
        // never joined into a new string first.
        const head = Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":`);
        socket.send(Buffer.concat([head, Buffer.from(paramsJson), CLOSE_BRACE]), { binary: false });
      }
    });
  }

  /**
   * Requests made in one turn (catch-up prefetching a window, a burst of proxied calls) leave in one
   * write: the socket is corked until the turn ends.
   */
  #cork(): void {
    const tcp = this.#tcp;
    if (!tcp || this.#corked) return;
    this.#corked = true;
    tcp.cork();
    process.nextTick(() => {
      this.#corked = false;
      tcp.uncork();
    });
  }

  #onMessage(text: string): void {
    if (this.#rawPending > 0 && this.#answerRaw(text)) return;
    let message: Envelope;
    try {
      message = JSON.parse(text) as Envelope;
    } catch {
      return; // not JSON: nothing can be routed
    }
    if (typeof message !== 'object' || message === null) return;
    if (typeof message.id === 'number') {
      this.#onAnswer(message.id, message);
      return;
    }
    const subscriptionId = message.params?.subscription;
    if (typeof message.method !== 'string' || subscriptionId === undefined) return;
    const live = this.#byId.get(String(subscriptionId));
    if (!live) return;
    if (message.params?.error !== undefined) {
      this.#end(live, errorFrom(message.params.error));
      return;
    }
    live.callbacks.onEvent(message.params?.result, message.method);
  }

  /** A successful answer to a `requestRaw`: hands on the result's text unparsed. False for anything else. */
  #answerRaw(text: string): boolean {
    const members = topLevelMembers(text);
    const idRange = members?.get('id');
    const resultRange = members?.get('result');
    if (!members || !idRange || !resultRange || members.has('error')) return false;
    const id = Number(text.slice(idRange[0], idRange[1]));
    const pending = this.#pending.get(id);
    if (!pending?.raw) return false;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(text.slice(resultRange[0], resultRange[1]));
    return true;
  }

  #onAnswer(id: number, message: Envelope): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (message.error !== undefined) {
      pending.reject(errorFrom(message.error));
      return;
    }
    const live = pending.subscription;
    if (live) {
      if (typeof message.result !== 'string' && typeof message.result !== 'number') {
        pending.reject(new UpstreamError(-32603, `${pending.method} answered without a subscription id`));
        return;
      }
      live.id = message.result;
      this.#byId.set(String(live.id), live);
    }
    pending.resolve(pending.raw ? JSON.stringify(message.result ?? null) : message.result);
  }

  async #resubscribeAll(): Promise<void> {
    for (const live of [...this.#subscriptions]) {
      if (live.ended) continue;
      try {
        await this.#request(live.spec.method, live.spec.params, undefined, live);
        // Unsubscribed while the renewal was in flight: release the new id at once.
        if (live.ended) await this.#sendUnsubscribe(live);
      } catch (error) {
        // Lost again: the next connection tries again. Refused: the subscription cannot continue.
        if (error instanceof UpstreamError) this.#end(live, error);
        else if (this.#open) this.#end(live, error as Error);
      }
    }
  }

  #end(live: LiveSubscription, error: Error): void {
    if (live.ended) return;
    live.ended = true;
    this.#subscriptions.delete(live);
    if (live.id !== null) this.#byId.delete(String(live.id));
    live.callbacks.onEnd(error);
  }

  async #unsubscribe(live: LiveSubscription): Promise<void> {
    if (live.ended) return;
    live.ended = true;
    this.#subscriptions.delete(live);
    await this.#sendUnsubscribe(live);
  }

  async #sendUnsubscribe(live: LiveSubscription): Promise<void> {
    const id = live.id;
    if (id === null) return; // not held by the node now: nothing to release
    this.#byId.delete(String(id));
    live.id = null;
    await this.#request(live.spec.unsubscribe, [id]).catch(() => undefined);
  }
}
