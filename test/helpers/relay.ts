/** A TCP relay on loopback that a test can cut and restore, to simulate losing the node. */

import type { AddressInfo } from 'node:net';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';

export interface TcpRelay {
  readonly port: number;
  readonly url: string;
  /** Closes every relayed connection and stops accepting new ones. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  /** Sends new connections to another port from now on (a node restarted elsewhere, or not ready). */
  retarget(port: number): void;
  close(): Promise<void>;
}

/** Holds each chunk `delayMs` before passing it on, in order: a node far away. */
function delayed(delayMs: number): Transform {
  return new Transform({
    transform(chunk, _encoding, done) {
      // Latency, not bandwidth: each chunk waits its own delay while the next ones keep coming.
      setTimeout(() => this.push(chunk), delayMs);
      done();
    },
    flush(done) {
      setTimeout(done, delayMs);
    },
  });
}

/** `answerDelayMs`: what the node sends back is held that long (a round trip to a distant node). */
export async function tcpRelay(initialTarget: number, answerDelayMs = 0): Promise<TcpRelay> {
  let targetPort = initialTarget;
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream);
        if (answerDelayMs > 0) upstream.pipe(delayed(answerDelayMs)).pipe(client);
        else upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  };
  await listen();
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    cut: stop,
    restore: listen,
    retarget: (port) => {
      targetPort = port;
    },
    close: stop,
  };
}
