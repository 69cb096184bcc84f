import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Endpoint {
  readonly port: number;
  /** ws:// URL. */
  readonly url: string;
  /** http:// URL. */
  readonly httpUrl: string;
}

/**
 * Starts `server` listening and returns its endpoint (port 0 gets a free port). `busyHint` says what
 * to do about a port in use, in the words of the command that chose it.
 */
export async function listen(
  server: Server,
  host: string,
  port: number,
  busyHint = 'another sidecar? choose --port',
): Promise<Endpoint> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE')
        reject(new Error(`cannot listen on ${where}: the port is in use (${busyHint})`));
      else if (error.code === 'EACCES')
        reject(new Error(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`));
      else reject(new Error(`cannot listen on ${where}: ${error.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { port: actual, url: `ws://${shown}:${actual}`, httpUrl: `http://${shown}:${actual}` };
}
