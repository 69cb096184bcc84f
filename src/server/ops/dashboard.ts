/**
 * `GET /`: the live dashboard. Three static files from `src/dashboard/`, read once at start and
 * served from memory; the page itself talks to the sidecar over the WebSocket JSON-RPC API.
 */
import { existsSync, readFileSync } from 'node:fs';
import type Koa from 'koa';

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** `src/dashboard/`, seen from this file in `src/server/ops/` or from the built bundle in `dist/`. */
const assetDir =
  [new URL('../../dashboard/', import.meta.url), new URL('../src/dashboard/', import.meta.url)].find((dir) =>
    existsSync(new URL('index.html', dir)),
  ) ?? new URL('../../dashboard/', import.meta.url);

/** The page may load only its own script and style, and talk only to the host that served it. */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function loadAssets(): Map<string, Asset> {
  const read = (name: string) => readFileSync(new URL(name, assetDir));
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: read('index.html') }],
    ['/dashboard/dashboard.js', { type: 'text/javascript; charset=utf-8', body: read('dashboard.js') }],
    ['/dashboard/dashboard.css', { type: 'text/css; charset=utf-8', body: read('dashboard.css') }],
  ]);
}

export function dashboardRoutes(): Koa.Middleware {
  const assets = loadAssets();
  return async (ctx, next) => {
    const asset = ctx.method === 'GET' || ctx.method === 'HEAD' ? assets.get(ctx.path) : undefined;
    if (!asset) return next();
    ctx.set('cache-control', 'no-cache');
    ctx.set('content-security-policy', contentSecurityPolicy);
    ctx.set('x-content-type-options', 'nosniff');
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
