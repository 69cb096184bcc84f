/**
 * The receiving side's ground truth (issue 29, first part): a receiving para block's
 * `HrmpWatermark` and `LastHrmpMqcHeads` say what it consumed, and the sidecar's verified messages
 * say what those heads must be. On the devnet, whose para nodes consume their inbound HRMP as
 * cumulus does, the two agree for every para and every sender; a head altered in one byte does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { expectedMqcHeads, mqcHeadMismatches } from '../../src/derive/delivery.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import {
  decodeMqcHeads,
  decodeU32Value,
  HRMP_WATERMARK_KEY,
  LAST_HRMP_MQC_HEADS_KEY,
} from '../../src/protocol/para.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { storedUpTo } from '../helpers/wait.ts';

describe('what a receiving para block consumed, against the verified messages', {
  skip: skipWithoutFixtures,
}, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 3, finalityLag: 2, paraNodes: true });
    await advance(stack, 12);
  });
  after(() => stack?.close());

  /** A para node's finalized block (included in a finalized relay block), its watermark and MQC heads, read raw. */
  async function consumed(para: number) {
    const chain = stack.devnet.chain.collators!.chains.get(para)!;
    const block = chain.finalized;
    const socket = await rpcSocket(stack.devnet.paraUrls.get(para)!);
    try {
      const read = async (key: string) =>
        (await socket.call('state_getStorage', [key, block.hash])).result as Hex | null;
      const watermark = decodeU32Value((await read(HRMP_WATERMARK_KEY))!, 'HrmpWatermark');
      const raw = await read(LAST_HRMP_MQC_HEADS_KEY);
      return { block, watermark, raw, heads: decodeMqcHeads(raw) };
    } finally {
      socket.close();
    }
  }

  it('the raw decoders read what polkadot-js reads with the runtime metadata', async () => {
    const para = 2000;
    const { block, watermark, heads } = await consumed(para);
    const api = await ApiPromise.create({
      provider: new WsProvider(stack.devnet.paraUrls.get(para)!),
      noInitWarn: true,
    });
    try {
      const at = await api.at(block.hash);
      assert.equal((await at.query.parachainSystem!.hrmpWatermark!()).toString(), String(watermark));
      const generic = (await at.query.parachainSystem!.lastHrmpMqcHeads!()).toJSON() as Record<string, Hex>;
      assert.deepEqual(
        Object.fromEntries([...heads].map(([sender, head]) => [String(sender), head])),
        generic,
      );
      assert.ok(heads.size >= 3, `${heads.size} senders`);
    } finally {
      await api.disconnect();
    }
  });

  it("a receiving block's System::Events carry the runtime's verdict on each XCM it consumed, as polkadot-js decodes them", async () => {
    const para = 2001;
    const chain = stack.devnet.chain.collators!.chains.get(para)!;
    const api = await ApiPromise.create({
      provider: new WsProvider(stack.devnet.paraUrls.get(para)!),
      noInitWarn: true,
    });
    try {
      let verdicts = 0;
      let sent = 0;
      for (let n = chain.finalized.number; n > 0; n--) {
        const block = chain.blockAt(n)!;
        const events = (await (
          await api.at(block.hash)
        ).query.system!.events!()) as unknown as {
          event: { section: string; method: string; data: { toJSON(): unknown }; index: unknown };
        }[];
        const queue = events.filter((e) => e.event.section === 'messageQueue');
        assert.equal(queue.length, block.executions.length, `block #${n}`);
        for (const execution of block.executions) {
          const record = events[execution.eventIndex]!.event;
          const data = record.data.toJSON() as unknown[];
          assert.equal(data[0], execution.id);
          assert.deepEqual(data[1], { sibling: execution.sender });
          if (execution.outcome === 'overweight') assert.equal(record.method, 'OverweightEnqueued');
          else assert.deepEqual([record.method, data[3]], ['Processed', execution.outcome === 'executed']);
          verdicts++;
        }
        const hashes = events.filter((e) => e.event.method === 'XcmpMessageSent');
        assert.equal(hashes.length, block.messages.length, `block #${n} sends`);
        sent += hashes.length;
      }
      assert.ok(verdicts >= 10 && sent >= 10, `${verdicts} verdicts, ${sent} sent`);
    } finally {
      await api.disconnect();
    }
  });

  it("every para's reported heads equal the heads after the last verified message up to its watermark", async () => {
    let compared = 0;
    for (const para of stack.devnet.config.paras) {
      const { watermark, heads } = await consumed(para);
      await storedUpTo(stack.sidecar.store, watermark);
      const expected = expectedMqcHeads(await stack.sidecar.store.inbox(para), watermark);
      assert.ok(expected.size >= 2, `para ${para}: ${expected.size} senders with history`);
      assert.deepEqual(mqcHeadMismatches(heads, expected), [], `para ${para} at watermark ${watermark}`);
      compared += expected.size;
    }
    console.log(`# ${compared} channel heads compared, all equal`);
  });

  it('a head altered in one byte, or a sender left out, is a mismatch naming the sender', async () => {
    const { watermark, heads } = await consumed(2001);
    const expected = expectedMqcHeads(await stack.sidecar.store.inbox(2001), watermark);
    const [sender, head] = [...expected][0]!;
    const altered = new Map(heads);
    altered.set(sender, `${head.slice(0, -2)}${head.slice(-2) === '00' ? '01' : '00'}` as Hex);
    assert.deepEqual(
      mqcHeadMismatches(altered, expected).map((m) => m.sender),
      [sender],
    );
    const omitted = new Map(heads);
    omitted.delete(sender);
    assert.deepEqual(mqcHeadMismatches(omitted, expected), [{ sender, reported: null, expected: head }]);
  });
});
