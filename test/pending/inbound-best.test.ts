/**
 * `ParachainHost_inbound_hrmp_channels_contents` at best-chain blocks (issue 14): a collator asks at
 * its relay parent as soon as it is imported; the sidecar answers from verified data (the stored
 * blocks plus the best-chain view above them), and shadow mode compares every answer with the node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatusJson } from '../../rpc/schemas.ts';
import { DEFAULT_PARAS } from '../../src/devnet/config.ts';
import { toHex, u32le } from '../../src/protocol/bytes.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { storedUpTo } from '../helpers/wait.ts';

describe('inbound HRMP contents at best-chain blocks', () => {
  let stack: Stack;
  let collator: RpcSocket;

  before(async () => {
    stack = await startStack({ initialBlocks: 8, finalityLag: 3 }, { serveInbound: 'shadow' });
    await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
    collator = await rpcSocket(stack.sidecar.server.url);
  });
  after(async () => {
    collator?.close();
    await stack?.close();
  });

  it('answers ≥ 95 % of a collator’s calls from the store, all equal to the node, over 60 blocks with reorgs', async () => {
    const chain = stack.devnet.chain;
    let calls = 0;
    let aboveStore = 0;
    for (let i = 0; i < 60; i++) {
      if (i % 15 === 14) await stack.devnet.fork(2);
      else await stack.devnet.newBlocks(1);
      // At once, as a collator building on the new relay parent would.
      const head = chain.best;
      if (head.number > ((await stack.sidecar.store.cursor())?.number ?? 0)) aboveStore += 1;
      const answers = await Promise.all(
        DEFAULT_PARAS.map((para) =>
          collator.call('state_call', [
            'ParachainHost_inbound_hrmp_channels_contents',
            toHex(u32le(para)),
            head.hash,
          ]),
        ),
      );
      for (const answer of answers) assert.equal(answer.error, undefined);
      calls += answers.length;
    }
    assert.ok(aboveStore >= 55, `${aboveStore} of the relay parents were above the stored block`);
    const status = (await collator.call('xcmp_status')).result as StatusJson;
    const { checked, mismatches, fallbacks } = status.inbound;
    assert.equal(checked + fallbacks, calls);
    assert.equal(mismatches, 0, 'every store answer equals the node’s');
    assert.ok(
      checked / calls >= 0.95,
      `${checked} of ${calls} answered from the store (${fallbacks} fell back)`,
    );
    const metrics = await (await fetch(`${stack.sidecar.server.httpUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`xcmp_inbound_answers\\{mode="shadow",result="match"\\} ${checked}\\b`));
  });

  it('falls back to the node, and counts it, at a block the view never followed (a side branch)', async () => {
    const chain = stack.devnet.chain;
    // A sibling of the best head (a fault makes it differ from it), never best.
    const side = await chain.produce({
      parent: chain.blockAt(chain.best.number - 1)!,
      faults: { dropBacked: new Set([1000]) },
    });
    assert.notEqual(chain.best.hash, side.hash, 'the side block is not best');
    const before = ((await collator.call('xcmp_status')).result as StatusJson).inbound;
    const params = ['ParachainHost_inbound_hrmp_channels_contents', toHex(u32le(2000)), side.hash];
    const answer = await collator.call('state_call', params);
    const node = await rpcSocket(stack.devnet.url);
    assert.equal(answer.result, (await node.call('state_call', params)).result);
    node.close();
    const after = ((await collator.call('xcmp_status')).result as StatusJson).inbound;
    assert.equal(after.fallbacks, before.fallbacks + 1);
    assert.equal(after.checked, before.checked);
  });
});
