/**
 * Issue 27.5: HRMP channels open from genesis to a recipient that never enacts a candidate (so it
 * has no `Hrmp::HrmpWatermarks` entry), and a sidecar following from block #1. Its store has seen
 * every block since the channels were empty, so it knows the whole queue: inbound contents are
 * answered from the store at every block (no fallback to the node) and equal the node's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatusJson } from '../../rpc/schemas.ts';
import { allPairs, DEFAULT_PARAS } from '../../src/devnet/config.ts';
import { toHex, u32le } from '../../src/protocol/bytes.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';

/** Receives from two paras and never backs a candidate of its own. */
const SILENT = 3000;

describe('inbound contents of a recipient that never enacted, from a store that began at genesis', () => {
  let stack: Stack;
  before(async () => {
    const channels = [...allPairs(DEFAULT_PARAS), [1000, SILENT] as const, [2000, SILENT] as const];
    stack = await startStack({ initialBlocks: 0, channels }, { serveInbound: 'shadow', startAt: 1 });
    await advance(stack, 26);
  });
  after(() => stack?.close());

  it('answers every block from the store, equal to the node: no fallback, no mismatch', async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      const cursor = (await stack.sidecar.store.cursor())!.number;
      let asked = 0;
      for (let n = 1; n <= cursor; n++)
        for (const recipient of [SILENT, ...DEFAULT_PARAS]) {
          const hash = stack.devnet.chain.blockAt(n)!.hash;
          const answer = await client.call('state_call', [
            'ParachainHost_inbound_hrmp_channels_contents',
            toHex(u32le(recipient)),
            hash,
          ]);
          assert.ok(typeof answer.result === 'string', JSON.stringify(answer));
          asked += 1;
        }
      const status = (await client.call('xcmp_status')).result as StatusJson;
      assert.deepEqual(
        { fallbacks: status.inbound.fallbacks, mismatches: status.inbound.mismatches },
        { fallbacks: 0, mismatches: 0 },
        JSON.stringify(status.inbound),
      );
      assert.equal(status.inbound.checked, asked);
      const queued = await client.call('state_call', [
        'ParachainHost_inbound_hrmp_channels_contents',
        toHex(u32le(SILENT)),
        stack.devnet.chain.blockAt(cursor)!.hash,
      ]);
      assert.ok((queued.result as string).length > 1000, 'the silent recipient has a long queue');
    } finally {
      client.close();
    }
  });
});
