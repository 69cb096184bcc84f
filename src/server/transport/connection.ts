/**
 * One WebSocket connection's flow control, in messages and in bytes:
 * - requests wait in a bounded queue (reading pauses when it is full), and the next one is worked on
 *   only once the client has read enough of what it was sent: a client that does not read stops
 *   being served instead of making the server buffer for it (the node's message buffer semantics);
 * - notifications that pile up behind a client that does not read close the connection (1008);
 * - every byte written and not yet flushed counts in a process-wide total; past it the connection
 *   holding the most unread bytes is closed.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { type Answer, answerChunks, type JsonParts, type RpcSession } from './jsonrpc.ts';

/** Unread bytes below which a connection's next request is worked on. */
const REQUEST_LOW_MARK = 1024 * 1024;
/** Frames held back to go out in one write, at most (and never more than the connection's message buffer). */
const CORK_MESSAGES = 32;

/** The TCP socket under a WebSocket: frames written while it is corked go out in one writev. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The frames of one turn of the event loop, and how much the socket held unflushed before them. */
interface CorkWindow {
  readonly bufferedBefore: number;
  messages: number;
  bytes: number;
}

export interface ConnectionLimits {
  /** Messages a connection may leave unread. */
  readonly messageBufferCapacity: number;
  /** Bytes a connection may leave unread. */
  readonly messageBufferBytes: number;
  /** Bytes of requests queued before reading pauses. */
  readonly maxRequestSize: number;
  readonly pingIntervalMs: number;
}

interface Sheddable {
  /** Bytes sent to it and not yet flushed, when its socket is not draining; 0 when it is. */
  stuckBytes(): number;
  closeSlow(why: string): void;
}

/**
 * Bytes written to clients and not yet flushed, across all connections. Past `max`, the connection
 * holding the most bytes it does not read is closed as a slow consumer: memory is bounded and the
 * clients that do read are not made to pay for the ones that do not.
 */
export class OutboundBytes {
  #total = 0;
  readonly #max: number;
  readonly #connections = new Set<Sheddable>();

  constructor(max: number) {
    this.#max = max;
  }

  get total(): number {
    return this.#total;
  }

  register(connection: Sheddable): () => void {
    this.#connections.add(connection);
    return () => this.#connections.delete(connection);
  }

  add(bytes: number): void {
    this.#total += bytes;
    while (this.#total > this.#max && this.#shedOne()) {}
  }

  remove(bytes: number): void {
    this.#total -= bytes;
  }

  #shedOne(): boolean {
    let worst: Sheddable | null = null;
    let most = 0;
    for (const connection of this.#connections) {
      const stuck = connection.stuckBytes();
      if (stuck > most) {
        most = stuck;
        worst = connection;
      }
    }
    worst?.closeSlow(`the server's send buffers are full (${this.#total} bytes)`);
    return worst !== null;
  }
}

export type SessionFactory = (
  send: (text: Answer, notification: boolean) => void,
  sendNotification: (head: string, tail: Buffer) => void,
) => RpcSession;

export interface ConnectionOptions {
  readonly limits: ConnectionLimits;
  readonly outbound: OutboundBytes;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** Serves one WebSocket until it closes. */
export function serveConnection(
  ws: WebSocket,
  socket: Corkable,
  remote: string | undefined,
  createSession: SessionFactory,
  options: ConnectionOptions,
): void {
  new Connection(ws, socket, remote, createSession, options);
}

/**
 * Bytes of requests a connection may have read and not answered yet before it stops reading (the
 * message count bound is the node's 64): a flood of large requests waits in the client's socket,
 * not here. One request of any size up to the request limit is still read whole.
 */
const RECEIVE_QUEUE_BYTES = 1024 * 1024;

class Connection {
  readonly #ws: WebSocket;
  readonly #socket: Corkable;
  #corked: CorkWindow | null = null;
  readonly #remote: string | undefined;
  readonly #options: ConnectionOptions;
  readonly #session: RpcSession;
  /** Messages and bytes handed to the socket and not yet flushed to the kernel. */
  #unflushed = 0;
  #unflushedBytes = 0;
  /** Closed, or being closed as slow: nothing more is sent, and its bytes have left the total. */
  #done = false;
  #drained: (() => void) | null = null;
  readonly #queue: string[] = [];
  #queuedBytes = 0;
  #working = false;
  #alive = true;

  constructor(
    ws: WebSocket,
    socket: Corkable,
    remote: string | undefined,
    createSession: SessionFactory,
    options: ConnectionOptions,
  ) {
    this.#ws = ws;
    this.#socket = socket;
    this.#remote = remote;
    this.#options = options;
    this.#session = createSession(
      (text, notification) => this.#send(text, notification),
      (head, tail) => this.#sendNotification(head, tail),
    );
    const unregister = options.outbound.register({
      stuckBytes: () => (this.#notDraining() ? this.#unflushedBytes : 0),
      closeSlow: (why) => this.#closeSlow(why),
    });
    ws.on('message', (data) => this.#receive(data.toString()));
    ws.on('pong', () => {
      this.#alive = true;
    });
    const ping = setInterval(() => this.#heartbeat(), options.limits.pingIntervalMs);
    ping.unref();
    ws.on('close', (code) => {
      unregister();
      clearInterval(ping);
      this.#onClose(code);
    });
    ws.on('error', () => ws.terminate());
  }

  /** Live notifications that pile up behind a socket that does not drain mean the client is too slow. */
  #behind(): boolean {
    const { messageBufferCapacity, messageBufferBytes } = this.#options.limits;
    return (
      (this.#unflushed >= messageBufferCapacity || this.#unflushedBytes >= messageBufferBytes) &&
      this.#notDraining()
    );
  }

  /**
   * The socket holds bytes the kernel did not take. Frames held back in this turn's cork window do not
   * count: what matters is whether the socket was draining when the window opened.
   */
  #notDraining(): boolean {
    return (this.#corked ? this.#corked.bufferedBefore : this.#ws.bufferedAmount) > 0;
  }

  /**
   * The next request waits until the client has read what it was sent down to a low mark: a client
   * that does not read has at most one answer built for it, not a buffer's worth.
   */
  #mustWait(): boolean {
    const { messageBufferCapacity, messageBufferBytes } = this.#options.limits;
    const lowMark = Math.min(REQUEST_LOW_MARK, messageBufferBytes);
    if (this.#unflushed < messageBufferCapacity && this.#unflushedBytes <= lowMark) return false;
    // Judged on what the kernel took, not on a cork window: write the window out first.
    this.#uncork();
    return this.#ws.bufferedAmount > 0;
  }

  /**
   * Whether a message of `bytes` may go out: not once closed, and a live notification not to a client
   * that stopped reading (it is closed instead). When it may, it is counted as unflushed and corked.
   */
  #admit(bytes: number, notification: boolean): boolean {
    if (this.#done) return false;
    // A burst to a healthy socket is written through at once (bufferedAmount stays 0).
    if (notification && this.#behind()) {
      this.#closeSlow('its send buffer is full');
      return false;
    }
    this.#unflushed += 1;
    this.#unflushedBytes += bytes;
    this.#options.outbound.add(bytes);
    this.#cork(bytes);
    return true;
  }

  #send(text: Answer, notification: boolean): void {
    if (typeof text !== 'string') {
      this.#sendParts(text, notification);
      return;
    }
    // UTF-16 length: exact for the ASCII JSON sent here, and free (byteLength would flatten the string).
    const bytes = text.length;
    if (this.#admit(bytes, notification)) this.#ws.send(text, () => this.#flushed(bytes));
  }

  /**
   * A large answer as one message in fragments of about 64 KiB, written back to back (nothing can
   * come between them): its parts are framed as they are, never joined into one copy.
   */
  #sendParts(answer: JsonParts, notification: boolean): void {
    const { bytes } = answer;
    if (!this.#admit(bytes, notification)) return;
    let previous: Buffer | null = null;
    for (const chunk of answerChunks(answer)) {
      if (previous) this.#ws.send(previous, { binary: false, fin: false });
      previous = chunk;
    }
    this.#ws.send(previous ?? Buffer.alloc(0), { binary: false, fin: true }, () => this.#flushed(bytes));
  }

  /**
   * Holds this frame back until the end of the turn, so a block's notifications to this connection
   * go out in one write instead of one syscall each. A full window is written at once.
   */
  #cork(bytes: number): void {
    const { messageBufferCapacity, messageBufferBytes } = this.#options.limits;
    const window = this.#corked;
    if (
      window &&
      window.messages < Math.min(CORK_MESSAGES, messageBufferCapacity) &&
      window.bytes < messageBufferBytes
    ) {
      window.messages += 1;
      window.bytes += bytes;
      return;
    }
    this.#uncork();
    const next: CorkWindow = { bufferedBefore: this.#ws.bufferedAmount, messages: 1, bytes };
    this.#corked = next;
    this.#socket.cork();
    process.nextTick(() => {
      if (this.#corked === next) this.#uncork();
    });
  }

  /** Writes the open cork window out now. */
  #uncork(): void {
    if (!this.#corked) return;
    this.#corked = null;
    this.#socket.uncork();
  }

  /**
   * A live notification as one message in two frames: the subscriber's head, then the tail every
   * subscriber of the update shares (sent as is, never copied per subscriber). The two frames are
   * written back to back, so nothing else can come between them.
   */
  #sendNotification(head: string, tail: Buffer): void {
    const bytes = head.length + tail.length;
    if (!this.#admit(bytes, true)) return;
    this.#ws.send(head, { fin: false });
    this.#ws.send(tail, { fin: true }, () => this.#flushed(bytes));
  }

  #flushed(bytes: number): void {
    if (this.#done) return;
    this.#unflushed -= 1;
    this.#unflushedBytes -= bytes;
    this.#options.outbound.remove(bytes);
    if (this.#drained && !this.#mustWait()) {
      const resolve = this.#drained;
      this.#drained = null;
      resolve();
    }
  }

  /** Stops counting this connection's unflushed bytes (they go with the socket). */
  #release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#options.outbound.remove(this.#unflushedBytes);
    this.#unflushedBytes = 0;
  }

  #closeSlow(why: string): void {
    if (this.#done) return;
    const { metrics, logger } = this.#options;
    metrics.slowConsumers.inc();
    logger.warn(
      { remote: this.#remote, buffered: this.#unflushed, bytes: this.#unflushedBytes, why },
      'closing a connection that does not read its messages',
    );
    this.#release();
    this.#ws.close(1008, 'send buffer full: consumer too slow');
    // The close frame queues behind what the kernel already holds; give the peer a moment to read it.
    setTimeout(() => this.#ws.terminate(), 5000).unref();
  }

  #receive(text: string): void {
    const { messageBufferCapacity } = this.#options.limits;
    this.#queue.push(text);
    this.#queuedBytes += text.length;
    if (this.#queue.length >= messageBufferCapacity || this.#queuedBytes >= RECEIVE_QUEUE_BYTES)
      this.#ws.pause();
    void this.#work();
  }

  /** Answers queued requests in arrival order, each once the client has read enough of the last. */
  async #work(): Promise<void> {
    if (this.#working) return;
    this.#working = true;
    const { messageBufferCapacity } = this.#options.limits;
    while (this.#queue.length > 0 && !this.#done) {
      if (this.#mustWait()) await new Promise<void>((resolve) => (this.#drained = resolve));
      // Closed while waiting: the queue was dropped with the connection.
      const text = this.#queue.shift();
      if (text === undefined || this.#done) break;
      this.#queuedBytes -= text.length;
      if (
        this.#ws.isPaused &&
        this.#queue.length < messageBufferCapacity &&
        this.#queuedBytes < RECEIVE_QUEUE_BYTES
      )
        this.#ws.resume();
      await this.#session.handleText(text);
    }
    this.#working = false;
  }

  #heartbeat(): void {
    if (!this.#alive) {
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    this.#ws.ping();
  }

  #onClose(code: number): void {
    this.#release();
    this.#queue.length = 0;
    this.#drained?.();
    this.#session.close();
    this.#options.metrics.sessionsClosed.inc();
    if (code === 1009)
      this.#options.logger.warn(
        { remote: this.#remote, limit: this.#options.limits.maxRequestSize },
        'closed a connection that sent a frame over the request size limit',
      );
  }
}
