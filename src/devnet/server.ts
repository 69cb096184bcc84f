/** Serves the devnet's JSON-RPC over WebSocket and HTTP POST on one port. */
import { createServer, type Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { readBody } from '../server/transport/body.ts';
import {
  answerText,
  ErrorCode,
  errorResponse,
  type RpcHandlers,
  RpcSession,
} from '../server/transport/jsonrpc.ts';
import { listen } from '../server/transport/listen.ts';

const MAX_FRAME = 15 * 1024 * 1024;

export interface RpcListener {
  readonly port: number;
  readonly url: string;
  readonly httpUrl: string;
  /** Closes every open connection abruptly (as a crashed node would). */
  dropConnections(): void;
  readonly connectionCount: number;
  /** Subscriptions open on all connections (what a client left running here). */
  readonly subscriptionCount: number;
  close(): Promise<void>;
}

/**
 * Serves `handlers` at `/`, and each of `paths` (e.g. `/para/2000`, a para node) at its own path,
 * over WebSocket and HTTP POST; any other path is refused (404, or WebSocket close 1008).
 */
export async function listenRpc(
  handlers: RpcHandlers,
  options: { port: number; host: string; busyHint?: string; paths?: ReadonlyMap<string, RpcHandlers> },
): Promise<RpcListener> {
  const sessionOptions = { maxSubscriptions: 1024, maxBatchLength: 1000 };
  const handlersAt = (url: string | undefined): RpcHandlers | null => {
    const path = (url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    return path === '/' ? handlers : (options.paths?.get(path) ?? null);
  };
  const server: Server = createServer(async (request, response) => {
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const routed = handlersAt(request.url);
    if (!routed) {
      response.writeHead(404).end();
      return;
    }
    const body = await readBody(request, MAX_FRAME).catch(() => null);
    const out: string[] = [];
    if (body === null) {
      out.push(JSON.stringify(errorResponse(null, ErrorCode.requestTooBig, 'Request is too big')));
    } else {
      const session = new RpcSession(routed, (text) => out.push(answerText(text)), {
        ...sessionOptions,
        subscriptionsAllowed: false,
      });
      await session.handleText(body);
      session.close();
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(out[0] ?? '');
  });
  const sockets = new Set<WebSocket>();
  const sessions = new Set<RpcSession>();
  const wss = new WebSocketServer({ server, maxPayload: MAX_FRAME });
  // It repeats the server's errors; listen() reports those (a port in use) as one line.
  wss.on('error', () => undefined);
  wss.on('connection', (socket, request) => {
    const routed = handlersAt(request.url);
    if (!routed) {
      socket.close(1008, `nothing is served at ${request.url}`);
      return;
    }
    sockets.add(socket);
    const session = new RpcSession(routed, (text) => socket.send(answerText(text)), {
      ...sessionOptions,
      subscriptionsAllowed: true,
    });
    sessions.add(session);
    // Requests on one connection are answered in arrival order.
    let queue = Promise.resolve();
    socket.on('message', (data) => {
      queue = queue.then(() => session.handleText(data.toString()));
    });
    socket.on('close', () => {
      sockets.delete(socket);
      sessions.delete(session);
      session.close();
    });
    socket.on('error', () => socket.terminate());
  });
  const endpoint = await listen(
    server,
    options.host,
    options.port,
    options.busyHint ?? 'a node or another devnet? choose --port',
  );
  return {
    ...endpoint,
    get connectionCount() {
      return sockets.size;
    },
    get subscriptionCount() {
      let count = 0;
      for (const session of sessions) count += session.subscriptionCount;
      return count;
    },
    dropConnections() {
      for (const socket of sockets) socket.terminate();
    },
    async close() {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
