/**
 * The speculative tier (DESIGN.md §13, issue 28): over 200+ devnet blocks with relay forks, lost
 * collations, lying para nodes, para forks and time-outs, every message an attached para node
 * announces resolves exactly once by the grammar, each fault with exactly its outcome, and every
 * message the relay chain enacts from an attached sender was announced speculatively first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import type { ParaFault } from '../../src/devnet/collators.ts';
import type { BlockFaults } from '../../src/devnet/runtime.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { SpeculativeJournal } from '../helpers/speculative.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

interface ParaBlockFacts {
  readonly paraId: number;
  readonly relayParent: string;
  readonly relayParentNumber: number;
  readonly messages: number;
  /** The devnet's relay best head when the para node imported it. */
  readonly importedAtRelay: number;
}

describe('speculative tier: every announced message resolves once', { skip: skipWithoutFixtures }, () => {
  let stack: Stack;
  let socket: RpcSocket;
  const journal = new SpeculativeJournal();
  /** Every para block the devnet's para nodes imported, and the ones the sidecar read. */
  const imported = new Map<string, ParaBlockFacts>();
  const readBySidecar = new Set<string>();
  /** Relay blocks the sidecar followed (best view or stored). */
  const followed = new Set<string>();
  const faults = new Map<string, ParaFault>();
  let paras: readonly number[] = [];

  before(async () => {
    stack = await startStack({ initialBlocks: 5, finalityLag: 3 }, { paraNodes: 'devnet' });
    const { devnet, sidecar } = stack;
    paras = devnet.config.paras;
    sidecar.paras!.on('block', (b) => readBySidecar.add(b.hash));
    sidecar.best.on('change', (change) => {
      for (const block of change.announced) followed.add(block.hash);
    });
    sidecar.ingest.on('block', (write) => followed.add(write.hash));
    await eventually(() => sidecar.paras!.status().every((p) => p.state === 'following'), {
      what: 'para nodes followed',
    });
    // From here on the para nodes' subscribers see every block.
    for (const [paraId, chain] of devnet.chain.collators!.chains)
      chain.on('block', (b) =>
        imported.set(b.hash, {
          paraId,
          relayParent: b.relayParent.hash,
          relayParentNumber: b.relayParent.number,
          messages: b.messages.length,
          importedAtRelay: devnet.chain.best.number,
        }),
      );
    socket = await rpcSocket(sidecar.server.url);
    for (const para of paras) await socket.call('xcmp_subscribeInbox', [para, { finality: 'speculative' }]);
    socket.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as {
        method?: string;
        params?: { result: MailboxUpdateJson };
      };
      if (frame.method === 'xcmp_inbox') journal.push(frame.params!.result);
    });
  });
  after(async () => {
    socket?.close();
    await stack?.close();
  });

  /** Waits until the sidecar followed the relay best head and read every para block imported so far. */
  const caughtUp = async () => {
    const { devnet } = stack;
    await eventually(
      () =>
        followed.has(devnet.chain.best.hash) && [...imported.keys()].every((hash) => readBySidecar.has(hash)),
      {
        what: `relay #${devnet.chain.best.number} and its para blocks followed (${[...imported.keys()].filter((h) => !readBySidecar.has(h)).length} unread)`,
        timeoutMs: 15_000,
        intervalMs: 5,
      },
    );
    for (const [hash, fault] of devnet.chain.collators!.faults) faults.set(hash, fault);
  };
  const step = async (blockFaults?: BlockFaults) => {
    await stack.devnet.newBlocks(1, blockFaults);
    await caughtUp();
  };

  it('over 200 blocks with relay forks, lost collations, lying nodes, para forks and time-outs', async () => {
    const { devnet } = stack;
    await step();
    const at = (round: number, shift: number) => new Set([paras[(round + shift) % paras.length]!]);
    for (let round = 0; round < 22; round++) {
      await step({ withhold: at(round, 0) });
      await step();
      await step({ lie: at(round, 1) });
      await step();
      await step({ paraFork: at(round, 2) });
      await step();
      await step({ timeOut: at(round, 3) });
      await step();
      await step();
      await devnet.fork(1 + (round % 2));
      await caughtUp();
      await step();
    }
    for (let i = 0; i < 10; i++) await step();
    await storedUpTo(stack.sidecar.store, devnet.chain.finalized.number);
    const head = devnet.chain.best.number;
    assert.ok(head >= 200, `ran ${head} blocks`);

    journal.check(head - 6);
    assert.deepEqual(journal.problems, []);
    const onFinalChain = finalRelayChain(stack);
    const outcomes = { withdrawn: 0, contradicted: 0, pending: 0 };
    const faultOutcomes = new Map<ParaFault, number>();
    const wrong: string[] = [];
    for (const [hash, block] of journal.blocks) {
      if (block.end === null) continue;
      outcomes[block.end]++;
      const fault = faults.get(hash);
      const facts = imported.get(hash);
      // Made before the test watched the para nodes (read when the relay chain backed it).
      if (!facts) continue;
      const expected = expectedEnd(fault, onFinalChain.has(facts.relayParent));
      if (!expected.includes(block.end))
        wrong.push(
          `${hash} (para ${facts.paraId}, ${fault ?? 'no fault'}): ${block.end} ${block.reason ?? ''}`,
        );
      else if (fault) faultOutcomes.set(fault, (faultOutcomes.get(fault) ?? 0) + 1);
    }
    assert.deepEqual(wrong, []);
    for (const fault of ['withheld', 'lied', 'forked'] as const)
      assert.ok((faultOutcomes.get(fault) ?? 0) >= 10, `${fault}: ${faultOutcomes.get(fault) ?? 0} blocks`);
    console.log(
      `# ${head} relay blocks, ${journal.said.size} speculative messages in ${journal.blocks.size} para blocks: ${JSON.stringify(outcomes)}; faults reported: ${JSON.stringify(Object.fromEntries(faultOutcomes))}`,
    );
  });

  it('every enacted message of an attached sender was announced speculative first', () => {
    let checked = 0;
    const missing: string[] = [];
    for (const [key, list] of journal.candidates) {
      if (list[0] !== 'pending' || !list.includes('messages')) continue;
      const [candidateHash, position] = key.split(':');
      const paraHead = journal.paraHeadOf.get(candidateHash!)!;
      const facts = imported.get(paraHead);
      // Para blocks made before the sidecar followed the para nodes, and those whose node lied.
      if (!facts || !readBySidecar.has(paraHead) || faults.get(paraHead) === 'lied') continue;
      const said = [...journal.said.keys()].some((k) => k.startsWith(`${paraHead}:${position}:`));
      if (!said) missing.push(`${key} ${paraHead} ${JSON.stringify(facts)} ${faults.get(paraHead)}`);
      checked++;
    }
    assert.deepEqual(missing, []);
    assert.ok(checked > 1000, `${checked} enacted messages checked`);
  });

  it('nothing speculative is verified or stored: what lying nodes announced never reached the store', async () => {
    assert.ok(journal.contradictedData.size >= 10, `${journal.contradictedData.size} messages contradicted`);
    for (const para of paras) {
      const stored = await stack.sidecar.store.inbox(para);
      for (const m of stored) {
        assert.equal(m.verified, true, `stored message ${m.sender}>${m.recipient} at #${m.sentAt}`);
        assert.ok(!journal.contradictedData.has(`${m.sender}:${m.recipient}:${m.hash}`));
      }
    }
    const status = await stack.sidecar.status();
    const contradictions = status.paraNodes.reduce((sum, p) => sum + p.contradictions, 0);
    assert.ok(contradictions >= 10, `${contradictions} contradictions counted in xcmp_status`);
    const metrics = await stack.sidecar.metrics.registry.metrics();
    assert.match(metrics, /xcmp_para_contradictions_total\{para="\d+"\} [1-9]/);
    // What each para's blocks consumed agrees with the relay chain, relay and para forks included.
    for (const node of status.paraNodes) {
      assert.ok(node.deliveryChecks >= 50, `para ${node.paraId}: ${node.deliveryChecks} delivery checks`);
      assert.equal(node.deliveryMismatches, 0, `para ${node.paraId}`);
    }
    console.log(
      `# delivery checks per para: ${status.paraNodes.map((n) => `${n.paraId} ${n.deliveryChecks}`).join(', ')}; 0 mismatches`,
    );
  });
});

/** How a para block's messages may end: faults have exactly one outcome; a block built on an abandoned relay branch may be withdrawn. */
function expectedEnd(fault: ParaFault | undefined, builtOnFinalChain: boolean): string[] {
  if (fault === 'lied') return ['contradicted'];
  if (fault === 'withheld' || fault === 'forked') return ['withdrawn'];
  return builtOnFinalChain ? ['pending'] : ['pending', 'withdrawn'];
}

/** Hashes of the devnet's best chain, head to genesis. */
function finalRelayChain(stack: Stack): Set<string> {
  const hashes = new Set<string>();
  for (let block = stack.devnet.chain.best; block; block = stack.devnet.chain.block(block.parentHash)!) {
    hashes.add(block.hash);
    if (block.number === 0) break;
  }
  return hashes;
}
