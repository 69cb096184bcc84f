/**
 * Proxied subscriptions across a node restart: after it, an unsubscribe leaves the node with only the
 * sidecar's own subscriptions, and a subscription the node refuses to renew ends with an error
 * notification instead of going silent.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startDevnet } from '../../src/devnet/index.ts';
import { notReadyNode } from '../helpers/not-ready-node.ts';
import { tcpRelay } from '../helpers/relay.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, sidecarOn, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

/** Ingest's own: finalized heads and new heads. */
const SIDECAR_OWN = 2;

describe('proxied subscriptions across a node restart', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('after a restart, unsubscribing leaves the node with only the sidecar own subscriptions', async () => {
    const stack = await startStack({ initialBlocks: 3 });
    cleanups.push(() => stack.close());
    await advance(stack, 2);
    const { devnet, sidecar } = stack;
    await eventually(() => devnet.subscriptionCount === SIDECAR_OWN, { what: 'ingest subscribed' });

    const client = await rpcSocket(sidecar.server.url);
    cleanups.push(() => client.close());
    const heads = await client.call('chain_subscribeNewHeads');
    const storageKey = '0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7';
    const storage = await client.call('state_subscribeStorage', [[storageKey]]);
    assert.equal(typeof heads.result, 'string');
    assert.equal(typeof storage.result, 'string');
    assert.equal(devnet.subscriptionCount, SIDECAR_OWN + 2);

    devnet.dropConnections(); // the node restarts: it forgets every subscription
    await eventually(() => sidecar.node.isConnected && devnet.subscriptionCount === SIDECAR_OWN + 2, {
      what: 'subscriptions renewed on the node',
    });
    const seen = client.notifications.length;
    await devnet.newBlocks(1);
    await eventually(() => client.notifications.length > seen, {
      what: 'heads flow again after the restart',
    });

    const ends = [
      await client.call('chain_unsubscribeNewHeads', [heads.result]),
      await client.call('state_unsubscribeStorage', [storage.result]),
    ];
    assert.deepEqual(
      ends.map((e) => e.result),
      [true, true],
    );
    await eventually(() => devnet.subscriptionCount === SIDECAR_OWN, {
      what: `the node holds only the sidecar's own ${SIDECAR_OWN} subscriptions (holds ${devnet.subscriptionCount})`,
    });
    // A client that never unsubscribes: closing its connection releases its subscriptions too.
    const other = await rpcSocket(sidecar.server.url);
    await other.call('chain_subscribeFinalizedHeads');
    assert.equal(devnet.subscriptionCount, SIDECAR_OWN + 1);
    other.close();
    await eventually(() => devnet.subscriptionCount === SIDECAR_OWN, { what: 'released at close' });
  });

  it('a subscription the node will not renew ends with an error notification, never silent', async () => {
    const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, initialBlocks: 3 });
    cleanups.push(() => devnet.close());
    const notReady = await notReadyNode();
    cleanups.push(() => notReady.close());
    const relay = await tcpRelay(devnet.port);
    cleanups.push(() => relay.close());
    const sidecar = await sidecarOn(relay.url);
    cleanups.push(() => sidecar.close());
    const client = await rpcSocket(sidecar.server.url);
    cleanups.push(() => client.close());
    const heads = await client.call('chain_subscribeNewHeads');
    assert.equal(typeof heads.result, 'string');

    // The node goes away; what answers on its port next accepts connections but is not ready.
    relay.retarget(notReady.port);
    await relay.cut();
    await relay.restore();
    const ended = await eventually(
      () => client.notifications.find((n) => n.params?.subscription === heads.result && n.params?.error),
      { what: 'an error notification for the subscription' },
    );
    assert.equal(ended.method, 'chain_newHead');
    assert.equal(ended.params?.error?.code, -32002);
    assert.match(ended.params?.error?.message ?? '', /node is starting/);
    const metric = await sidecar.metrics.registry.getSingleMetricAsString(
      'xcmp_upstream_subscriptions_ended',
    );
    assert.match(metric, /xcmp_upstream_subscriptions_ended 1\b/);
    // Unsubscribing an ended subscription answers false: it is gone.
    assert.equal((await client.call('chain_unsubscribeNewHeads', [heads.result])).result, false);

    // The real node comes back: ingest renews its own head subscriptions and follows again.
    relay.retarget(devnet.port);
    await relay.cut();
    await relay.restore();
    await devnet.newBlocks(3);
    await storedUpTo(sidecar.store, devnet.chain.finalized.number);
    await eventually(() => devnet.subscriptionCount === SIDECAR_OWN, { what: 'ingest subscribed again' });
  });
});
