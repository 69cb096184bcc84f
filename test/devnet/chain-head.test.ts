/**
 * The devnet's chainHead_v1_follow as the spec orders it: initialized, newBlock for every unfinalized
 * block (forks too), bestBlockChanged, finalized with the blocks a reorg pruned; operation events only
 * after the call's answer; unpin; and stop once a client pins more than a node lets it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_PINNED_BLOCKS } from '../../src/devnet/chain-head.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { eventually } from '../helpers/wait.ts';

interface FollowEvent {
  event: string;
  [field: string]: unknown;
}

const eventsOf = (client: RpcSocket, subscription: string): FollowEvent[] =>
  client.notifications
    .filter((n) => n.method === 'chainHead_v1_followEvent' && n.params?.subscription === subscription)
    .map((n) => n.params!.result as FollowEvent);

describe('devnet chainHead_v1_follow', () => {
  let devnet: Devnet;
  let client: RpcSocket;
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 4, paras: [2000, 2001], validators: 4 });
    client = await rpcSocket(devnet.url);
  });
  after(async () => {
    client?.close();
    await devnet?.close();
  });

  it('reports the finalized block, every block above it, the best, then a reorg and what it pruned', async () => {
    const follow = (await client.call('chainHead_v1_follow', [false])).result as string;
    await eventually(() => eventsOf(client, follow).some((e) => e.event === 'bestBlockChanged'));
    const { chain } = devnet;
    const start = eventsOf(client, follow);
    assert.deepEqual(start[0], { event: 'initialized', finalizedBlockHashes: [chain.finalized.hash] });
    assert.deepEqual(
      start.slice(1, -1).map((e) => e.blockHash),
      chain.unfinalized().map((b) => b.hash),
    );
    assert.deepEqual(start.at(-1), { event: 'bestBlockChanged', bestBlockHash: chain.best.hash });

    const oldBranch = [chain.best];
    const forked = await devnet.fork(1);
    await devnet.newBlocks(4);
    await eventually(
      () =>
        eventsOf(client, follow).some(
          (e) => e.event === 'finalized' && (e.prunedBlockHashes as string[]).length > 0,
        ),
      {
        what: 'a finalized event that prunes the old branch',
      },
    );
    const events = eventsOf(client, follow);
    const announced = events.filter((e) => e.event === 'newBlock').map((e) => e.blockHash);
    for (const block of forked)
      assert.ok(announced.includes(block.hash), `fork block #${block.number} reported`);
    const pruned = events.flatMap((e) => (e.event === 'finalized' ? (e.prunedBlockHashes as string[]) : []));
    assert.deepEqual(
      pruned,
      oldBranch.map((b) => b.hash),
      'the block the reorg left behind, once',
    );
    const finalized = events.flatMap((e) =>
      e.event === 'finalized' ? (e.finalizedBlockHashes as string[]) : [],
    );
    assert.equal(finalized.at(-1), chain.finalized.hash);
    assert.ok(!finalized.some((hash) => (pruned as string[]).includes(hash)));
    const known = new Set<unknown>(start[0]!.finalizedBlockHashes as string[]);
    for (const e of events.filter((x) => x.event === 'newBlock')) {
      assert.ok(known.has(e.parentBlockHash), `the parent of ${String(e.blockHash)} was reported first`);
      known.add(e.blockHash);
    }
    assert.equal((await client.call('chainHead_v1_unfollow', [follow])).result, true);
  });

  it('answers an operation before its events; unpin refuses blocks it does not hold', async () => {
    const follow = (await client.call('chainHead_v1_follow', [true])).result as string;
    await eventually(() => eventsOf(client, follow).length > 0);
    const runtime = eventsOf(client, follow)[0]!.finalizedBlockRuntime as { spec: { specVersion: number } };
    assert.equal(runtime.spec.specVersion, devnet.chain.encoder.version.specVersion);
    const hash = devnet.chain.finalized.hash;
    // Frames in the order they arrive: the answer must come before the operation's event.
    const order: string[] = [];
    client.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { id?: string; params?: { result?: FollowEvent } };
      if (frame.id !== undefined) order.push(`answer ${frame.id}`);
      else if (frame.params?.result?.operationId) order.push(`event ${frame.params.result.event}`);
    });
    const answer = await client.call('chainHead_v1_body', [follow, hash]);
    const { operationId } = answer.result as { operationId: string };
    const done = await eventually(() => eventsOf(client, follow).find((e) => e.operationId === operationId));
    assert.equal(done.event, 'operationBodyDone');
    assert.deepEqual(order, [`answer ${String(answer.id)}`, 'event operationBodyDone']);
    const stranger = `0x${'ab'.repeat(32)}`;
    assert.equal((await client.call('chainHead_v1_header', [follow, stranger])).error?.code, -32801);
    assert.equal((await client.call('chainHead_v1_unpin', [follow, hash])).result, null);
    assert.equal(
      (await client.call('chainHead_v1_unpin', [follow, hash])).error?.code,
      -32801,
      'unpinned already',
    );
    assert.deepEqual((await client.call('chainHead_v1_body', ['not-a-follow', hash])).result, {
      result: 'limitReached',
    });
    await client.call('chainHead_v1_unfollow', [follow]);
  });

  it(`stops a follow that holds more than ${MAX_PINNED_BLOCKS} blocks pinned, then sends nothing more`, async () => {
    const follow = (await client.call('chainHead_v1_follow', [false])).result as string;
    await eventually(() => eventsOf(client, follow).length > 0);
    await devnet.newBlocks(MAX_PINNED_BLOCKS + 4);
    const events = await eventually(() => {
      const list = eventsOf(client, follow);
      return list.some((e) => e.event === 'stop') ? list : null;
    });
    assert.equal(events.at(-1)?.event, 'stop');
    await devnet.newBlocks(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(eventsOf(client, follow).length, events.length, 'nothing after stop');
    assert.equal((await client.call('chainHead_v1_unfollow', [follow])).result, false, 'it is gone');
  });
});
