import assert from 'node:assert/strict';
import '@polkadot/api-augment/polkadot';
import { after, before, describe, it } from 'node:test';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { Header } from '@polkadot/types/interfaces';
import type { StatusJson } from '../../rpc/schemas.ts';
import { xcmpRpc } from '../../src/client/definitions.ts';
import { toHex, u32le } from '../../src/protocol/bytes.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

async function connect(url: string): Promise<WsProvider> {
  const provider = new WsProvider(url);
  await provider.isReady;
  return provider;
}

describe('relay RPC proxy', () => {
  let stack: Stack;
  let direct: WsProvider;
  let proxied: WsProvider;
  before(async () => {
    stack = await startStack({ initialBlocks: 3, finalityLag: 2 });
    await advance(stack, 8);
    direct = await connect(stack.devnet.url);
    proxied = await connect(stack.sidecar.server.url);
  });
  after(async () => {
    await direct?.disconnect();
    await proxied?.disconnect();
    await stack?.close();
  });

  it('an unmodified ApiPromise with xcmpRpc works against the sidecar: queries, api.call, head subscriptions, api.rpc.xcmp', async () => {
    const api = await ApiPromise.create({
      provider: new WsProvider(stack.sidecar.server.url),
      rpc: xcmpRpc,
      noInitWarn: true,
      throwOnConnect: true,
    });
    try {
      assert.equal(api.runtimeVersion.specVersion.toNumber(), 2000000);
      assert.equal((await api.rpc.chain.getHeader()).number.toNumber(), stack.devnet.chain.best.number);
      assert.ok((await api.query.system.events()).length > 0);
      assert.equal((await api.query.hrmp.hrmpChannels.entries()).length, 12);
      assert.equal((await api.call.parachainHost.availabilityCores()).length, 4);
      const inbox = (
        await (
          api.rpc as unknown as {
            xcmp: { getInbox(p: number): Promise<{ toJSON(): { messages: unknown[] } }> };
          }
        ).xcmp.getInbox(2000)
      ).toJSON();
      assert.ok(inbox.messages.length > 0);
      const heads: Header[] = [];
      const unsub = await api.rpc.chain.subscribeNewHeads((h) => {
        heads.push(h);
      });
      const updates: unknown[] = [];
      // polkadot-js resolves a subscription with its first notification, so blocks must come meanwhile.
      const inboxSubscription = (
        api.rpc as unknown as {
          xcmp: { subscribeInbox(p: number, cb: (u: unknown) => void): Promise<() => void> };
        }
      ).xcmp.subscribeInbox(2000, (u) => {
        updates.push(u);
      });
      await eventually(() => heads.length > 0, { what: 'the first head' });
      await advance(stack, 2);
      const unsubInbox = await inboxSubscription;
      const best = stack.devnet.chain.best.number;
      await eventually(() => heads.some((h) => h.number.toNumber() === best), { what: `head #${best}` });
      await eventually(() => updates.length >= 2, { what: 'two inbox updates' });
      assert.equal(updates.length, 2);
      unsub();
      unsubInbox();
    } finally {
      await api.disconnect();
    }
  });

  it('replays the collator RPC surface through the proxy with the same answers as the node', async () => {
    const best = stack.devnet.chain.best;
    const finalized = stack.devnet.chain.finalized;
    const at = finalized.hash;
    const para = toHex(u32le(2000));
    const calls: [string, unknown[]][] = [
      ['system_health', []],
      ['chain_getHead', []],
      ['chain_getFinalizedHead', []],
      ['chain_getBlockHash', [finalized.number]],
      ['chain_getBlockHash', []],
      ['chain_getHeader', [at]],
      ['chain_getHeader', []],
      ['state_getRuntimeVersion', [at]],
      ['state_getStorage', ['0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7', at]],
      ['state_getReadProof', [['0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7'], at]],
      ['state_call', ['ParachainHost_inbound_hrmp_channels_contents', para, at]],
      ['state_call', ['ParachainHost_inbound_hrmp_channels_contents', para, best.hash]],
      ['state_call', ['ParachainHost_candidate_events', '0x', at]],
      ['state_call', ['ParachainHost_candidate_pending_availability', para, at]],
      ['state_call', ['ParachainHost_candidates_pending_availability', para, at]],
      ['state_call', ['ParachainHost_availability_cores', '0x', at]],
      ['state_call', ['Core_version', '0x', at]],
    ];
    for (const [method, params] of calls) {
      assert.deepEqual(
        await proxied.send(method, params),
        await direct.send(method, params),
        `${method} ${JSON.stringify(params)}`,
      );
    }
    // Errors come back as the node gave them.
    for (const [method, params] of [
      ['state_call', ['BabeApi_current_epoch', '0x', at]],
      ['chain_nope', []],
    ] as const) {
      const [a, b] = await Promise.all([
        proxied.send(method, [...params]).catch((e: Error) => e.message),
        direct.send(method, [...params]).catch((e: Error) => e.message),
      ]);
      assert.equal(a, b, method);
    }
    // Each head subscription sees the same headers through the proxy.
    for (const [notification, subscribe, unsubscribe] of [
      ['chain_newHead', 'chain_subscribeNewHeads', 'chain_unsubscribeNewHeads'],
      ['chain_allHead', 'chain_subscribeAllHeads', 'chain_unsubscribeAllHeads'],
      ['chain_finalizedHead', 'chain_subscribeFinalizedHeads', 'chain_unsubscribeFinalizedHeads'],
    ] as const) {
      const seen: { proxy: string[]; node: string[] } = { proxy: [], node: [] };
      const ids = await Promise.all([
        proxied.subscribe(notification, subscribe, [], (_e: Error | null, h: { number: string }) =>
          seen.proxy.push(h.number),
        ),
        direct.subscribe(notification, subscribe, [], (_e: Error | null, h: { number: string }) =>
          seen.node.push(h.number),
        ),
      ]);
      await eventually(() => seen.proxy.length > 0 && seen.node.length > 0, { what: `${subscribe} first` });
      await stack.devnet.newBlocks(2);
      const { best, finalized } = stack.devnet.chain;
      const last = `0x${(notification === 'chain_finalizedHead' ? finalized : best).number.toString(16)}`;
      const reached = (numbers: string[]) => numbers.includes(last);
      await eventually(() => reached(seen.node) && reached(seen.proxy), { what: `${subscribe} caught up` });
      assert.ok(seen.node.length >= 2, subscribe);
      assert.deepEqual(seen.proxy, seen.node, subscribe);
      assert.equal(await proxied.unsubscribe(notification, unsubscribe, ids[0]), true);
      await direct.unsubscribe(notification, unsubscribe, ids[1]);
    }
  });

  it('store mode answers inbound contents from the verified store, equal to the node for every recipient over 100 blocks', async () => {
    await advance(stack, 100);
    let fromStore = 0;
    let total = 0;
    const cursor = (await stack.sidecar.store.cursor())!.number;
    for (let number = cursor - 99; number <= cursor; number++) {
      const hash = stack.devnet.chain.blockAt(number)!.hash;
      for (const recipient of stack.devnet.config.paras) {
        const data = toHex(u32le(recipient));
        const node = await direct.send<string>('state_call', [
          'ParachainHost_inbound_hrmp_channels_contents',
          data,
          hash,
        ]);
        const store = await stack.sidecar.proxy.storeInbound(data, hash);
        total += 1;
        if (store) {
          fromStore += 1;
          assert.equal(toHex(store), node, `recipient ${recipient} at #${number}`);
        }
        assert.equal(
          await proxied.send('state_call', ['ParachainHost_inbound_hrmp_channels_contents', data, hash]),
          node,
        );
      }
    }
    assert.equal(fromStore, total, `${fromStore} of ${total} answered from the store`);
  });

  it("refuses unsafe methods in safe mode with the node's error", async () => {
    for (const method of [
      'author_rotateKeys',
      'author_insertKey',
      'system_addReservedPeer',
      'system_addLogFilter',
      'dev_newBlock',
      'offchain_localStorageSet',
    ]) {
      await assert.rejects(proxied.send(method, []), (error: Error & { code?: number }) => {
        assert.equal(error.code, -32601);
        assert.match(error.message, /RPC call is unsafe to be called externally/);
        return true;
      });
    }
    const methods = await proxied.send<{ methods: string[] }>('rpc_methods', []);
    assert.ok(methods.methods.includes('xcmp_subscribeInbox') && methods.methods.includes('chain_getBlock'));
    assert.ok(!methods.methods.includes('dev_newBlock'), 'unsafe methods are not advertised');
  });

  it('survives the node dropping its connections mid-subscription: subscriptions carry on', async () => {
    const heads: number[] = [];
    await proxied.subscribe(
      'chain_newHead',
      'chain_subscribeNewHeads',
      [],
      (_e: Error | null, h: { number: string }) => heads.push(Number.parseInt(h.number, 16)),
    );
    await eventually(() => heads.length > 0, { what: 'the first head' });
    const subscriptions = stack.devnet.subscriptionCount;
    stack.devnet.dropConnections();
    // The sidecar reconnects (1 s) and renews every subscription upstream.
    await eventually(
      () => stack.sidecar.node.isConnected && stack.devnet.subscriptionCount === subscriptions,
      {
        what: 'subscriptions renewed',
      },
    );
    await stack.devnet.newBlocks(3);
    const target = stack.devnet.chain.best.number;
    await eventually(() => heads.includes(target), { what: `#${target} after the drop` }).catch(
      () => undefined,
    );
    assert.ok(
      heads.includes(target),
      `the proxied subscription saw #${target} after the drop (saw ${heads.join(',')})`,
    );
    assert.ok(proxied.isConnected, 'the client was never disconnected');
  });
});

describe('shadow mode and a lying node', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 3 }, { serveInbound: 'shadow' });
    await advance(stack, 20);
  });
  after(() => stack?.close());

  it('counts 0 mismatches on an honest devnet and more than 0 when it tampers with a channel', async () => {
    const provider = await connect(stack.sidecar.server.url);
    const ask = async (recipient: number, number: number) =>
      provider.send<string>('state_call', [
        'ParachainHost_inbound_hrmp_channels_contents',
        toHex(u32le(recipient)),
        stack.devnet.chain.blockAt(number)!.hash,
      ]);
    const cursor = (await stack.sidecar.store.cursor())!.number;
    for (let n = cursor - 10; n <= cursor; n++) for (const r of stack.devnet.config.paras) await ask(r, n);
    let status = await provider.send<StatusJson>('xcmp_status', []);
    assert.equal(status.inbound.mode, 'shadow');
    assert.ok(status.inbound.checked >= 40, JSON.stringify(status.inbound));
    assert.equal(status.inbound.mismatches, 0);
    stack.devnet.chain.tamperedInbound.add('2001:2000');
    for (let n = cursor - 5; n <= cursor; n++) await ask(2000, n);
    status = await provider.send<StatusJson>('xcmp_status', []);
    assert.ok(status.inbound.mismatches > 0);
    const metrics = await (await fetch(`${stack.sidecar.server.httpUrl}/metrics`)).text();
    assert.match(metrics, /xcmp_inbound_answers\{mode="shadow",result="mismatch"\} [1-9]/);
    await provider.disconnect();
  });
});
