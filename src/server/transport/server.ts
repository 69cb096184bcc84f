/**
 * One port: WebSocket JSON-RPC (with subscriptions) and, through Koa, `POST /` JSON-RPC,
 * `GET /health`, `GET /ready`, `GET /metrics`, and extra routes (the dashboard at `GET /`). Limits follow the node's flags and defaults.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { readBody } from './body.ts';
import { OutboundBytes, serveConnection } from './connection.ts';
import {
  type Answer,
  answerBytes,
  answerChunks,
  ErrorCode,
  errorResponse,
  type RpcHandlers,
  RpcSession,
} from './jsonrpc.ts';
import { listen } from './listen.ts';
import { nextTurn } from './turns.ts';

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
  /** The same in bytes. */
  readonly messageBufferBytes: number;
  /** Bytes written and not yet flushed across all connections; beyond it the slowest reader is closed. */
  readonly maxOutboundBytes: number;
  readonly pingIntervalMs: number;
}

/** Connections accepted beyond --rpc-max-connections, so that refusals can be answered (503) rather than dropped. */
const CONNECTION_MARGIN = 16;

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 100,
  maxSubscriptionsPerConnection: 1024,
  maxRequestSize: 15 * 1024 * 1024,
  maxResponseSize: 15 * 1024 * 1024,
  maxBatchLength: 1000,
  messageBufferCapacity: 64,
  messageBufferBytes: 4 * 1024 * 1024,
  maxOutboundBytes: 64 * 1024 * 1024,
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
  /** Bytes written to clients and not yet flushed. */
  readonly outboundBytes: number;
  close(): Promise<void>;
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** A loopback name or address (`localhost`, `127.x.x.x`, `::1`, with or without brackets). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOST.test(host);
}

/**
 * The node's rule: no Origin header (non-browser clients) is allowed; otherwise it must be listed.
 * The dashboard this server serves itself is always allowed: a page whose origin is the very host
 * and port it asked for, when that host is a loopback name or the address this server listens on
 * (not any name: DNS rebinding would make any name look same-origin).
 */
export function originAllowed(
  origin: string | undefined,
  cors: ServerOptions['cors'],
  self?: { host: string | undefined; listenHost: string },
): boolean {
  if (!origin) return true;
  if (cors === '*' || cors?.includes(origin)) return true;
  if (!self?.host) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const hostname = url.hostname;
  const known = isLoopbackHost(hostname) || hostname === self.listenHost;
  return known && url.host === self.host;
}

function sessionOptionsFor(options: ServerOptions, limits: ServerLimits) {
  const { logger, metrics } = options;
  return {
    maxSubscriptions: limits.maxSubscriptionsPerConnection,
    maxBatchLength: limits.maxBatchLength,
    maxResponseSize: limits.maxResponseSize,
    observer: metrics.observer,
    takeTurn: nextTurn,
    batchesInProgress: { bytes: 0, max: limits.maxOutboundBytes },
    forwardsInProgress: { bytes: 0, max: limits.maxOutboundBytes },
    onInternalError: (method: string, error: unknown) =>
      logger.error(
        { method, err: (error as Error).message, stack: (error as Error).stack },
        'internal error in an RPC handler',
      ),
  };
}

type SessionOptionsBase = ReturnType<typeof sessionOptionsFor>;

function koaApp(
  options: ServerOptions,
  limits: ServerLimits,
  sessionOptions: SessionOptionsBase,
  outbound: OutboundBytes,
): Koa {
  const { metrics, logger, handlers } = options;
  const app = new Koa();
  app.silent = true;
  app.on('error', (error: Error) => logger.warn({ err: error.message }, 'HTTP request failed'));
  app.use(async (ctx, next) => {
    const origin = ctx.get('origin');
    if (origin && originAllowed(origin, options.cors, { host: ctx.get('host'), listenHost: options.host })) {
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
    const out: Answer[] = [];
    const session = new RpcSession(handlers, (text) => out.push(text), {
      ...sessionOptions,
      subscriptionsAllowed: false,
    });
    await session.handleText(body);
    await session.settled();
    session.close();
    const answer = out[0] ?? '';
    // Counted as unflushed until the response is written out, like a WebSocket send.
    const bytes = answerBytes(answer);
    outbound.add(bytes);
    let released = false;
    const release = () => {
      if (!released) outbound.remove(bytes);
      released = true;
    };
    ctx.res.once('finish', release);
    ctx.res.once('close', release);
    ctx.status = 200;
    if (typeof answer === 'string') ctx.body = answer;
    else {
      // A large answer goes out part by part, never joined.
      ctx.type = 'application/json';
      ctx.length = bytes;
      ctx.body = Readable.from(answerChunks(answer));
    }
  });
  return app;
}

export async function startServer(options: ServerOptions): Promise<RpcServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const { metrics, logger, handlers } = options;
  const outbound = new OutboundBytes(limits.maxOutboundBytes);
  const sessionOptions = sessionOptionsFor(options, limits);
  const server: Server = createServer(koaApp(options, limits, sessionOptions, outbound).callback());
  // The node's connection limit covers HTTP too. TCP connections past it (WebSockets included) are
  // dropped at accept; a margin lets WebSocket upgrades past the limit still get their 503 answer.
  server.maxConnections = limits.maxConnections + CONNECTION_MARGIN;
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxRequestSize });
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head) => {
    const refuse = (status: string, text: string) =>
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${text}\n`);
    const origin = request.headers.origin;
    if (!originAllowed(origin, options.cors, { host: request.headers.host, listenHost: options.host })) {
      metrics.connectionsRefused.inc();
      logger.warn(
        { origin, remote: socket.remoteAddress },
        'connection refused: origin not allowed by --rpc-cors',
      );
      refuse('403 Forbidden', 'Origin not allowed');
      return;
    }
    if (sockets.size >= limits.maxConnections) {
      metrics.connectionsRefused.inc();
      logger.warn(
        { limit: limits.maxConnections, remote: socket.remoteAddress },
        'connection refused: too many connections',
      );
      refuse('503 Service Unavailable', 'Too many connections');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    metrics.sessionsOpened.inc();
    serveConnection(
      ws,
      request.socket,
      request.socket.remoteAddress,
      (send, sendNotification) =>
        new RpcSession(handlers, send, { ...sessionOptions, subscriptionsAllowed: true, sendNotification }),
      {
        limits: {
          messageBufferCapacity: limits.messageBufferCapacity,
          messageBufferBytes: limits.messageBufferBytes,
          maxRequestSize: limits.maxRequestSize,
          pingIntervalMs: limits.pingIntervalMs,
        },
        outbound,
        metrics,
        logger,
      },
    );
  });

  const endpoint = await listen(server, options.host, options.port);
  return {
    ...endpoint,
    get connectionCount() {
      return sockets.size;
    },
    get outboundBytes() {
      return outbound.total;
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
