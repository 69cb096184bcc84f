/**
 * The new JSON-RPC spec through the proxy: a real polkadot-api client pointed at the sidecar sees
 * what the same client sees pointed at the devnet (finalized block, Hrmp.HrmpChannels, a runtime
 * call, follow events across a reorg) and reaches xcmp_* with its raw request API; chainHead_v1
 * operations, transactions and chainSpec_v1 pass; subscriptions of both specs survive a lost node or
 * end as the spec says; unsafe methods are refused in safe mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { xxhashAsHex } from '@polkadot/util-crypto';
import { createClient, type PolkadotClient } from 'polkadot-api';
import { getWsProvider } from 'polkadot-api/ws';
import WebSocket from 'ws';
import { MAX_PINNED_BLOCKS } from '../../src/devnet/chain-head.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { tcpRelay } from '../helpers/relay.ts';
import { type RpcFrame, rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, type Stack, sidecarOn, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

/** The part of polkadot-api's unsafe (descriptor-less) API this test uses. */
interface UnsafeApi {
  query: { Hrmp: { HrmpChannels: { getEntries(options: { at: string }): Promise<unknown[]> } } };
  apis: {
    ParachainHost: {
      inbound_hrmp_channels_contents(para: number, options: { at: string }): Promise<unknown[]>;
    };
    Core: { version(): Promise<unknown> };
  };
}

const unsafeApi = (client: PolkadotClient) => client.getUnsafeApi() as unknown as UnsafeApi;

function papi(url: string): PolkadotClient {
  return createClient(getWsProvider(url, { websocketClass: WebSocket as never }));
}

/** polkadot-api values as comparable JSON (it decodes u128 as bigint). */
const plain = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));

const followEvents = (frames: RpcFrame[], subscription: string) =>
  frames
    .filter((f) => f.method === 'chainHead_v1_followEvent' && f.params?.subscription === subscription)
    .map((f) => f.params!.result as { event: string; operationId?: string; [key: string]: unknown });

describe('new JSON-RPC spec (chainHead_v1, transaction_v1, chainSpec_v1) through the proxy', {
  timeout: 120_000,
}, () => {
  let stack: Stack;
  let direct: PolkadotClient;
  let proxied: PolkadotClient;
  before(async () => {
    stack = await startStack({ initialBlocks: 6 });
    await advance(stack, 2);
    direct = papi(stack.devnet.url);
    proxied = papi(stack.sidecar.server.url);
  });
  after(async () => {
    proxied?.destroy();
    direct?.destroy();
    await stack?.close();
  });

  it('a polkadot-api client reads the same finalized block, Hrmp.HrmpChannels and runtime calls as from the devnet', async () => {
    const [viaSidecar, fromDevnet] = await Promise.all([
      proxied.getFinalizedBlock(),
      direct.getFinalizedBlock(),
    ]);
    assert.deepEqual(viaSidecar, fromDevnet);
    assert.equal(viaSidecar.number, stack.devnet.chain.finalized.number);
    const channels = async (client: PolkadotClient) =>
      plain(await unsafeApi(client).query.Hrmp.HrmpChannels.getEntries({ at: viaSidecar.hash }));
    const proxiedChannels = (await channels(proxied)) as unknown[];
    assert.equal(proxiedChannels.length, stack.devnet.config.channels.length);
    assert.deepEqual(proxiedChannels, await channels(direct));
    const inbound = async (client: PolkadotClient) =>
      plain(
        await unsafeApi(client).apis.ParachainHost.inbound_hrmp_channels_contents(2000, {
          at: viaSidecar.hash,
        }),
      );
    const contents = (await inbound(proxied)) as unknown[];
    assert.ok(contents.length > 0, 'para 2000 has inbound channels');
    assert.deepEqual(contents, await inbound(direct));
    assert.deepEqual(
      plain(await unsafeApi(proxied).apis.Core.version()),
      plain(await unsafeApi(direct).apis.Core.version()),
    );
  });

  it('follow events across a devnet reorg are the same through the sidecar', async () => {
    const seen = (client: PolkadotClient) => {
      const blocks: string[] = [];
      const best: string[] = [];
      const finalized: string[] = [];
      const subscriptions = [
        client.blocks$.subscribe((b) => blocks.push(`${b.number}:${b.hash}`)),
        client.bestBlocks$.subscribe((list) => best.push(list[0]!.hash)),
        client.finalizedBlock$.subscribe((b) => finalized.push(b.hash)),
      ];
      return {
        blocks,
        best,
        finalized,
        stop: () => {
          for (const s of subscriptions) s.unsubscribe();
        },
      };
    };
    const a = seen(proxied);
    const b = seen(direct);
    await stack.devnet.newBlocks(2);
    const forked = await stack.devnet.fork(2);
    await stack.devnet.newBlocks(3);
    const head = stack.devnet.chain.best.hash;
    const finalized = stack.devnet.chain.finalized.hash;
    await eventually(
      () =>
        a.best.at(-1) === head &&
        b.best.at(-1) === head &&
        a.finalized.at(-1) === finalized &&
        b.finalized.at(-1) === finalized,
      {
        what: 'both clients at the new head',
      },
    );
    a.stop();
    b.stop();
    for (const block of forked)
      assert.ok(
        a.blocks.some((entry) => entry.endsWith(block.hash)),
        `fork block ${block.number} announced`,
      );
    assert.deepEqual(a.blocks, b.blocks);
    assert.deepEqual(a.best.at(-1), b.best.at(-1));
    assert.deepEqual(a.finalized, b.finalized);
  });

  it('xcmp_* methods are reachable from the same client (its raw request API)', async () => {
    const inbox = await proxied._request<{ messages: { id: string }[] }>('xcmp_getInbox', [
      2000,
      { limit: 5 },
    ]);
    assert.equal(inbox.messages.length, 5);
    const status = await proxied._request<{ synced: number }>('xcmp_status', []);
    assert.equal(status.synced, (await stack.sidecar.store.cursor())?.number);
  });

  it("rpc_methods through the sidecar lists the node's new-spec methods", async () => {
    const { methods } = await proxied._request<{ methods: string[] }>('rpc_methods', []);
    for (const method of [
      'chainHead_v1_follow',
      'chainHead_v1_storage',
      'chainHead_v1_unpin',
      'chainSpec_v1_genesisHash',
      'transactionWatch_v1_submitAndWatch',
      'transaction_v1_broadcast',
      'xcmp_subscribeInbox',
    ])
      assert.ok(methods.includes(method), `${method} is listed`);
  });

  it('chainHead_v1 operations on a follow: header, body, storage, call, continue, stopOperation, unpin; ids stay per connection', async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    const other = await rpcSocket(stack.sidecar.server.url);
    try {
      const follow = (await client.call('chainHead_v1_follow', [false])).result as string;
      await eventually(() =>
        followEvents(client.notifications, follow).some((e) => e.event === 'bestBlockChanged'),
      );
      const [initialized] = followEvents(client.notifications, follow);
      const hash = (initialized!.finalizedBlockHashes as string[])[0]!;
      const block = stack.devnet.chain.block(hash)!;
      const header = (await client.call('chainHead_v1_header', [follow, hash])).result as string;
      assert.match(header, /^0x[0-9a-f]+$/);
      assert.equal(header.slice(2, 66), block.parentHash.slice(2), 'SCALE header: the parent hash first');
      const done = async (started: RpcFrame, event: string) => {
        const { result, operationId } = started.result as { result: string; operationId: string };
        assert.equal(result, 'started', JSON.stringify(started));
        return eventually(() =>
          followEvents(client.notifications, follow).find(
            (e) => e.operationId === operationId && e.event === event,
          ),
        );
      };
      const body = await done(await client.call('chainHead_v1_body', [follow, hash]), 'operationBodyDone');
      assert.deepEqual(body.value, block.extrinsics);
      const channelsPrefix = `${xxhashAsHex('Hrmp', 128)}${xxhashAsHex('HrmpChannels', 128).slice(2)}`;
      const storage = await done(
        await client.call('chainHead_v1_storage', [
          follow,
          hash,
          [{ key: channelsPrefix, type: 'descendantsValues' }],
          null,
        ]),
        'operationStorageItems',
      );
      const expected = [...block.storage]
        .filter(([key]) => key.startsWith(channelsPrefix))
        .sort(([x], [y]) => (x < y ? -1 : 1));
      assert.deepEqual(
        (storage.items as { key: string; value: string }[]).map((i) => [i.key, i.value]),
        expected,
      );
      const call = await done(
        await client.call('chainHead_v1_call', [follow, hash, 'Core_version', '0x']),
        'operationCallDone',
      );
      assert.match(call.output as string, /^0x/);
      assert.equal((await client.call('chainHead_v1_continue', [follow, '1'])).result, null);
      assert.equal((await client.call('chainHead_v1_stopOperation', [follow, '1'])).result, null);
      assert.equal((await client.call('chainHead_v1_unpin', [follow, hash])).result, null);
      // Another connection naming this follow id does not reach it: the node knows no such subscription.
      assert.equal((await other.call('chainHead_v1_header', [follow, hash])).result, null);
      assert.equal((await client.call('chainHead_v1_unfollow', [follow])).result, true);
      assert.equal((await client.call('chainHead_v1_unfollow', [follow])).result, false, 'released once');
    } finally {
      client.close();
      other.close();
    }
  });

  it('transactionWatch_v1, transaction_v1 and chainSpec_v1 pass in safe mode; unsafe methods are refused as the node refuses them', async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      const watch = (await client.call('transactionWatch_v1_submitAndWatch', ['0x1234'])).result as string;
      await eventually(() => client.notifications.find((f) => f.params?.subscription === watch));
      const event = client.notifications.find((f) => f.params?.subscription === watch)!;
      assert.equal(event.method, 'transactionWatch_v1_watchEvent');
      assert.equal((event.params!.result as { event: string }).event, 'dropped');
      const operation = (await client.call('transaction_v1_broadcast', ['0x1234'])).result;
      assert.equal(typeof operation, 'string');
      assert.equal((await client.call('transaction_v1_stop', [operation])).result, null);
      assert.equal(
        (await client.call('chainSpec_v1_genesisHash')).result,
        stack.devnet.chain.blockAt(0)!.hash,
      );
      assert.equal(
        (await client.call('chainSpec_v1_chainName')).result,
        'Devnet (simulated Polkadot relay chain)',
      );
      const unsafe = await client.call('sudo_unstable_p2pDiscover', ['/ip4/127.0.0.1/tcp/30333']);
      assert.deepEqual(unsafe.error, { code: -32601, message: 'RPC call is unsafe to be called externally' });
      // Subscriptions by rule follow the same rules: unsafe refused, unknown not found, nothing held.
      const unsafeSubscription = await client.call('dev_subscribeBlocks', []);
      assert.deepEqual(unsafeSubscription.error, {
        code: -32601,
        message: 'RPC call is unsafe to be called externally',
      });
      const unknownSubscription = await client.call('statement_subscribeStatement', []);
      assert.deepEqual(unknownSubscription.error, { code: -32601, message: 'Method not found' });
      assert.equal((await client.call('statement_unsubscribeStatement', ['someone-elses'])).result, false);
      const unknown = await client.call('archive_v1_body', ['0x00']);
      assert.deepEqual(
        unknown.error,
        { code: -32601, message: 'Method not found' },
        'not on the node: not found, as the node says',
      );
    } finally {
      client.close();
    }
  });
});

describe('a follow the node stops', { timeout: 60_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 2, paras: [2000, 2001], validators: 4 });
  });
  after(() => stack?.close());

  it('passes the stop on and ends the subscription on the connection and on the node', async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      const follow = (await client.call('chainHead_v1_follow', [false])).result as string;
      await eventually(() => followEvents(client.notifications, follow).length > 0);
      const held = stack.devnet.subscriptionCount;
      // Never unpinning, the client passes the devnet's limit of pinned blocks: the node stops it.
      await stack.devnet.newBlocks(MAX_PINNED_BLOCKS + 4);
      await eventually(() => followEvents(client.notifications, follow).some((e) => e.event === 'stop'), {
        what: "the node's stop, passed on",
      });
      await eventually(() => stack.devnet.subscriptionCount === held - 1, { what: 'released on the node' });
      assert.equal(
        (await client.call('chainHead_v1_unfollow', [follow])).result,
        false,
        'ended on the connection',
      );
      const again = (await client.call('chainHead_v1_follow', [false])).result as string;
      await eventually(() =>
        followEvents(client.notifications, again).some((e) => e.event === 'initialized'),
      );
    } finally {
      client.close();
    }
  });
});

describe('subscriptions of both specs when the node connection is lost', { timeout: 120_000 }, () => {
  let stack: Stack;
  let sidecar: Sidecar;
  let relay: Awaited<ReturnType<typeof tcpRelay>>;
  before(async () => {
    stack = await startStack({ initialBlocks: 4 });
    relay = await tcpRelay(stack.devnet.port);
    sidecar = await sidecarOn(relay.url, { startAt: 1 });
  });
  after(async () => {
    await sidecar?.close();
    await relay?.close();
    await stack?.close();
  });

  it('a legacy subscription is renewed; a chainHead follow ends with its stop event, and polkadot-api follows again', async () => {
    const client = await rpcSocket(sidecar.server.url);
    const viaPapi = papi(sidecar.server.url);
    try {
      const heads = (await client.call('chain_subscribeNewHeads')).result as string;
      const follow = (await client.call('chainHead_v1_follow', [false])).result as string;
      await eventually(() => followEvents(client.notifications, follow).length > 0);
      const papiFinalized: number[] = [];
      const subscription = viaPapi.finalizedBlock$.subscribe((b) => papiFinalized.push(b.number));
      await eventually(() => papiFinalized.length > 0);

      await relay.cut();
      await eventually(() => followEvents(client.notifications, follow).some((e) => e.event === 'stop'), {
        what: 'the stop event of the follow',
      });
      const afterStop = client.notifications.length;
      await relay.restore();
      await stack.devnet.newBlocks(3);
      const best = stack.devnet.chain.best;
      await eventually(
        () =>
          client.notifications.some(
            (f) =>
              f.params?.subscription === heads &&
              (f.params.result as { number: string }).number === `0x${best.number.toString(16)}`,
          ),
        { what: 'chain_newHead of the new best block on the renewed subscription', timeoutMs: 15_000 },
      );
      assert.equal(
        client.notifications.slice(afterStop).filter((f) => f.params?.subscription === follow).length,
        0,
        'nothing more on the stopped follow',
      );
      assert.equal((await client.call('chainHead_v1_unfollow', [follow])).result, false, 'it is gone');
      await eventually(() => papiFinalized.at(-1) === stack.devnet.chain.finalized.number, {
        what: 'polkadot-api following again after the stop',
        timeoutMs: 15_000,
      });
      subscription.unsubscribe();
    } finally {
      viaPapi.destroy();
      client.close();
    }
  });
});

describe('new-spec notifications keep the proxy byte bounds', { timeout: 60_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 4 }, { limits: { messageBufferBytes: 256 * 1024 } });
  });
  after(() => stack?.close());

  it('a client that stops reading its follow operation events is closed as a slow consumer (1008)', async () => {
    const socket = new WebSocket(stack.sidecar.server.url);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const frames: RpcFrame[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as RpcFrame));
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chainHead_v1_follow', params: [false] }));
    const initialized = await eventually(() =>
      frames.find((f) => (f.params?.result as { event?: string } | undefined)?.event === 'initialized'),
    );
    const follow = initialized.params!.subscription;
    const hash = (initialized.params!.result as { finalizedBlockHashes: string[] }).finalizedBlockHashes[0];
    // Stop reading; each storage operation's event carries the whole state (tens of KB).
    const raw = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    for (let i = 0; i < 200; i++)
      socket.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 100 + i,
          method: 'chainHead_v1_storage',
          params: [follow, hash, [{ key: '0x', type: 'descendantsValues' }], null],
        }),
      );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    raw.resume();
    assert.equal(await closed, 1008);
    const metrics = await (await fetch(`${stack.sidecar.server.httpUrl}/metrics`)).text();
    assert.match(metrics, /xcmp_rpc_slow_consumers_disconnected 1/);
  });
});
