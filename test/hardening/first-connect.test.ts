/**
 * A sidecar started before its node: the first connection is retried until the node answers, and
 * exactly one connection is left open once it does (no second socket from a reconnect timer).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NodeClient } from '../../src/chain/node.ts';
import { startDevnet } from '../../src/devnet/index.ts';
import { tcpRelay } from '../helpers/relay.ts';

describe('first connection to a node that is not up yet', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('retries until the node answers, then holds exactly one connection', async () => {
    const devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 1 });
    cleanups.push(() => devnet.close());
    const relay = await tcpRelay(devnet.port);
    cleanups.push(() => relay.close());
    await relay.cut(); // the node is down when the sidecar starts
    const connecting = NodeClient.connect(relay.url, { reconnectMs: 100, timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 450));
    await relay.restore();
    const node = await connecting;
    cleanups.push(() => node.disconnect());
    await new Promise((resolve) => setTimeout(resolve, 500)); // any stray reconnect timer would have fired
    assert.equal(devnet.connectionCount, 1);
    assert.equal(await node.send('system_chain'), 'Devnet (simulated Polkadot relay chain)');
  });
});
