/**
 * The devnet's para nodes (issue 28): a node per para at `/para/<id>`, speaking the JSON-RPC a
 * cumulus node does with a real cumulus runtime's encodings (Polkadot Asset Hub, the shared
 * fixture's metadata V16). Every candidate the relay chain backs is a block of its para's node:
 * the head data is the block's SCALE header (so `para_head` is its hash) and the horizontal
 * messages are its `ParachainSystem::HrmpOutboundMessages`; the block is announced before the relay
 * block that backs it. Faults: a lost collation, a lying node, a para fork.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import {
  decodeOutboundMessages,
  decodeParaId,
  decodeRelayParentNumber,
  HRMP_OUTBOUND_MESSAGES_KEY,
  LAST_RELAY_CHAIN_BLOCK_NUMBER_KEY,
  PARACHAIN_ID_KEY,
  paraHeadOf,
} from '../../src/protocol/para.ts';
import { runCli } from '../helpers/cli.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { eventually } from '../helpers/wait.ts';

const messagesOf = (list: readonly { recipient: number; data: Uint8Array }[]) =>
  list.map((m) => `${m.recipient}:${u8aToHex(m.data)}`);

describe('devnet para nodes', { skip: skipWithoutFixtures }, () => {
  let devnet: Devnet;
  let api: ApiPromise;
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, paraNodes: true, retainBlocks: 1000 });
    api = await ApiPromise.create({ provider: new WsProvider(devnet.paraUrls.get(2000)!), noInitWarn: true });
  });
  after(async () => {
    await api?.disconnect();
    await devnet?.close();
  });

  it('runs the fixture’s runtime (Asset Hub 2000007, metadata V16): polkadot-js reads its storage', async () => {
    assert.equal(api.runtimeVersion.specName.toString(), 'statemint');
    assert.equal(api.runtimeVersion.specVersion.toNumber(), 2000007);
    assert.equal((await api.query.parachainInfo!.parachainId!()).toString(), '2000');
    await devnet.newBlocks(2);
    const head = await api.rpc.chain.getHeader();
    const block = await api.rpc.chain.getBlock(head.hash);
    assert.deepEqual(
      block.block.extrinsics.map((x) => `${x.method.section}.${x.method.method}`),
      ['timestamp.set'],
    );
  });

  it("the sidecar's raw decoders agree with polkadot-js on the node's ParachainId, HrmpOutboundMessages, LastRelayChainBlockNumber and header", async () => {
    const query = api.query.parachainSystem!;
    assert.equal(query.hrmpOutboundMessages!.key(), HRMP_OUTBOUND_MESSAGES_KEY);
    assert.equal(query.lastRelayChainBlockNumber!.key(), LAST_RELAY_CHAIN_BLOCK_NUMBER_KEY);
    assert.equal(api.query.parachainInfo!.parachainId!.key(), PARACHAIN_ID_KEY);
    let compared = 0;
    for (let i = 0; i < 6; i++) {
      await devnet.newBlocks(1);
      const hash = (await api.rpc.chain.getHeader()).hash;
      const at = await api.at(hash);
      const generic = (await at.query.parachainSystem!.hrmpOutboundMessages!()) as unknown as {
        recipient: { toNumber(): number };
        data: { toU8a(bare: boolean): Uint8Array };
      }[];
      const raw = (await api.rpc.state.getStorage(HRMP_OUTBOUND_MESSAGES_KEY, hash)) as unknown as {
        toHex(): Hex;
      };
      const decoded = decodeOutboundMessages(raw.toHex());
      assert.deepEqual(
        decoded.map((m) => [m.recipient, u8aToHex(m.data)]),
        generic.map((m) => [m.recipient.toNumber(), u8aToHex(m.data.toU8a(true))]),
      );
      compared += decoded.length;
      const relayParent = (await at.query.parachainSystem!.lastRelayChainBlockNumber!()).toString();
      const rawParent = await api.rpc.state.getStorage(LAST_RELAY_CHAIN_BLOCK_NUMBER_KEY, hash);
      assert.equal(
        String(decodeRelayParentNumber((rawParent as unknown as { toHex(): Hex }).toHex())),
        relayParent,
      );
      const header = await api.rpc.chain.getHeader(hash);
      const head = paraHeadOf(header.toU8a());
      assert.deepEqual(head, {
        hash: hash.toHex(),
        number: header.number.toNumber(),
        parentHash: header.parentHash.toHex(),
        stateRoot: header.stateRoot.toHex(),
      });
    }
    assert.ok(compared > 0, `${compared} messages compared`);
    assert.throws(() => decodeOutboundMessages('0x0400000000'), /HrmpOutboundMessages/);
    assert.throws(() => decodeParaId('0xd007'), /must be a u32, got 2 bytes/);
    assert.equal(paraHeadOf(Uint8Array.of(1, 2, 3)), null, 'head data that is not a header');
  });

  it('every backed candidate is a para block announced before the relay block that backs it', async () => {
    const para = await rpcSocket(devnet.paraUrls.get(2001)!);
    const chain = devnet.chain.collators!.chains.get(2001)!;
    const announced = new Set<string>();
    para.socket.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { method?: string; params?: { result: unknown } };
      if (m.method === 'chain_allHead')
        announced.add(blake2AsHex(chain.encoder.encode('Header', m.params!.result)));
    });
    let aheadOfBacking = 0;
    try {
      await para.call('chain_subscribeAllHeads', []);
      for (let i = 0; i < 12; i++) {
        // What the node had said before this relay block was made.
        await new Promise((resolve) => setTimeout(resolve, 20));
        const saidBefore = new Set(announced);
        const [relayBlock] = await devnet.newBlocks(1);
        const backed = relayBlock!.candidateEvents.filter(
          (e) => e.kind === 'CandidateBacked' && e.candidate.paraId === 2001,
        );
        for (const { candidate } of backed) {
          const paraHash = blake2AsHex(candidate.commitments.headData);
          const paraBlock = chain.block(paraHash);
          assert.ok(paraBlock, `the para block of the candidate backed in #${relayBlock!.number}`);
          assert.equal(u8aToHex(candidate.descriptor.paraHead as Uint8Array), paraHash);
          assert.deepEqual(
            messagesOf(paraBlock.messages),
            messagesOf(candidate.commitments.horizontalMessages),
          );
          const stored = await para.call('state_getStorage', [outbound(chain), paraHash]);
          assert.equal(stored.result, paraBlock.storage.get(outbound(chain)));
          if (i > 0) {
            assert.ok(saidBefore.has(paraHash), `para block announced before relay #${relayBlock!.number}`);
            aheadOfBacking++;
          }
        }
      }
      assert.ok(aheadOfBacking >= 5, `${aheadOfBacking} para blocks announced ahead of their backing`);
    } finally {
      para.close();
    }
  });

  it('faults: a lost collation gives another block at its height, a lying node misreports, a para fork announces two', async () => {
    const chain = devnet.chain.collators!.chains.get(2004)!;
    const lost = chain.best;
    await devnet.newBlocks(1, { withhold: new Set([2004]) });
    const next = chain.best;
    assert.equal(next.number, lost.number, 'another block at the lost one’s height');
    assert.notEqual(next.hash, lost.hash);
    const [lying] = await devnet.newBlocks(1, { lie: new Set([2004]) });
    const lied = chain.best;
    assert.ok(lying && chain.lies.has(lied.hash));
    const client = await rpcSocket(devnet.paraUrls.get(2004)!);
    try {
      const said = (await client.call('state_getStorage', [outbound(chain), lied.hash])).result;
      assert.notEqual(
        said,
        lied.storage.get(outbound(chain)),
        'the node says another thing than the block holds',
      );
    } finally {
      client.close();
    }
    const before = chain.best.number;
    await devnet.newBlocks(1, { paraFork: new Set([2004]) });
    const atHeight = [...Array(3).keys()].map((i) => chain.blockAt(before + 1 + i)).filter(Boolean);
    assert.ok(atHeight.length > 0);
    const [relay] = await devnet.newBlocks(1);
    const backed = relay!.candidateEvents.find(
      (e) => e.kind === 'CandidateBacked' && e.candidate.paraId === 2004,
    );
    assert.ok(backed, 'the fork’s first block is backed');
    assert.equal(chain.best.parentHash, blake2AsHex(backed.candidate.commitments.headData));
  });
});

function outbound(chain: { encoder: { storageKey(p: string, i: string): string } }): string {
  return chain.encoder.storageKey('ParachainSystem', 'HrmpOutboundMessages');
}

describe('devnet para nodes: authoring time', { skip: skipWithoutFixtures }, () => {
  it('--para-authoring-ms: a para block is imported that long after its relay parent, not with it', async () => {
    const devnet = await startDevnet({
      blockTimeMs: 0,
      initialBlocks: 2,
      paraNodes: true,
      paraAuthoringMs: 150,
    });
    try {
      const chain = devnet.chain.collators!.chains.get(2000)!;
      const importedAt = new Map<string, number>();
      chain.on('block', (block) => importedAt.set(block.relayParent.hash, performance.now()));
      const [relay] = await devnet.newBlocks(1);
      const madeAt = performance.now();
      assert.equal(importedAt.has(relay!.hash), false, 'not with its relay parent');
      await eventually(() => importedAt.has(relay!.hash), { what: 'the para block imported' });
      assert.ok(importedAt.get(relay!.hash)! - madeAt >= 100, `${importedAt.get(relay!.hash)! - madeAt} ms`);
    } finally {
      await devnet.close();
    }
  });

  it('its flags are for --para-nodes only (exit 2)', () => {
    for (const [args, refusal] of [
      [['--para-authoring-ms', '100'], /--para-authoring-ms is for --para-nodes/],
      [['--para-metadata', 'x.hex'], /--para-metadata is for --para-nodes/],
      [['--para-nodes', '--para-authoring-ms', '1e3'], /--para-authoring-ms/],
    ] as const) {
      const result = runCli(['devnet', '--port', '0', ...args]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, refusal);
    }
  });
});
