/**
 * A transport-agnostic JSON-RPC 2.0 session with Substrate's subscription conventions
 * (STYLE.md): ids echoed unchanged, `result` always present, notifications named after the
 * subscription and never sent before the subscribe response, 16-character random subscription ids.
 */
import { randomBytes } from 'node:crypto';
import { StandardErrors } from '../../../rpc/contract.ts';

/** The codes of the contract's standard errors (rpc/contract.ts), by name. */
export const ErrorCode = {
  parse: StandardErrors.parse.code,
  invalidRequest: StandardErrors.invalidRequest.code,
  methodNotFound: StandardErrors.methodNotFound.code,
  invalidParams: StandardErrors.invalidParams.code,
  internal: StandardErrors.internal.code,
  tooManySubscriptions: StandardErrors.tooManySubscriptions.code,
  requestTooBig: StandardErrors.requestTooBig.code,
  responseTooBig: StandardErrors.responseTooBig.code,
  serverBusy: StandardErrors.serverBusy.code,
  batchTooLarge: StandardErrors.batchTooLarge.code,
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
  #tail: Buffer | null = null;
  constructor(readonly json: string) {}

  /** `json}}` as UTF-8, made once: what every subscriber's notification of this result ends with. */
  get notificationTail(): Buffer {
    this.#tail ??= Buffer.from(`${this.json}}}`);
    return this.#tail;
  }
}

/**
 * A method result already serialized as UTF-8 parts (a mailbox answer, message by message). It is
 * never joined into one string: the parts are counted against the budget, framed into the
 * response and written out as they are, so a large answer is held once, outside the JS heap, and
 * leaves no string chain to flatten and collect.
 */
export class JsonParts {
  constructor(
    readonly parts: readonly Buffer[],
    readonly bytes: number,
  ) {}

  /** Parts from strings (each made UTF-8 once). */
  static of(texts: readonly string[]): JsonParts {
    const parts = texts.map((text) => Buffer.from(text));
    return new JsonParts(
      parts,
      parts.reduce((total, part) => total + part.length, 0),
    );
  }
}

/** What a session sends: a text, or (a large answer) parts written one after another as one message. */
export type Answer = string | JsonParts;

/** An answer as one string (for small answers, tests, and transports that need one). */
export function answerText(answer: Answer): string {
  return typeof answer === 'string' ? answer : Buffer.concat(answer.parts).toString();
}

/** An answer's parts gathered into chunks of about `size` bytes (fewer frames, no whole copy). */
export function* answerChunks(answer: JsonParts, size = 64 * 1024): Generator<Buffer> {
  let group: Buffer[] = [];
  let bytes = 0;
  for (const part of answer.parts) {
    group.push(part);
    bytes += part.length;
    if (bytes >= size) {
      yield group.length === 1 ? group[0]! : Buffer.concat(group, bytes);
      group = [];
      bytes = 0;
    }
  }
  if (group.length > 0) yield group.length === 1 ? group[0]! : Buffer.concat(group, bytes);
}

/** Bytes of an answer on the wire. */
export function answerBytes(answer: Answer): number {
  return typeof answer === 'string' ? Buffer.byteLength(answer) : answer.bytes;
}

/** Joins answers with `separator` between them, inside `open` and `close`, as parts when any is. */
function joinAnswers(open: string, answers: readonly Answer[], separator: string, close: string): Answer {
  if (answers.every((a) => typeof a === 'string')) return `${open}${answers.join(separator)}${close}`;
  const parts: Buffer[] = [Buffer.from(open)];
  const comma = Buffer.from(separator);
  answers.forEach((answer, i) => {
    if (i > 0) parts.push(comma);
    if (typeof answer === 'string') parts.push(Buffer.from(answer));
    else parts.push(...answer.parts);
  });
  parts.push(Buffer.from(close));
  return new JsonParts(
    parts,
    parts.reduce((total, part) => total + part.length, 0),
  );
}

export interface RpcContext {
  /** Registers a cleanup to run when the connection closes. */
  onClose(cleanup: () => void): void;
  /**
   * Bytes of JSON this request's result may take (what is left of the response limit; a batch
   * shares one). A handler that builds large results stops at it and throws -32008 (tooBig()).
   */
  readonly maxResultBytes: number;
  /** The same object for every request of one connection: a key for what a handler keeps per connection. */
  readonly session: object;
  /** In a subscribe handler: the id the client will know the subscription by. */
  readonly subscriptionId?: string;
  /**
   * A large forwarded call: its params as the client wrote them (a slice of the request text, valid
   * JSON), for a forward that sends them on unchanged instead of serializing them again.
   */
  readonly paramsJson?: string;
}

export type MethodHandler = (params: readonly unknown[], context: RpcContext) => unknown;

export type Unsubscribe = () => void;

export interface SubscriptionHandler {
  /** Notification method name, e.g. `chain_newHead`. */
  readonly notification: string;
  readonly unsubscribe: string;
  /** Other names the unsubscribe method answers to (`chain_unsubscribeNewHead`, …). */
  readonly unsubscribeAliases?: readonly string[];
  /**
   * Starts the subscription; `emit` may be called at once, delivery waits for the response.
   * `end` closes it from the server side with an error notification (it cannot continue), or with
   * none when given null (its last notification already said so, as a chainHead `stop` event does).
   */
  subscribe(
    params: readonly unknown[],
    emit: (result: unknown, notification?: string) => void,
    context: RpcContext,
    end: (error: RpcError | null) => void,
  ): Unsubscribe | Promise<Unsubscribe>;
}

export interface RpcHandlers {
  readonly methods: ReadonlyMap<string, MethodHandler>;
  readonly subscriptions: ReadonlyMap<string, SubscriptionHandler>;
  /** Answers methods not in `methods` (the relay proxy); without it they get -32601. */
  readonly fallback?: (method: string, params: readonly unknown[], context: RpcContext) => unknown;
  /**
   * Subscriptions not in `subscriptions`, known by rule rather than by name (the relay proxy's
   * generic forwarding); their unsubscribe is answered here for the connection's own ids.
   */
  readonly subscriptionFor?: (method: string) => SubscriptionHandler | undefined;
  /** True for the unsubscribe methods of `subscriptionFor`'s subscriptions: answered here, never forwarded. */
  readonly isUnsubscribe?: (method: string) => boolean;
}

export interface CallObserver {
  started(method: string): void;
  finished(method: string, seconds: number, isError: boolean): void;
}

export interface SessionOptions {
  readonly maxSubscriptions: number;
  readonly maxBatchLength: number;
  /** Responses larger than this (bytes of JSON; a batch counts as one) are replaced by a -32008 error. */
  readonly maxResponseSize?: number;
  /** Bytes of answers held by batches still being worked on, across sessions; past `max` a batch gets -32009. */
  readonly batchesInProgress?: { bytes: number; readonly max: number };
  /** Bytes of forwarded requests waiting for the node, across sessions; past `max` a forward gets -32009. */
  readonly forwardsInProgress?: { bytes: number; readonly max: number };
  /** Wait for a fair turn before each request (see turns.ts); without it requests run at once. */
  readonly takeTurn?: () => Promise<void>;
  readonly observer?: CallObserver;
  /** False for HTTP: subscribe methods answer with an error. */
  readonly subscriptionsAllowed: boolean;
  /** Called with unexpected errors (they reach the client only as -32603). */
  readonly onInternalError?: (method: string, error: unknown) => void;
  /**
   * Sends a notification as its subscriber's own head and a tail shared by every subscriber of the
   * same update (a WebSocket message in two frames); without it the two are joined into one text.
   */
  readonly sendNotification?: (head: string, tail: Buffer) => void;
}

/** Deepest nesting accepted in a request; deeper input is refused before parsing (as serde_json's limit). */
export const MAX_JSON_DEPTH = 128;

/**
 * True when `text` nests arrays/objects deeper than `max`. Scans without parsing, and stops at the
 * first place the limit is passed: JSON.parse of deep nesting costs seconds per MB, this does not.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Requests at least this long that are forwarded send their params on as written (paramsSpan). */
const RAW_PARAMS_FROM = 16 * 1024;

/** Index just past the JSON value that starts at `i` (the text is valid JSON: JSON.parse took it). */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth === 0) return i + 1;
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) return i + 1;
      if (depth < 0) return i;
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) return i;
  }
  return i;
}

/**
 * The `params` member of a request object as written (a slice of `text`), found by walking its
 * top-level members without parsing them; undefined when it has none. The last one when it is
 * given twice, as JSON.parse keeps the last: what is forwarded is what was checked. `text` is valid JSON.
 */
export function paramsSpan(text: string): string | undefined {
  const skipSpace = (at: number) => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
    return at;
  };
  let i = skipSpace(0);
  if (text[i] !== '{') return undefined;
  i = skipSpace(i + 1);
  let found: string | undefined;
  while (i < text.length && text[i] === '"') {
    const keyEnd = valueEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const start = skipSpace(skipSpace(keyEnd) + 1); // past ':'
    const end = valueEnd(text, start);
    if (key === 'params') found = text.slice(start, end);
    i = skipSpace(end);
    if (text[i] === ',') i = skipSpace(i + 1);
  }
  return found;
}

export function newSubscriptionId(): string {
  // 16 characters from a URL-safe alphabet, as Substrate's RandomStringSubscriptionId.
  return randomBytes(12).toString('base64url');
}

interface ActiveSubscription {
  readonly handler: SubscriptionHandler;
  unsubscribe: Unsubscribe | null;
  /** Notifications held back until the subscribe response is on the wire (with their method, when not the handler's). */
  pending: [unknown, string | undefined][] | null;
  /** Set when the server ended it while the response was still held back. */
  endedWith: RpcError | 'quietly' | null;
}

/** One request's answer, serialized; `activate` releases held notifications once it is on the wire. */
type Outcome = {
  readonly text: Answer | null;
  /** The answer would have passed the byte budget (and was replaced by -32008). */
  readonly overBudget?: boolean;
  readonly activate: (() => void) | null;
  /** Undoes a subscription whose response could not be sent (its batch was too big). */
  readonly cancel: (() => void) | null;
};

const NO_OUTCOME: Outcome = { text: null, activate: null, cancel: null };

/** The -32008 error, for handlers that stop building a result at `maxResultBytes`. */
export function tooBig(limit: number, what = 'Response is too big'): RpcError {
  return new RpcError(ErrorCode.responseTooBig, what, `Exceeded max limit of ${limit}`);
}

/** UTF-8 size of `text`, computed only when the length alone cannot decide against `limit`. */
function exceeds(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return Buffer.byteLength(text) > limit;
}

export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): object {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/**
 * Calls forwarded to the node that one connection may have waiting at once. The node does the work
 * and its answer is sent as soon as it comes, so waiting ones hold no answer in memory; without
 * this, a connection's forwarded calls would each wait for the one before (one round trip each).
 */
const FORWARDS_IN_FLIGHT = 128;
/**
 * Bytes of forwarded requests one connection may have waiting at once (one larger request, an
 * extrinsic with a runtime upgrade say, still goes alone): what a flood of big forwarded params
 * holds while the node works on them.
 */
const FORWARD_BYTES_IN_FLIGHT = 1024 * 1024;

export class RpcSession {
  readonly #handlers: RpcHandlers;
  readonly #forwards = new Set<Promise<void>>();
  #forwardBytes = 0;
  readonly #send: (text: Answer, notification: boolean) => void;
  readonly #options: SessionOptions;
  readonly #subscriptions = new Map<string, ActiveSubscription>();
  readonly #unsubscribeMethods: ReadonlyMap<string, string>;
  readonly #cleanups: (() => void)[] = [];
  #closed = false;
  readonly #context: RpcContext = {
    onClose: (cleanup) => this.#cleanups.push(cleanup),
    maxResultBytes: Number.MAX_SAFE_INTEGER,
    session: this,
  };

  /** `send` is told whether the text is a notification (which a slow client may be cut off for). */
  constructor(
    handlers: RpcHandlers,
    send: (text: Answer, notification: boolean) => void,
    options: SessionOptions,
  ) {
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
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      this.#write(
        errorResponse(
          null,
          ErrorCode.invalidRequest,
          'Invalid request',
          `nested deeper than ${MAX_JSON_DEPTH} levels`,
        ),
      );
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.#write(errorResponse(null, ErrorCode.parse, 'Parse error'));
      return;
    }
    if (!Array.isArray(parsed)) {
      if (this.#isForward(parsed))
        return this.#startForward(
          parsed,
          text.length,
          text.length >= RAW_PARAMS_FROM ? paramsSpan(text) : undefined,
        );
      const outcome = await this.#handleRequest(parsed, this.#responseLimit);
      if (outcome.text !== null) this.#sendText(outcome.text);
      outcome.activate?.();
      return;
    }
    if (parsed.length === 0) {
      this.#write(errorResponse(null, ErrorCode.invalidRequest, 'Invalid request'));
      return;
    }
    if (parsed.length > this.#options.maxBatchLength) {
      const limit = this.#options.maxBatchLength;
      this.#write(
        errorResponse(
          null,
          ErrorCode.batchTooLarge,
          'The batch request was too large',
          `Exceeded max limit of ${limit}`,
        ),
      );
      return;
    }
    await this.#handleBatch(parsed);
  }

  /** A single call the sidecar does not answer itself: the fallback (relay proxy) forwards it. */
  #isForward(request: unknown): boolean {
    if (!this.#handlers.fallback || typeof request !== 'object' || request === null) return false;
    const method = (request as { method?: unknown }).method;
    return (
      typeof method === 'string' &&
      !this.#handlers.methods.has(method) &&
      !this.#handlers.subscriptions.has(method) &&
      !this.#isUnsubscribe(method)
    );
  }

  /**
   * Starts a forwarded call without waiting for its answer; waits while FORWARDS_IN_FLIGHT calls, or
   * FORWARD_BYTES_IN_FLIGHT bytes of them, are out. Across connections, past the server's bound on
   * forwarded bytes in flight it is refused (-32009) before it is sent.
   */
  async #startForward(request: unknown, bytes: number, paramsJson?: string): Promise<void> {
    while (
      this.#forwards.size > 0 &&
      (this.#forwards.size >= FORWARDS_IN_FLIGHT || this.#forwardBytes + bytes > FORWARD_BYTES_IN_FLIGHT)
    )
      await Promise.race(this.#forwards);
    const shared = this.#options.forwardsInProgress;
    if (shared && shared.bytes > 0 && shared.bytes + bytes > shared.max) {
      const id = (request as { id?: unknown }).id;
      const echo = typeof id === 'string' || typeof id === 'number' ? id : null;
      this.#write(
        errorResponse(
          echo,
          ErrorCode.serverBusy,
          'Server is busy, try again later',
          'too many forwarded calls are waiting for the node',
        ),
      );
      return;
    }
    this.#forwardBytes += bytes;
    if (shared) shared.bytes += bytes;
    // No fair turn: what it costs here is a few microseconds; the node does the work.
    const done: Promise<void> = this.#handleRequest(request, this.#responseLimit, false, paramsJson).then(
      (outcome) => {
        this.#forwards.delete(done);
        this.#forwardBytes -= bytes;
        if (shared) shared.bytes -= bytes;
        if (outcome.text !== null) this.#sendText(outcome.text);
        outcome.activate?.(); // a forwarded subscription: its held notifications follow the answer
      },
    );
    this.#forwards.add(done);
  }

  /** Resolves once every forwarded call started so far is answered: an HTTP request has one answer, sent at once. */
  async settled(): Promise<void> {
    while (this.#forwards.size > 0) await Promise.all(this.#forwards);
  }

  get #responseLimit(): number {
    return this.#options.maxResponseSize ?? Number.MAX_SAFE_INTEGER;
  }

  /**
   * A batch is one response: its calls run one after another against one byte budget, and the
   * first call that would pass it stops the batch (nothing after it is worked on).
   */
  async #handleBatch(requests: readonly unknown[]): Promise<void> {
    const held = this.#options.batchesInProgress;
    const outcomes: Outcome[] = [];
    let used = 2; // the brackets
    try {
      for (const request of requests) {
        // Answers of batches in progress wait in memory until their batch is done: bounded across sessions.
        if (held && held.bytes > held.max) return this.#abortBatch(outcomes, ErrorCode.serverBusy);
        const outcome = await this.#handleRequest(request, this.#responseLimit - used);
        outcomes.push(outcome);
        const bytes = outcome.text === null ? 0 : answerBytes(outcome.text) + 1;
        used += bytes;
        if (held) held.bytes += bytes;
        if (used > this.#responseLimit || outcome.overBudget || this.#closed)
          return this.#abortBatch(outcomes, ErrorCode.responseTooBig);
      }
      const texts = outcomes.flatMap((o) => (o.text === null ? [] : [o.text]));
      if (texts.length > 0) this.#sendText(joinAnswers('[', texts, ',', ']'));
      for (const outcome of outcomes) outcome.activate?.();
    } finally {
      if (held) held.bytes -= used - 2;
    }
  }

  /** Answers a whole batch with one error (as jsonrpsee does), undoing the subscriptions it made. */
  #abortBatch(outcomes: readonly Outcome[], code: number): void {
    for (const done of outcomes) done.cancel?.();
    const error =
      code === ErrorCode.responseTooBig
        ? tooBig(this.#responseLimit, 'The batch response was too large')
        : new RpcError(code, 'Server is busy, try again later', 'too many batch answers are being built');
    this.#write(errorResponse(null, error.code, error.message, error.data));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const subscription of this.#subscriptions.values()) subscription.unsubscribe?.();
    this.#subscriptions.clear();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  #write(value: unknown): void {
    this.#sendText(JSON.stringify(value));
  }

  #sendText(text: Answer): void {
    if (this.#closed) return;
    this.#send(text, false);
  }

  /** The success envelope, embedding a pre-serialized result as it is. */
  #success(id: JsonRpcId, result: unknown): Answer {
    const head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`;
    if (result instanceof JsonParts) return joinAnswers(head, [result], '', '}');
    const json = result instanceof RawJson ? result.json : JSON.stringify(result ?? null);
    return `${head}${json}}`;
  }

  /** One answer, replaced with -32008 when it passes `budget`. */
  #answer(id: JsonRpcId, result: unknown, budget: number): Outcome {
    const text = this.#success(id, result);
    const over = typeof text === 'string' ? exceeds(text, budget) : text.bytes > budget;
    if (!over) return { text, activate: null, cancel: null };
    const error = tooBig(this.#responseLimit);
    const refusal = JSON.stringify(errorResponse(id, error.code, error.message, error.data));
    return { text: refusal, overBudget: true, activate: null, cancel: null };
  }

  async #handleRequest(
    request: unknown,
    budget: number,
    takesTurn = true,
    paramsJson?: string,
  ): Promise<Outcome> {
    const fail = (id: JsonRpcId, code: number, message: string, data?: unknown): Outcome => ({
      text: JSON.stringify(errorResponse(id, code, message, data)),
      activate: null,
      cancel: null,
    });
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return fail(null, ErrorCode.invalidRequest, 'Invalid request');
    }
    const { jsonrpc, method, params, id } = request as Record<string, unknown>;
    const hasId = 'id' in request;
    const validId = id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
    const echoId: JsonRpcId = validId ? (id as JsonRpcId) : null;
    if (jsonrpc !== '2.0' || typeof method !== 'string' || (hasId && !validId)) {
      return fail(echoId, ErrorCode.invalidRequest, 'Invalid request');
    }
    if (params !== undefined && typeof params !== 'object') {
      return fail(echoId, ErrorCode.invalidParams, 'Invalid params');
    }
    if (takesTurn) await this.#options.takeTurn?.();
    if (this.#closed) return NO_OUTCOME;
    const positional: readonly unknown[] =
      params === undefined || params === null ? [] : Array.isArray(params) ? params : [params];
    const observer = this.#options.observer;
    const started = performance.now();
    observer?.started(method);
    let isError = false;
    try {
      const context: RpcContext = { ...this.#context, maxResultBytes: budget, paramsJson };
      const subscription =
        this.#handlers.subscriptions.get(method) ?? this.#handlers.subscriptionFor?.(method);
      // A subscribe sent as a notification could never be told its id, nor unsubscribed: ignore it.
      if (subscription && !hasId) return NO_OUTCOME;
      if (subscription) {
        const [subscriptionId, activate, cancel] = await this.#subscribe(subscription, positional, context);
        return { ...this.#answer(echoId, subscriptionId, budget), activate, cancel };
      }
      if (this.#isUnsubscribe(method)) {
        const result = this.#unsubscribe(method, positional);
        return hasId ? this.#answer(echoId, result, budget) : NO_OUTCOME;
      }
      const handler = this.#handlers.methods.get(method) ?? this.#fallbackFor(method);
      if (!handler) {
        isError = true;
        return hasId ? fail(echoId, ErrorCode.methodNotFound, 'Method not found') : NO_OUTCOME;
      }
      const result = await handler(positional, context);
      return hasId ? this.#answer(echoId, result, budget) : NO_OUTCOME;
    } catch (error) {
      isError = true;
      if (!hasId) return NO_OUTCOME;
      if (error instanceof RpcError) {
        const outcome = fail(echoId, error.code, error.message, error.data);
        return error.code === ErrorCode.responseTooBig ? { ...outcome, overBudget: true } : outcome;
      }
      this.#options.onInternalError?.(method, error);
      return fail(echoId, ErrorCode.internal, 'Internal error');
    } finally {
      observer?.finished(method, (performance.now() - started) / 1000, isError);
    }
  }

  #fallbackFor(method: string): MethodHandler | undefined {
    const fallback = this.#handlers.fallback;
    return fallback ? (params, context) => fallback(method, params, context) : undefined;
  }

  async #subscribe(
    handler: SubscriptionHandler,
    params: readonly unknown[],
    context: RpcContext,
  ): Promise<[string, () => void, () => void]> {
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
    const active: ActiveSubscription = { handler, unsubscribe: null, pending: [], endedWith: null };
    this.#subscriptions.set(id, active);
    const emit = (result: unknown, notification?: string) => {
      if (this.#closed || !this.#subscriptions.has(id)) return;
      if (active.pending) active.pending.push([result, notification]);
      else this.#notify(notification ?? handler.notification, id, result);
    };
    const end = (error: RpcError | null) => {
      if (this.#closed || !this.#subscriptions.has(id)) return;
      this.#subscriptions.delete(id);
      if (active.pending) active.endedWith = error ?? 'quietly';
      else if (error) this.#notifyEnd(handler.notification, id, error);
    };
    try {
      active.unsubscribe = await handler.subscribe(params, emit, { ...context, subscriptionId: id }, end);
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
        // What was held (a replay) is part of the answer, bounded by the response budget: it is
        // sent as the response is, not counted against the client as unread notifications.
        for (const [result, notification] of held)
          this.#notify(notification ?? handler.notification, id, result, false);
        if (active.endedWith instanceof RpcError) this.#notifyEnd(handler.notification, id, active.endedWith);
      },
      () => {
        if (!this.#subscriptions.delete(id)) return;
        active.pending = null;
        active.unsubscribe?.();
      },
    ];
  }

  /**
   * An unsubscribe, by name or by rule: answered from this connection's own subscriptions (false for
   * an id it does not hold), so no client can end another's subscription on the node.
   */
  #isUnsubscribe(method: string): boolean {
    return this.#unsubscribeMethods.has(method) || this.#handlers.isUnsubscribe?.(method) === true;
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

  /** Ends a subscription with an error notification, as jsonrpsee does when a subscription is closed. */
  #notifyEnd(method: string, subscription: string, error: RpcError): void {
    const body =
      error.data === undefined
        ? { code: error.code, message: error.message }
        : { code: error.code, message: error.message, data: error.data };
    this.#send(JSON.stringify({ jsonrpc: '2.0', method, params: { subscription, error: body } }), true);
  }

  #notify(method: string, subscription: string, result: unknown, live = true): void {
    if (this.#closed) return;
    if (result instanceof RawJson) {
      const head = `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":{"subscription":"${subscription}","result":`;
      // Live updates go out as head + shared tail: 10,000 subscribers cost 10,000 heads, not copies.
      if (live && this.#options.sendNotification)
        this.#options.sendNotification(head, result.notificationTail);
      else this.#send(`${head}${result.json}}}`, live);
      return;
    }
    this.#send(JSON.stringify({ jsonrpc: '2.0', method, params: { subscription, result } }), live);
  }
}
