/**
 * One port: WebSocket JSON-RPC (with subscriptions) and, through Koa, `POST /` JSON-RPC,
 * `GET /health`, `GET /ready`, `GET /metrics`, and extra routes (the dashboard at `GET /`). Limits follow the node's flags and defaults.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import Koa from 'koa';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log.ts';
import { readBody } from './body.ts';
import { ErrorCode, errorResponse, type RpcHandlers, RpcSession } from './jsonrpc.ts';
import { listen } from './listen.ts';
import type { Metrics } from './metrics.ts';

export interface ServerLimits {
  readonly maxConnections: number;
  readonly maxSubscriptionsPerConnection: number;
  /** Bytes. */
  readonly maxRequestSize: number;
  /** Bytes. */
  readonly maxResponseSize: number;
  readonly maxBatchLength: number;
  /** Messages queued behind a socket that is not draining; beyond this the consumer is too slow. */
  readonly messageBufferCapacity: number;
  readonly pingIntervalMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 100,
  maxSubscriptionsPerConnection: 1024,
  maxRequestSize: 15 * 1024 * 1024,
  maxResponseSize: 15 * 1024 * 1024,
  maxBatchLength: 1000,
  messageBufferCapacity: 64,
  pingIntervalMs: 30_000,
};

export interface HealthReport {
  readonly ok: boolean;
  readonly reason?: string;
  readonly [key: string]: unknown;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly handlers: RpcHandlers;
  readonly limits?: Partial<ServerLimits>;
  /** `*` for any origin, or a list of allowed origins. */
  readonly cors?: '*' | readonly string[];
  readonly health: () => HealthReport;
  readonly ready: () => HealthReport;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Extra Koa routes (the dashboard), tried before the JSON-RPC endpoint. */
  readonly routes?: Koa.Middleware;
}

export interface RpcServer {
  readonly port: number;
  readonly url: string;
  readonly httpUrl: string;
  readonly connectionCount: number;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RpcServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const { metrics, logger, handlers } = options;
  const sessionOptions = {
    maxSubscriptions: limits.maxSubscriptionsPerConnection,
    maxBatchLength: limits.maxBatchLength,
    maxResponseSize: limits.maxResponseSize,
    observer: metrics.observer,
    onInternalError: (method: string, error: unknown) =>
      logger.error(
        { method, err: (error as Error).message, stack: (error as Error).stack },
        'internal error in an RPC handler',
      ),
  };

  const app = new Koa();
  app.silent = true;
  app.on('error', (error: Error) => logger.warn({ err: error.message }, 'HTTP request failed'));
  app.use(async (ctx, next) => {
    const origin = ctx.get('origin');
    if (origin && options.cors && (options.cors === '*' || options.cors.includes(origin))) {
      ctx.set('access-control-allow-origin', origin);
      ctx.set('access-control-allow-headers', 'content-type');
      ctx.set('access-control-allow-methods', 'GET, POST, OPTIONS');
      ctx.vary('origin');
    }
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    await next();
  });
  app.use(async (ctx, next) => {
    if (ctx.method !== 'GET') return next();
    const report = ctx.path === '/health' ? options.health() : ctx.path === '/ready' ? options.ready() : null;
    if (report) {
      ctx.status = report.ok ? 200 : 503;
      ctx.body = report;
      return;
    }
    if (ctx.path === '/metrics') {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
      return;
    }
    return next();
  });
  if (options.routes) app.use(options.routes);
  app.use(async (ctx) => {
    if (ctx.method !== 'POST' || ctx.path !== '/') {
      ctx.status = 404;
      ctx.body = {
        error:
          'not found: use POST / for JSON-RPC, GET / for the dashboard, or GET /health, /ready, /metrics',
      };
      return;
    }
    const body = await readBody(ctx.req, limits.maxRequestSize);
    ctx.type = 'application/json';
    if (body === null) {
      ctx.status = 413;
      ctx.body = JSON.stringify(
        errorResponse(
          null,
          ErrorCode.requestTooBig,
          'Request is too big',
          `Exceeded max limit of ${limits.maxRequestSize}`,
        ),
      );
      return;
    }
    const out: string[] = [];
    const session = new RpcSession(handlers, (text) => out.push(text), {
      ...sessionOptions,
      subscriptionsAllowed: false,
    });
    await session.handleText(body);
    session.close();
    ctx.status = 200;
    ctx.body = out[0] ?? '';
  });

  const server: Server = createServer(app.callback());
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxRequestSize });
  server.on('upgrade', (request, socket: Socket, head) => {
    if (sockets.size >= limits.maxConnections) {
      metrics.connectionsRefused.inc();
      logger.warn(
        { limit: limits.maxConnections, remote: socket.remoteAddress },
        'connection refused: too many connections',
      );
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nToo many connections\n',
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    sockets.add(ws);
    metrics.sessionsOpened.inc();
    const remote = request.socket.remoteAddress;
    let unflushed = 0;
    let closed = false;
    const send = (text: string) => {
      if (closed) return;
      // A burst to a healthy socket is written through at once (bufferedAmount stays 0); only
      // messages piling up behind a socket that does not drain count against the capacity.
      if (unflushed >= limits.messageBufferCapacity && ws.bufferedAmount > 0) {
        closed = true;
        metrics.slowConsumers.inc();
        logger.warn(
          { remote, buffered: unflushed, bytes: ws.bufferedAmount },
          'closing a connection that does not read its messages (send buffer full)',
        );
        ws.close(1008, 'send buffer full: consumer too slow');
        // The close frame queues behind what the kernel already holds; give the peer a moment to read it.
        setTimeout(() => ws.terminate(), 5000).unref();
        return;
      }
      unflushed += 1;
      ws.send(text, () => {
        unflushed -= 1;
      });
    };
    const session = new RpcSession(handlers, send, { ...sessionOptions, subscriptionsAllowed: true });
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
    // Requests on one connection are answered in arrival order.
    let queue = Promise.resolve();
    ws.on('message', (data) => {
      queue = queue.then(() => session.handleText(data.toString()));
    });
    ws.on('close', (code) => {
      closed = true;
      clearInterval(ping);
      sockets.delete(ws);
      session.close();
      metrics.sessionsClosed.inc();
      if (code === 1009)
        logger.warn(
          { remote, limit: limits.maxRequestSize },
          'closed a connection that sent a frame over the request size limit',
        );
    });
    ws.on('error', () => ws.terminate());
  });

  const endpoint = await listen(server, options.host, options.port);
  return {
    ...endpoint,
    get connectionCount() {
      return sockets.size;
    },
    async close() {
      for (const ws of sockets) ws.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => setTimeout(resolve, 50));
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
