/**
 * One journey per XCM (issue 29): over 200+ devnet blocks with relay forks and receiving-chain forks,
 * every XCM delivered to an attached para on its final chain reaches exactly the verdict the devnet's
 * receiving runtime gave it (executed, failed or overweight, ≥ 10 of each), its stages in order and
 * proven under the included block's state root; what a forked receiving block did is retracted; a
 * receiving node that lags 40 blocks behind its chain shows its journeys stuck, then recovers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import type { XcmExecution } from '../../src/devnet/para-events.ts';
import type { BlockFaults } from '../../src/devnet/runtime.ts';
import type { JourneyUpdate } from '../../src/para/journey-book.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const BLOCKS = Number(process.env.XCMP_JOURNEY_BLOCKS ?? 200);

describe("journeys: every delivered XCM reaches the receiver's verdict, proven", {
  skip: skipWithoutFixtures,
}, () => {
  let stack: Stack;
  let socket: RpcSocket;
  const updates: JourneyUpdate[] = [];
  /** The first para block of each para the sidecar followed: deliveries start after it. */
  const firstFollowed = new Map<number, number>();
  /** Para blocks the sidecar read. */
  const read = new Set<string>();

  before(async () => {
    // This devnet makes relay blocks as fast as the sidecar stores them: 10 blocks (a minute on
    // Polkadot) pass in a fraction of a second, less than the sidecar may take to read a para block
    // under load. A stuck journey here is one 25 blocks late, and the lagging node is 40 behind.
    stack = await startStack({ initialBlocks: 3, finalityLag: 2 }, { paraNodes: 'devnet', stuckAfter: 25 });
    const { sidecar } = stack;
    await eventually(() => sidecar.paras!.status().every((p) => p.state === 'following'), {
      what: 'para nodes followed',
    });
    sidecar.paras!.on('block', (b) => {
      if (!firstFollowed.has(b.paraId)) firstFollowed.set(b.paraId, b.number);
      read.add(b.hash);
    });
    socket = await rpcSocket(sidecar.server.url);
    await socket.call('xcmp_subscribeJourneys', [{}]);
    socket.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { method?: string; params?: { result: JourneyUpdate } };
      if (frame.method === 'xcmp_journey') updates.push(frame.params!.result);
    });
  });
  after(async () => {
    socket?.close();
    await stack?.close();
  });

  it(`over ${BLOCKS} blocks with relay forks and receiving-chain forks`, async () => {
    const { devnet, sidecar } = stack;
    const paras = devnet.config.paras;
    const lagging = devnet.paraNodes.get(2004)!;
    const lagFrom = Math.floor(BLOCKS / 2);
    let stuckSeen = 0;
    for (let round = 0; devnet.chain.best.number < BLOCKS; round++) {
      const best = devnet.chain.best.number;
      if (best >= lagFrom && best < lagFrom + 60) lagging.lag = 40;
      else if (lagging.lag > 0) {
        stuckSeen = sidecar.paras!.status().find((p) => p.paraId === 2004)!.journeys.stuck;
        lagging.lag = 0;
      }
      const fork: BlockFaults = { paraFork: new Set([paras[round % paras.length]!]) };
      await devnet.newBlocks(1, fork);
      await devnet.newBlocks(4);
      if (round % 3 === 2) await devnet.fork(1 + (round % 2));
      await storedUpTo(sidecar.store, devnet.chain.finalized.number);
      // The sidecar keeps up with every para node (what a lagging one shows included).
      await eventually(
        () =>
          [...devnet.paraNodes.values()].every((node) => read.has(node.best.hash)) &&
          sidecar.paras!.status().every((p) => p.journeys.waiting === 0),
        { what: 'para nodes read and followed' },
      );
    }
    if (lagging.lag > 0) {
      stuckSeen = sidecar.paras!.status().find((p) => p.paraId === 2004)!.journeys.stuck;
      lagging.lag = 0;
    }
    await devnet.newBlocks(6);
    await storedUpTo(sidecar.store, devnet.chain.finalized.number);

    // The devnet's truth: each para's final chain, the verdict of every XCM it consumed.
    const truth: (XcmExecution & { recipient: number; block: number; hash: string })[] = [];
    const collators = devnet.chain.collators!;
    const forked = new Set([...collators.faults].filter(([, f]) => f === 'forked').map(([h]) => h));
    for (const [paraId, chain] of collators.chains) {
      const from = (firstFollowed.get(paraId) ?? Number.POSITIVE_INFINITY) + 1;
      for (let n = chain.finalized.number; n > from; n--) {
        const block = chain.blockAt(n)!;
        for (const e of block.executions) truth.push({ ...e, recipient: paraId, block: n, hash: block.hash });
      }
    }
    await eventually(
      () =>
        truth.every((t) => {
          const journey = sidecar.journeys!.find(t.id as `0x${string}`)[0];
          return journey?.stages.some(
            (s) => s.stage === t.outcome && s.paraBlock?.hash === t.hash && s.verified,
          );
        }),
      { what: 'every final verdict proven', timeoutMs: 20_000 },
    ).catch((error) => {
      const missing = truth.filter((t) => {
        const journey = sidecar.journeys!.find(t.id as `0x${string}`)[0];
        return !journey?.stages.some(
          (s) => s.stage === t.outcome && s.paraBlock?.hash === t.hash && s.verified,
        );
      });
      const [first] = missing;
      const journey = first && sidecar.journeys!.find(first.id as `0x${string}`)[0];
      throw new Error(
        `${(error as Error).message}: ${missing.length} of ${truth.length} not (${[...new Set(missing.map((m) => `${m.recipient}#${m.block}`))].join(' ')} first followed ${JSON.stringify([...firstFollowed])}), e.g. ${JSON.stringify(first)} → ${JSON.stringify(journey?.stages ?? null)}`,
      );
    });
    // And the other way round: every XCM the sidecar saw enacted to a para, up to what that para's
    // final chain has consumed, is one of those verdicts.
    const truthKeys = new Set(truth.map((t) => `${t.recipient}:${t.id}`));
    for (const [paraId, chain] of collators.chains) {
      const consumedUpTo = chain.finalized.inbound.hrmpWatermark;
      const from = (firstFollowed.get(paraId) ?? 0) + 1;
      const firstWatermark = chain.blockAt(from)?.inbound.hrmpWatermark ?? Number.POSITIVE_INFINITY;
      const enacted = sidecar
        .journeys!.sentFrom(firstWatermark + 1)
        .filter((j) => j.recipient === paraId && j.sentAt <= consumedUpTo);
      assert.ok(enacted.length > 0, `para ${paraId}: journeys enacted`);
      for (const journey of enacted)
        assert.ok(
          truthKeys.has(`${paraId}:${journey.id}`),
          `${journey.key} enacted, consumed by ${paraId}'s final chain`,
        );
    }
    const outcomes = { executed: 0, failed: 0, overweight: 0 };
    for (const t of truth) {
      const [journey, ...others] = sidecar.journeys!.find(t.id as `0x${string}`);
      assert.equal(others.length, 0, `one journey for ${t.id}`);
      assert.equal(journey!.outcome, t.outcome, `${t.id} to ${t.recipient}`);
      assert.deepEqual(
        [journey!.sender, journey!.recipient, journey!.sentAt],
        [t.sender, t.recipient, t.sentAt],
      );
      const names = journey!.stages.map((s) => s.stage);
      const enacted = names.indexOf('enacted');
      const delivered = journey!.stages.findIndex(
        (s) => s.stage === 'delivered' && s.paraBlock?.hash === t.hash,
      );
      const verdict = journey!.stages.findIndex((s) => s.stage === t.outcome && s.paraBlock?.hash === t.hash);
      // Every sender's node is attached: the journey starts at the sending block's XcmpMessageSent.
      assert.deepEqual(
        names.slice(0, 5),
        ['sent', 'speculative', 'backed', 'enacted', 'finalized'],
        `${t.id} sent at ${journey!.sentAt} from ${journey!.sender} (followed from ${JSON.stringify([...firstFollowed])})`,
      );
      assert.ok(enacted === 3 && delivered > enacted && verdict > delivered, `${t.id}: ${names.join(',')}`);
      const [sent, , backed] = journey!.stages;
      assert.ok(backed!.relayBlock! < journey!.sentAt && backed!.verified, `${t.id} backed before enacted`);
      assert.ok(
        journey!.stages[delivered]!.verified && journey!.stages[verdict]!.verified && sent!.verified,
        `${t.id} verified`,
      );
      assert.ok(!names.includes('unverifiable') && !names.includes('deliveryMismatch'), names.join(','));
      const held = journey!.stages.filter(
        (s) =>
          ['executed', 'failed', 'overweight'].includes(s.stage) &&
          !retracted(journey!.stages, s.paraBlock!.hash, s.stage),
      );
      assert.equal(
        held.length,
        1,
        `${t.id}: one verdict holds (${JSON.stringify(journey!.stages.map((s) => [s.stage, s.paraBlock?.number, s.paraBlock?.hash.slice(0, 10), s.paraBlock && isFinal(s.paraBlock.hash), s.paraBlock && collators.chains.get(t.recipient)!.block(s.paraBlock.hash)?.parentHash.slice(0, 10)]))})`,
      );
      outcomes[t.outcome]++;
    }
    // The lagging receiver: its journeys were stuck while it lagged, and all were delivered since.
    const stuck = updates.filter((u) => u.stage === 'stuck');
    assert.ok(
      stuckSeen >= 5 && stuck.length >= stuckSeen,
      `${stuckSeen} stuck when it caught up, ${stuck.length} said`,
    );
    const stuckTo = new Map<number, number>();
    for (const { journey } of stuck) {
      stuckTo.set(journey.recipient, (stuckTo.get(journey.recipient) ?? 0) + 1);
      const held = sidecar.journeys!.get(journey.key)!;
      const names = held.stages.map((s) => s.stage);
      assert.ok(
        names.indexOf('stuck') < names.lastIndexOf('delivered'),
        `${journey.key}: ${names.join(',')}`,
      );
    }
    for (const para of paras)
      assert.equal(sidecar.paras!.status().find((p) => p.paraId === para)!.journeys.stuck, 0);
    // The lagging para's journeys were stuck, and no other's.
    assert.deepEqual([...stuckTo.keys()], [2004], `stuck: ${JSON.stringify([...stuckTo])}`);
    const retractions = updates.filter((u) => u.stage === 'retracted');
    for (const update of retractions) {
      const stage = update.journey.stages.at(-1)!;
      assert.ok(
        forked.has(stage.paraBlock!.hash) || !isFinal(stage.paraBlock!.hash),
        'only blocks off the final chain',
      );
    }
    console.log(
      `# ${truth.length} XCMs delivered on final chains: ${JSON.stringify(outcomes)}; ${sidecar.journeys!.size} journeys; ${retractions.length} stages retracted; ${stuck.length} stuck, then delivered (${JSON.stringify([...stuckTo])}); ${updates.length} updates`,
    );
    assert.ok(
      outcomes.executed >= 10 && outcomes.failed >= 10 && outcomes.overweight >= 10,
      JSON.stringify(outcomes),
    );
    assert.ok(retractions.length >= 10, `${retractions.length} retracted`);

    function isFinal(hash: string): boolean {
      return [...collators.chains.values()].some((c) => {
        const b = c.block(hash);
        return b !== undefined && c.blockAt(b.number)?.hash === hash && b.number <= c.finalized.number;
      });
    }
  });

  it('xcmp_getJourney answers by id and by message hash; an unknown id is -32004', async () => {
    const [journey] = [...sidecarJourneys()];
    assert.ok(journey);
    const byId = (await socket.call('xcmp_getJourney', [journey.id])).result as { key: string }[];
    assert.ok(byId.some((j) => j.key === journey.key));
    const byHash = (await socket.call('xcmp_getJourney', [journey.messageHash])).result as { key: string }[];
    assert.ok(byHash.some((j) => j.key === journey.key));
    const unknown = await socket.call('xcmp_getJourney', [`0x${'ab'.repeat(32)}`]);
    assert.equal(unknown.error?.code, -32004);
    const bad = await socket.call('xcmp_getJourney', ['0x1234']);
    assert.equal(bad.error?.code, -32602);
  });

  it('journeys are kept in the store as they are held, and replay from a block once each', async () => {
    const { sidecar, devnet } = stack;
    const held = sidecar.journeys!.sentFrom(0);
    await eventually(
      async () => {
        for (const journey of held.slice(-50)) {
          const [row] = (await sidecar.store.journeys(journey.id)).filter((r) => r.key === journey.key);
          if (!row || row.body !== JSON.stringify(journey)) return false;
        }
        return true;
      },
      { what: 'the latest journeys stored as held' },
    );
    const fromBlock = devnet.chain.finalized.number - 40;
    const replayer = await rpcSocket(sidecar.server.url);
    try {
      await replayer.call('xcmp_subscribeJourneys', [{ fromBlock, recipient: 2000 }]);
      const expected = sidecar.journeys!.sentFrom(fromBlock).filter((j) => j.recipient === 2000);
      const replayed = () =>
        replayer.notifications
          .map((n) => n.params!.result as JourneyUpdate)
          .filter((u) => u.stage === 'replay')
          .map((u) => u.journey);
      await eventually(() => replayed().length >= expected.length, { what: 'replayed' });
      const keys = replayed().map((j) => j.key);
      assert.equal(new Set(keys).size, keys.length, 'each journey once');
      assert.deepEqual(new Set(keys), new Set(expected.map((j) => j.key)));
      assert.ok(replayed().every((j) => j.sentAt >= fromBlock && j.recipient === 2000));
      assert.ok(keys.length >= 20, `${keys.length} replayed`);
    } finally {
      replayer.close();
    }
  });

  it("speculative and pending updates carry the sending block's XcmpMessageSent: each XCM's message hash is there", async () => {
    const watcher = await rpcSocket(stack.sidecar.server.url);
    try {
      await watcher.call('xcmp_subscribeInbox', [2000, { finality: 'speculative', decode: true }]);
      await stack.devnet.newBlocks(4);
      const updates = () =>
        watcher.notifications
          .map((n) => n.params!.result as MailboxUpdateJson)
          .filter((u) => u.type === 'speculative');
      await eventually(() => updates().length >= 3, { what: 'speculative updates' });
      let checked = 0;
      for (const update of updates()) {
        const hashes = new Set(update.sent!.map((e) => e.messageHash));
        for (const message of update.speculative!)
          for (const id of (message.xcm as { ids: { messageHash: string }[] }).ids) {
            assert.ok(hashes.has(id.messageHash), `${id.messageHash} in ${update.paraBlock!.hash}'s events`);
            checked++;
          }
      }
      assert.ok(checked >= 3, `${checked} XCMs checked`);
      // And pending entries (the candidate backed for that block): the events of their own XCMs.
      let pending = 0;
      for (const update of watcher.notifications.map((n) => n.params!.result as MailboxUpdateJson))
        for (const message of update.type === 'pending' ? update.pending! : []) {
          // Only blocks the sender's node announced have them (not a lagging node's).
          if (message.sent === undefined) continue;
          const ids = (message.xcm as { ids: { messageHash: string }[] }).ids;
          assert.deepEqual(
            message.sent.map((e) => e.messageHash).sort(),
            ids.map((id) => id.messageHash).sort(),
            `${message.candidateHash}/${message.position}`,
          );
          pending++;
        }
      assert.ok(pending >= 3, `${pending} pending messages checked`);
    } finally {
      watcher.close();
    }
  });

  it('include: ["delivery"] adds delivered and verdict updates of the mailbox\'s XCMs; not with proofs', async () => {
    const watcher = await rpcSocket(stack.sidecar.server.url);
    try {
      await watcher.call('xcmp_subscribeInbox', [2001, { include: ['delivery'] }]);
      await watcher.call('xcmp_subscribeOutbox', [2001, { finality: 'best', include: ['delivery'] }]);
      await stack.devnet.newBlocks(5);
      await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
      const deliveries = () =>
        watcher.notifications
          .map((n) => ({ method: n.method, update: n.params!.result as MailboxUpdateJson }))
          .filter(({ update }) => update.type === 'delivery');
      const stages = (method: string) =>
        new Set(
          deliveries()
            .filter((d) => d.method === method)
            .map((d) => d.update.stage),
        );
      await eventually(
        () =>
          ['xcmp_inbox', 'xcmp_outbox'].every(
            (m) => stages(m).has('delivered') && stages(m).has('executed') && stages(m).has('verified'),
          ),
        { what: 'delivered, executed and verified updates on both' },
      );
      for (const { method, update } of deliveries()) {
        const journey = update.journey as { recipient: number; sender: number; sentAt: number };
        assert.equal(method === 'xcmp_inbox' ? journey.recipient : journey.sender, 2001);
        assert.equal(update.block.number, journey.sentAt);
        assert.deepEqual(update.messages, []);
      }
      const withProof = await watcher.call('xcmp_subscribeInbox', [
        2001,
        { proof: true, include: ['delivery'] },
      ]);
      assert.equal(withProof.error?.code, -32602);
      const unknown = await watcher.call('xcmp_subscribeInbox', [2001, { include: ['everything'] }]);
      assert.equal(unknown.error?.code, -32602);
    } finally {
      watcher.close();
    }
  });

  function* sidecarJourneys() {
    for (const update of updates) if (update.journey.outcome) yield update.journey;
  }
});

function retracted(stages: JourneyUpdate['journey']['stages'], hash: string, of: string): boolean {
  return stages.some((s) => s.stage === 'retracted' && s.paraBlock?.hash === hash && s.of === of);
}
