import assert from 'node:assert/strict';
import '@polkadot/api-augment/polkadot';
import { after, before, describe, it } from 'node:test';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { Header } from '@polkadot/types/interfaces';
import WebSocket from 'ws';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { eventually } from '../helpers/wait.ts';

const waitFor = (check: () => boolean, what: string, timeoutMs = 5000) =>
  eventually(check, { what, timeoutMs, intervalMs: 10 });

describe('devnet through an unmodified ApiPromise', () => {
  let devnet: Devnet;
  let api: ApiPromise;

  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 6, finalityLag: 2 });
    api = await ApiPromise.create({
      provider: new WsProvider(devnet.url),
      noInitWarn: true,
      throwOnConnect: true,
    });
  });
  after(async () => {
    await api?.disconnect();
    await devnet?.close();
  });

  it('reads the chain, runtime and blocks as from a node', async () => {
    assert.equal(api.runtimeVersion.specName.toString(), 'polkadot');
    assert.equal(api.runtimeVersion.specVersion.toNumber(), 2000000);
    assert.equal((await api.rpc.system.chain()).toString(), 'Devnet (simulated Polkadot relay chain)');
    const header = await api.rpc.chain.getHeader();
    assert.equal(header.number.toNumber(), 6);
    const block = await api.rpc.chain.getBlock(header.hash);
    assert.deepEqual(
      block.block.extrinsics.map((ex) => `${ex.method.section}.${ex.method.method}`),
      ['timestamp.set', 'paraInherent.enter'],
    );
    assert.equal(block.block.header.hash.toHex(), header.hash.toHex());
    assert.equal((await api.rpc.chain.getBlockHash(6)).toHex(), header.hash.toHex());
  });

  it('reads events: candidates included then backed, one per para', async () => {
    const events = await api.query.system.events();
    const names = events.map((e) => `${e.event.section}.${e.event.method}`);
    assert.equal(names.filter((n) => n === 'paraInclusion.CandidateIncluded').length, 4);
    assert.equal(names.filter((n) => n === 'paraInclusion.CandidateBacked').length, 4);
    assert.ok(
      names.lastIndexOf('paraInclusion.CandidateIncluded') < names.indexOf('paraInclusion.CandidateBacked'),
    );
  });

  it('reads HRMP storage: channels with MQC heads, contents, watermarks', async () => {
    const channels = await api.query.hrmp.hrmpChannels.entries();
    assert.equal(channels.length, 12);
    for (const [, value] of channels) {
      const channel = value.unwrap();
      assert.ok(channel.mqcHead.isSome, 'every channel carried a message');
      assert.ok(channel.msgCount.toNumber() > 0);
    }
    const contents = await api.query.hrmp.hrmpChannelContents({ sender: 2000, recipient: 2001 });
    assert.ok(contents.length > 0);
    for (const message of contents)
      assert.ok(message.sentAt.toNumber() >= 5 && message.sentAt.toNumber() <= 6);
    assert.equal((await api.query.hrmp.hrmpWatermarks(2000)).unwrap().toNumber(), 4);
    assert.deepEqual(
      (await api.query.hrmp.hrmpIngressChannelsIndex(2000)).map((p) => p.toNumber()),
      [1000, 2001, 2004],
    );
  });

  it('answers ParachainHost runtime calls through api.call', async () => {
    assert.equal((await api.call.parachainHost.candidateEvents()).length, 8);
    const cores = await api.call.parachainHost.availabilityCores();
    assert.equal(cores.length, 4);
    assert.ok(cores.every((core) => core.isOccupied));
    const pending = await api.call.parachainHost.candidatePendingAvailability(2000);
    assert.ok(pending.isSome);
    assert.equal(pending.unwrap().descriptor.paraId.toNumber(), 2000);
  });

  it('pushes new, finalized and all heads, and shows a reorg when a fork is injected', async () => {
    const best: Header[] = [];
    const finalized: Header[] = [];
    const all: Header[] = [];
    const unsubs = await Promise.all([
      api.rpc.chain.subscribeNewHeads((h) => {
        best.push(h);
      }),
      api.rpc.chain.subscribeFinalizedHeads((h) => {
        finalized.push(h);
      }),
      api.rpc.chain.subscribeAllHeads((h) => {
        all.push(h);
      }),
    ]);
    await waitFor(() => best.length >= 1 && finalized.length >= 1 && all.length >= 1, 'initial heads');
    await devnet.newBlocks(2);
    await waitFor(() => best.at(-1)?.number.toNumber() === 8, 'block 8');
    await waitFor(() => finalized.at(-1)?.number.toNumber() === 6, 'finalized 6');
    const before7 = (await api.rpc.chain.getBlockHash(7)).toHex();
    const forked = await devnet.fork(2); // new blocks 7', 8', 9' on top of 6
    assert.equal(forked.length, 3);
    await waitFor(() => best.at(-1)?.number.toNumber() === 9, 'fork head 9');
    await waitFor(() => all.some((h) => h.hash.toHex() === forked[0]!.hash), 'forked 7 in all heads');
    const after7 = (await api.rpc.chain.getBlockHash(7)).toHex();
    assert.notEqual(after7, before7, 'block 7 was replaced');
    assert.equal(after7, forked[0]!.hash);
    const head9 = best.at(-1)!;
    assert.equal(head9.parentHash.toHex(), forked[1]!.hash);
    // Finality moved past the fork point, so the retracted block is discarded, as a node prunes it.
    assert.equal(devnet.chain.finalized.hash, forked[0]!.hash);
    assert.equal(devnet.chain.block(before7), undefined);
    for (const unsub of unsubs) unsub();
  });

  it('refuses forks below finality', async () => {
    await assert.rejects(devnet.fork(5), /below the finalized block/);
  });

  it('answers unknown methods with -32601 and bad params with -32602 over a raw socket', async () => {
    const socket = new WebSocket(devnet.url);
    await new Promise((resolve) => socket.once('open', resolve));
    const ask = (payload: unknown) =>
      new Promise<{ error?: { code: number } }>((resolve) => {
        socket.once('message', (data) => resolve(JSON.parse(data.toString())));
        socket.send(JSON.stringify(payload));
      });
    assert.equal(
      (await ask({ jsonrpc: '2.0', id: 1, method: 'nope_nothing', params: [] })).error?.code,
      -32601,
    );
    assert.equal(
      (await ask({ jsonrpc: '2.0', id: 2, method: 'state_getKeysPaged', params: ['0x', 1001] })).error?.code,
      -32602,
    );
    assert.equal(
      (await ask({ jsonrpc: '2.0', id: 3, method: 'state_getStorage', params: ['zz'] })).error?.code,
      -32602,
    );
    socket.close();
  });

  it('survives dropped connections: the client reconnects and carries on', async () => {
    devnet.dropConnections();
    await waitFor(() => !api.isConnected, 'disconnect');
    await waitFor(() => api.isConnected, 'reconnect', 10_000);
    assert.equal((await api.rpc.chain.getHeader()).number.toNumber(), devnet.chain.best.number);
  });
});
