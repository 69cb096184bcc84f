/** A raw JSON-RPC WebSocket client for tests that need to see every frame as sent. */
import WebSocket from 'ws';

export interface RpcFrame {
  readonly id?: unknown;
  readonly result?: unknown;
  readonly error?: { code: number; message: string; data?: unknown };
  readonly method?: string;
  readonly params?: { subscription: string; result?: unknown; error?: { code: number; message: string } };
}

export interface RpcSocket {
  readonly socket: WebSocket;
  /** Every notification received so far, in order. */
  readonly notifications: RpcFrame[];
  /** Sends one request and resolves with the answer carrying its id. */
  call(method: string, params?: unknown[]): Promise<RpcFrame>;
  /** Sends raw text; resolves with the next non-notification frame (an answer or a batch). */
  raw(text: string): Promise<unknown>;
  close(): void;
}

export async function rpcSocket(url: string, headers: Record<string, string> = {}): Promise<RpcSocket> {
  const socket = new WebSocket(url, { headers, maxPayload: 256 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const notifications: RpcFrame[] = [];
  const waiting = new Map<unknown, (frame: RpcFrame) => void>();
  const rawWaiting: ((value: unknown) => void)[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as RpcFrame | RpcFrame[];
    if (!Array.isArray(frame) && frame.method !== undefined) {
      notifications.push(frame);
      return;
    }
    const id = Array.isArray(frame) ? undefined : frame.id;
    const resolve = waiting.get(id);
    if (resolve) {
      waiting.delete(id);
      resolve(frame as RpcFrame);
      return;
    }
    rawWaiting.shift()?.(frame);
  });
  let nextId = 1;
  return {
    socket,
    notifications,
    call(method, params = []) {
      const id = `t${nextId++}`;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },
    raw(text) {
      return new Promise((resolve) => {
        rawWaiting.push(resolve);
        socket.send(text);
      });
    },
    close: () => socket.close(),
  };
}

/**
 * Sends a frame followed by a sentinel call; frames on one connection are answered in order, so
 * what arrives before the sentinel's answer is everything the frame produced (maybe nothing).
 */
export async function exchanger(url: string) {
  const client = await rpcSocket(url);
  client.socket.on('close', (code, reason) => {
    if (code !== 1000 && code !== 1005)
      process.stderr.write(`# exchanger closed by the server: ${code} ${reason}\n`);
  });
  let sentinel = 0;
  const received: unknown[] = [];
  let waiting: { id: string; resolve: (frames: unknown[]) => void } | null = null;
  client.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { id?: unknown };
    if (waiting && !Array.isArray(frame) && frame.id === waiting.id) {
      const { resolve } = waiting;
      waiting = null;
      resolve(received.splice(0));
      return;
    }
    received.push(frame);
  });
  return {
    exchange(text: string): Promise<unknown[]> {
      const id = `sentinel-${sentinel++}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no answer within 10 s after: ${text.slice(0, 200)}`)),
          10_000,
        );
        waiting = {
          id,
          resolve: (frames) => {
            clearTimeout(timer);
            resolve(frames);
          },
        };
        client.socket.send(text);
        client.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'rpc_methods' }));
      });
    },
    close: () => client.close(),
  };
}
