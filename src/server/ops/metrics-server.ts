/**
 * `GET /metrics` on a port of its own (`--prometheus-port`, as the node has), so Prometheus can be
 * let in without exposing the JSON-RPC port. Nothing else is served there.
 */
import { createServer } from 'node:http';
import { type Endpoint, listen } from '../transport/listen.ts';
import type { Metrics } from './metrics.ts';

export interface MetricsServer extends Endpoint {
  close(): Promise<void>;
}

export async function startMetricsServer(
  metrics: Metrics,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname;
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  const endpoint = await listen(server, host, port, 'another sidecar or a node? choose --prometheus-port');
  return {
    ...endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
