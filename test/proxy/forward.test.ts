/**
 * Forwarded calls of one connection wait for the node together: with a node 100 ms away, twenty
 * calls sent at once come back in about one round trip, not twenty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WsProvider } from '@polkadot/api';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { type TcpRelay, tcpRelay } from '../helpers/relay.ts';
import { sidecarOn } from '../helpers/sidecar.ts';

const ROUND_TRIP_MS = 100;
const CALLS = 20;

describe('relay proxy: forwarded calls in flight together', () => {
  let devnet: Devnet;
  let relay: TcpRelay;
  let sidecar: Sidecar;
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: CALLS + 2 });
    relay = await tcpRelay(Number(new URL(devnet.url).port), ROUND_TRIP_MS);
    sidecar = await sidecarOn(relay.url);
  });
  after(async () => {
    await sidecar?.close();
    await relay?.close();
    await devnet?.close();
  });

  it("a forwarded call over HTTP POST gets the node's answer", async () => {
    const call = async (url: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'chain_getBlockHash', params: [3] }),
      });
      return response.json();
    };
    const expected = await call(devnet.url.replace('ws://', 'http://'));
    assert.deepEqual(await call(sidecar.server.url.replace('ws://', 'http://')), expected);
  });

  it(`${CALLS} calls on one connection to a node ${ROUND_TRIP_MS} ms away take a few round trips, each answered as the node answers`, async () => {
    const direct = new WsProvider(devnet.url);
    const proxied = new WsProvider(sidecar.server.url);
    await Promise.all([direct.isReady, proxied.isReady]);
    try {
      const numbers = Array.from({ length: CALLS }, (_, i) => i + 1);
      const expected = await Promise.all(numbers.map((n) => direct.send('chain_getBlockHash', [n])));
      await proxied.send('chain_getBlockHash', [0]); // the connection's first forwarded call is out of the way
      const start = performance.now();
      const answers = await Promise.all(numbers.map((n) => proxied.send('chain_getBlockHash', [n])));
      const elapsed = performance.now() - start;
      assert.deepEqual(answers, expected);
      // One after another this takes CALLS round trips (2,000 ms); together, about one (a loaded
      // machine adds some: half the serial time still tells the two apart).
      assert.ok(elapsed < (CALLS * ROUND_TRIP_MS) / 2, `${CALLS} calls took ${elapsed.toFixed(0)} ms`);
    } finally {
      await direct.disconnect();
      await proxied.disconnect();
    }
  });
});
