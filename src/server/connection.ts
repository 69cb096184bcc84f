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
import type { Logger } from '../log.ts';
import type { RpcSession } from './jsonrpc.ts';
import type { Metrics } from './metrics.ts';

/** Unread bytes below which a connection's next request is worked on. */
const REQUEST_LOW_MARK = 1024 * 1024;

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

export type SessionFactory = (send: (text: string, notification: boolean) => void) => RpcSession;

export function serveConnection(
  ws: WebSocket,
  remote: string | undefined,
  createSession: SessionFactory,
  options: { limits: ConnectionLimits; outbound: OutboundBytes; metrics: Metrics; logger: Logger },
): void {
  const { limits, outbound, metrics, logger } = options;
  let unflushed = 0;
  let unflushedBytes = 0;
  let closed = false;
  let drained: (() => void) | null = null;
  /** At close, what was never flushed leaves the process-wide total at once. */
  let accountedAtClose = false;
  const behind = () =>
    (unflushed >= limits.messageBufferCapacity || unflushedBytes >= limits.messageBufferBytes) &&
    ws.bufferedAmount > 0;
  // The next request waits until the client has read what it was sent down to a low mark: a client
  // that does not read has at most one answer built for it, not a buffer's worth.
  const lowMark = Math.min(REQUEST_LOW_MARK, limits.messageBufferBytes);
  const mustWait = () =>
    (unflushed >= limits.messageBufferCapacity || unflushedBytes > lowMark) && ws.bufferedAmount > 0;

  const closeSlow = (why = 'its send buffer is full') => {
    if (closed) return;
    closed = true;
    accountedAtClose = true;
    outbound.remove(unflushedBytes);
    metrics.slowConsumers.inc();
    logger.warn(
      { remote, buffered: unflushed, bytes: unflushedBytes, why },
      'closing a connection that does not read its messages',
    );
    unflushedBytes = 0;
    ws.close(1008, 'send buffer full: consumer too slow');
    // The close frame queues behind what the kernel already holds; give the peer a moment to read it.
    setTimeout(() => ws.terminate(), 5000).unref();
  };

  const send = (text: string, notification: boolean) => {
    if (closed) return;
    // A burst to a healthy socket is written through at once (bufferedAmount stays 0); only what
    // piles up behind a socket that does not drain counts against the buffer.
    if (notification && behind()) {
      closeSlow();
      return;
    }
    // UTF-16 length: exact for the ASCII JSON sent here, and free (byteLength would flatten the string).
    const bytes = text.length;
    unflushed += 1;
    unflushedBytes += bytes;
    outbound.add(bytes);
    ws.send(text, () => {
      if (closed && accountedAtClose) return;
      unflushed -= 1;
      unflushedBytes -= bytes;
      outbound.remove(bytes);
      if (drained && !mustWait()) {
        const resolve = drained;
        drained = null;
        resolve();
      }
    });
  };
  const session = createSession(send);
  const unregister = outbound.register({
    stuckBytes: () => (ws.bufferedAmount > 0 ? unflushedBytes : 0),
    closeSlow,
  });

  const queue: string[] = [];
  let queuedBytes = 0;
  let working = false;
  const work = async () => {
    if (working) return;
    working = true;
    while (queue.length > 0 && !closed) {
      if (mustWait()) await new Promise<void>((resolve) => (drained = resolve));
      const text = queue.shift()!;
      queuedBytes -= text.length;
      if (ws.isPaused && queue.length < limits.messageBufferCapacity && queuedBytes < limits.maxRequestSize)
        ws.resume();
      await session.handleText(text);
    }
    working = false;
  };
  ws.on('message', (data) => {
    const text = data.toString();
    queue.push(text);
    queuedBytes += text.length;
    if (queue.length >= limits.messageBufferCapacity || queuedBytes >= limits.maxRequestSize) ws.pause();
    void work();
  });

  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const ping = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, limits.pingIntervalMs);
  ping.unref();

  ws.on('close', (code) => {
    unregister();
    if (!accountedAtClose) outbound.remove(unflushedBytes);
    closed = true;
    accountedAtClose = true;
    unflushedBytes = 0;
    queue.length = 0;
    drained?.();
    clearInterval(ping);
    session.close();
    metrics.sessionsClosed.inc();
    if (code === 1009)
      logger.warn(
        { remote, limit: limits.maxRequestSize },
        'closed a connection that sent a frame over the request size limit',
      );
  });
  ws.on('error', () => ws.terminate());
}
