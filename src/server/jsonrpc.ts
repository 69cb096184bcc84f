/**
 * A transport-agnostic JSON-RPC 2.0 session with Substrate's subscription conventions
 * (STYLE.md): ids echoed unchanged, `result` always present, notifications named after the
 * subscription and never sent before the subscribe response, 16-character random subscription ids.
 */
import { randomBytes } from 'node:crypto';

export const ErrorCode = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  tooManySubscriptions: -32006,
  requestTooBig: -32007,
  responseTooBig: -32008,
  serverBusy: -32009,
  batchTooLarge: -32010,
} as const;

/** An error whose code and message are meant for the client. Anything else becomes -32603. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type JsonRpcId = string | number | null;

/**
 * A result already serialized to JSON. Subscriptions emit one to many subscribers: the update is
 * encoded once and only the envelope (with each subscription id) is built per subscriber.
 */
export class RawJson {
  constructor(readonly json: string) {}
}

export interface RpcContext {
  /** Registers a cleanup to run when the connection closes. */
  onClose(cleanup: () => void): void;
}

export type MethodHandler = (params: readonly unknown[], context: RpcContext) => unknown;

export type Unsubscribe = () => void;

export interface SubscriptionHandler {
  /** Notification method name, e.g. `chain_newHead`. */
  readonly notification: string;
  readonly unsubscribe: string;
  /** Other names the unsubscribe method answers to (`chain_unsubscribeNewHead`, …). */
  readonly unsubscribeAliases?: readonly string[];
  /** Starts the subscription; `emit` may be called at once, delivery waits for the response. */
  subscribe(
    params: readonly unknown[],
    emit: (result: unknown) => void,
    context: RpcContext,
  ): Unsubscribe | Promise<Unsubscribe>;
}

export interface RpcHandlers {
  readonly methods: ReadonlyMap<string, MethodHandler>;
  readonly subscriptions: ReadonlyMap<string, SubscriptionHandler>;
  /** Answers methods not in `methods` (the relay proxy); without it they get -32601. */
  readonly fallback?: (method: string, params: readonly unknown[], context: RpcContext) => unknown;
}

export interface CallObserver {
  started(method: string): void;
  finished(method: string, seconds: number, isError: boolean): void;
}

export interface SessionOptions {
  readonly maxSubscriptions: number;
  readonly maxBatchLength: number;
  /** Responses larger than this (bytes of JSON) are replaced by a -32008 error. */
  readonly maxResponseSize?: number;
  readonly observer?: CallObserver;
  /** False for HTTP: subscribe methods answer with an error. */
  readonly subscriptionsAllowed: boolean;
  /** Called with unexpected errors (they reach the client only as -32603). */
  readonly onInternalError?: (method: string, error: unknown) => void;
}

export function newSubscriptionId(): string {
  // 16 characters from a URL-safe alphabet, as Substrate's RandomStringSubscriptionId.
  return randomBytes(12).toString('base64url');
}

interface ActiveSubscription {
  readonly handler: SubscriptionHandler;
  unsubscribe: Unsubscribe | null;
  /** Notifications held back until the subscribe response is on the wire. */
  pending: unknown[] | null;
}

type Outcome = { readonly response: object | null; readonly activate: (() => void) | null };

export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): object {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

export class RpcSession {
  readonly #handlers: RpcHandlers;
  readonly #send: (text: string) => void;
  readonly #options: SessionOptions;
  readonly #subscriptions = new Map<string, ActiveSubscription>();
  readonly #unsubscribeMethods: ReadonlyMap<string, string>;
  readonly #cleanups: (() => void)[] = [];
  #closed = false;
  readonly #context: RpcContext = { onClose: (cleanup) => this.#cleanups.push(cleanup) };

  constructor(handlers: RpcHandlers, send: (text: string) => void, options: SessionOptions) {
    this.#handlers = handlers;
    this.#send = send;
    this.#options = options;
    const unsubscribes = new Map<string, string>();
    for (const handler of handlers.subscriptions.values())
      unsubscribes.set(handler.unsubscribe, handler.notification);
    this.#unsubscribeMethods = unsubscribes;
  }

  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /** Handles one incoming frame; the response (if any) is sent before any notification it enables. */
  async handleText(text: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.#write(errorResponse(null, ErrorCode.parse, 'Parse error'));
      return;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) {
        this.#write(errorResponse(null, ErrorCode.invalidRequest, 'Invalid request'));
        return;
      }
      if (parsed.length > this.#options.maxBatchLength) {
        this.#write(
          errorResponse(
            null,
            ErrorCode.batchTooLarge,
            `The batch request was too large`,
            `Exceeded max limit of ${this.#options.maxBatchLength}`,
          ),
        );
        return;
      }
      const outcomes = await Promise.all(parsed.map((request) => this.#handleRequest(request)));
      const responses = outcomes.map((o) => o.response).filter((r): r is object => r !== null);
      if (responses.length > 0) this.#write(responses);
      for (const outcome of outcomes) outcome.activate?.();
      return;
    }
    const outcome = await this.#handleRequest(parsed);
    if (outcome.response) this.#write(outcome.response);
    outcome.activate?.();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const subscription of this.#subscriptions.values()) subscription.unsubscribe?.();
    this.#subscriptions.clear();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  #write(value: unknown): void {
    if (this.#closed) return;
    let text = JSON.stringify(value);
    const limit = this.#options.maxResponseSize;
    if (limit !== undefined && text.length > limit) {
      const id = Array.isArray(value) ? null : ((value as { id?: JsonRpcId }).id ?? null);
      text = JSON.stringify(
        errorResponse(id, ErrorCode.responseTooBig, 'Response is too big', `Exceeded max limit of ${limit}`),
      );
    }
    this.#send(text);
  }

  async #handleRequest(request: unknown): Promise<Outcome> {
    const none = { response: null, activate: null };
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return { response: errorResponse(null, ErrorCode.invalidRequest, 'Invalid request'), activate: null };
    }
    const { jsonrpc, method, params, id } = request as Record<string, unknown>;
    const hasId = 'id' in request;
    const validId = id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
    const echoId: JsonRpcId = validId ? (id as JsonRpcId) : null;
    if (jsonrpc !== '2.0' || typeof method !== 'string' || (hasId && !validId)) {
      return { response: errorResponse(echoId, ErrorCode.invalidRequest, 'Invalid request'), activate: null };
    }
    if (params !== undefined && typeof params !== 'object') {
      return { response: errorResponse(echoId, ErrorCode.invalidParams, 'Invalid params'), activate: null };
    }
    const positional: readonly unknown[] =
      params === undefined || params === null ? [] : Array.isArray(params) ? params : [params];
    const observer = this.#options.observer;
    const started = performance.now();
    observer?.started(method);
    let isError = false;
    try {
      const subscription = this.#handlers.subscriptions.get(method);
      if (subscription) {
        const [subscriptionId, activate] = await this.#subscribe(subscription, positional);
        return hasId
          ? { response: { jsonrpc: '2.0', id: echoId, result: subscriptionId }, activate }
          : { response: null, activate };
      }
      if (this.#unsubscribeMethods.has(method)) {
        const result = this.#unsubscribe(method, positional);
        return hasId ? { response: { jsonrpc: '2.0', id: echoId, result }, activate: null } : none;
      }
      const handler = this.#handlers.methods.get(method) ?? this.#fallbackFor(method);
      if (!handler) {
        isError = true;
        return hasId
          ? { response: errorResponse(echoId, ErrorCode.methodNotFound, 'Method not found'), activate: null }
          : none;
      }
      const result = await handler(positional, this.#context);
      return hasId
        ? { response: { jsonrpc: '2.0', id: echoId, result: result ?? null }, activate: null }
        : none;
    } catch (error) {
      isError = true;
      if (!hasId) return none;
      if (error instanceof RpcError) {
        return { response: errorResponse(echoId, error.code, error.message, error.data), activate: null };
      }
      this.#options.onInternalError?.(method, error);
      return { response: errorResponse(echoId, ErrorCode.internal, 'Internal error'), activate: null };
    } finally {
      observer?.finished(method, (performance.now() - started) / 1000, isError);
    }
  }

  #fallbackFor(method: string): MethodHandler | undefined {
    const fallback = this.#handlers.fallback;
    return fallback ? (params, context) => fallback(method, params, context) : undefined;
  }

  async #subscribe(handler: SubscriptionHandler, params: readonly unknown[]): Promise<[string, () => void]> {
    if (!this.#options.subscriptionsAllowed) {
      throw new RpcError(ErrorCode.methodNotFound, 'Subscriptions are not available on this transport');
    }
    if (this.#subscriptions.size >= this.#options.maxSubscriptions) {
      throw new RpcError(
        ErrorCode.tooManySubscriptions,
        `Too many subscriptions on the connection`,
        `Exceeded max limit of ${this.#options.maxSubscriptions}`,
      );
    }
    const id = newSubscriptionId();
    const active: ActiveSubscription = { handler, unsubscribe: null, pending: [] };
    this.#subscriptions.set(id, active);
    const emit = (result: unknown) => {
      if (this.#closed || !this.#subscriptions.has(id)) return;
      if (active.pending) active.pending.push(result);
      else this.#notify(handler.notification, id, result);
    };
    try {
      active.unsubscribe = await handler.subscribe(params, emit, this.#context);
    } catch (error) {
      this.#subscriptions.delete(id);
      throw error;
    }
    if (this.#closed) active.unsubscribe();
    return [
      id,
      () => {
        const held = active.pending ?? [];
        active.pending = null;
        for (const result of held) this.#notify(handler.notification, id, result);
      },
    ];
  }

  #unsubscribe(method: string, params: readonly unknown[]): boolean {
    const [id] = params;
    if (typeof id !== 'string')
      throw new RpcError(ErrorCode.invalidParams, 'Invalid params: expected a subscription id');
    const active = this.#subscriptions.get(id);
    const handler = active?.handler;
    if (
      !active ||
      !handler ||
      (handler.unsubscribe !== method && !handler.unsubscribeAliases?.includes(method))
    )
      return false;
    this.#subscriptions.delete(id);
    active.unsubscribe?.();
    return true;
  }

  #notify(method: string, subscription: string, result: unknown): void {
    if (this.#closed) return;
    if (result instanceof RawJson) {
      this.#send(
        `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":{"subscription":"${subscription}","result":${result.json}}}`,
      );
      return;
    }
    this.#send(JSON.stringify({ jsonrpc: '2.0', method, params: { subscription, result } }));
  }
}
