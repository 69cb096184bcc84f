import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NodeClient } from '../../src/chain/node.ts';
import { startDevnet } from '../../src/devnet/index.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { silentLogger } from '../../src/log.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { MessageStore } from '../../src/store/store.ts';
import { tcpRelay } from '../helpers/relay.ts';
import { devnetTruth, storedMessages } from '../helpers/truth.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setup(
  devnetOptions: Parameters<typeof startDevnet>[0],
  ingestOptions: { startAt?: number; url?: string } = {},
) {
  const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, ...devnetOptions });
  cleanups.push(() => devnet.close());
  const node = await NodeClient.connect(ingestOptions.url ?? devnet.url, { reconnectMs: 200 });
  cleanups.push(() => node.disconnect());
  const store = MessageStore.open(':memory:');
  cleanups.push(() => store.close());
  const ingest = new Ingest({
    node,
    store,
    logger: silentLogger(),
    retryMs: 100,
    startAt: ingestOptions.startAt,
  });
  cleanups.push(() => ingest.stop());
  return { devnet, node, store, ingest };
}

describe('ingest against the devnet', () => {
  it('over 320 blocks with forks, time-outs and tampered commitments stores exactly the devnet truth', async () => {
    const { devnet, store, ingest } = await setup({ finalityLag: 3 }, { startAt: 1 });
    await ingest.start();
    const timedOut = new Set<string>();
    const tampered = new Set<string>();
    let forks = 0;
    for (let i = 1; i <= 320; i++) {
      if (i % 40 === 0) {
        await devnet.fork(1 + (i % 3 === 0 ? 1 : 0));
        forks++;
        continue;
      }
      const faults =
        i % 25 === 0
          ? { timeOut: new Set([2000 + (i % 2)]) }
          : i % 25 === 7
            ? { tamperCommitments: new Set([2004]) }
            : undefined;
      const [block] = await devnet.newBlocks(1, faults);
      if (faults?.timeOut)
        for (const para of faults.timeOut)
          timedOut.add(block!.state.pending.get(para)!.candidateHash.toString());
      if (faults?.tamperCommitments) tampered.add(String(block!.number));
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const finalized = devnet.chain.finalized.number;
    assert.ok(finalized >= 300);
    await storedUpTo(store, finalized, 60_000);
    const truth = devnetTruth(devnet, 1, finalized);
    const stored = await storedMessages(store, devnet.config.paras);
    assert.equal(stored.length, truth.length);
    assert.deepEqual(stored, truth);
    // Tampered candidates' messages are stored unverified, with the reason.
    const unverified = (
      await Promise.all(devnet.config.paras.map((p) => store.inbox(p, { includeUnverified: true })))
    )
      .flat()
      .filter((m) => !m.verified);
    assert.ok(
      unverified.length >= tampered.size,
      `${unverified.length} unverified for ${tampered.size} tamperings`,
    );
    for (const message of unverified)
      assert.match(message.reason!, /commitments: commitments hash .* differs from CandidateBacked/);
    assert.equal((await store.counts()).failuresByKind.commitments, tampered.size);
    assert.equal((await store.counts()).failuresByKind.mqc, undefined, 'no MQC mismatch on an honest chain');
    // Timed-out candidates never deliver.
    assert.ok(timedOut.size >= 10);
    const all = (
      await Promise.all(devnet.config.paras.map((p) => store.inbox(p, { includeUnverified: true })))
    ).flat();
    for (const message of all) assert.ok(!timedOut.has(message.candidateHash));
    for (const hash of timedOut) {
      const candidate = await store.candidate(hash as `0x${string}`);
      if (candidate) assert.equal(candidate.status, 'timedOut');
    }
    assert.ok(forks >= 8);
    assert.equal((await store.counts()).blocks, finalized);
  });

  it('catching up 300 blocks writes runs of blocks per transaction, announces each block once, in order, once stored, and stores exactly the devnet truth', async () => {
    const { devnet, store, ingest } = await setup({ finalityLag: 2 }, { startAt: 1 });
    for (let i = 1; i <= 300; i++) {
      const faults =
        i % 30 === 0
          ? { timeOut: new Set([2001]) }
          : i % 30 === 11
            ? { tamperCommitments: new Set([2000]) }
            : i % 30 === 17
              ? { dispute: new Set([2004]) }
              : undefined;
      await devnet.newBlocks(1, faults);
    }
    const transactions: number[] = [];
    const writeBlocks = store.writeBlocks.bind(store);
    store.writeBlocks = (writes) => {
      transactions.push(writes.length);
      return writeBlocks(writes);
    };
    const announced: number[] = [];
    ingest.on('block', async (write) => {
      assert.ok(
        ((await store.cursor())?.number ?? 0) >= write.number,
        `#${write.number} announced before it was stored`,
      );
      announced.push(write.number);
    });
    await ingest.start();
    const finalized = devnet.chain.finalized.number;
    await storedUpTo(store, finalized, 60_000);
    assert.deepEqual(
      announced,
      Array.from({ length: finalized }, (_, i) => i + 1),
    );
    assert.equal(
      transactions.reduce((a, b) => a + b, 0),
      finalized,
    );
    assert.ok(
      transactions.length < finalized / 4,
      `${transactions.length} transactions for ${finalized} blocks`,
    );
    assert.deepEqual(await storedMessages(store, devnet.config.paras), devnetTruth(devnet, 1, finalized));
    assert.equal((await store.counts()).failuresByKind.mqc, undefined);
  });

  it('a candidate the runtime dropped (in the inherent, no CandidateBacked) is reported as not backed, not as a failure', async () => {
    const { devnet, store, ingest } = await setup({}, { startAt: 1 });
    const notBacked: { block: number; paraId: number; candidateHash: string }[] = [];
    ingest.on('block', (write) => {
      for (const dropped of write.notBacked ?? []) notBacked.push({ block: write.number, ...dropped });
    });
    await ingest.start();
    await devnet.newBlocks(4);
    const [dropped] = await devnet.newBlocks(1, { dropBacked: new Set([2001]) });
    await devnet.newBlocks(8);
    const finalized = devnet.chain.finalized.number;
    await storedUpTo(store, finalized);
    assert.deepEqual(
      notBacked.map(({ block, paraId }) => ({ block, paraId })),
      [{ block: dropped!.number, paraId: 2001 }],
    );
    assert.equal(
      await store.candidate(notBacked[0]!.candidateHash as `0x${string}`),
      null,
      'not kept as a candidate',
    );
    assert.deepEqual((await store.counts()).failuresByKind, {}, 'no commitments failure');
    assert.deepEqual(await storedMessages(store, devnet.config.paras), devnetTruth(devnet, 1, finalized));
  });

  it('an included candidate keeps the availability votes counted in the block that enacted it, not the threshold', async () => {
    const { devnet, store, ingest } = await setup({}, { startAt: 1 });
    await ingest.start();
    await devnet.newBlocks(12);
    await storedUpTo(store, devnet.chain.finalized.number);
    const included = (await store.candidatesActive(1, null, 1000)).filter((c) => c.status === 'included');
    assert.ok(included.length > 0);
    // The devnet's model: when a candidate's chunk is due, every one of its validators votes for it.
    const { validators } = devnet.config;
    for (const candidate of included) {
      assert.ok(candidate.availabilityThreshold < validators, 'the threshold is below the validator count');
      assert.equal(
        candidate.availabilityVotes,
        validators,
        `${candidate.candidateHash} at #${candidate.enactedIn}`,
      );
    }
  });

  for (const fault of ['dispute', 'free'] as const)
    it(`a candidate freed without enactment (${fault === 'dispute' ? 'DisputeConcluded, Invalid' : 'no event: its core taken'}) is "freed" at that block, then gets no updates`, async () => {
      const { devnet, store, ingest } = await setup({}, { startAt: 1 });
      const updated: { block: number; candidateHash: string; status: string }[] = [];
      ingest.on('block', (write) => {
        for (const u of write.candidateUpdates)
          updated.push({ block: write.number, candidateHash: u.candidateHash, status: u.status });
      });
      await ingest.start();
      await devnet.newBlocks(4);
      const freed = toHex(devnet.chain.best.state.pending.get(2000)!.candidateHash);
      const [freedAt] = await devnet.newBlocks(1, { [fault]: new Set([2000]) });
      await devnet.newBlocks(8);
      const finalized = devnet.chain.finalized.number;
      await storedUpTo(store, finalized);
      assert.deepEqual(
        updated.filter((u) => u.candidateHash === freed && u.block >= freedAt!.number),
        [{ block: freedAt!.number, candidateHash: freed, status: 'freed' }],
        'freed once, and no votes counted for it after its core went to another candidate',
      );
      const record = (await store.candidate(freed))!;
      assert.deepEqual([record.status, record.settledIn], ['freed', freedAt!.number]);
      assert.deepEqual((await store.counts()).failuresByKind, {});
      assert.deepEqual(await storedMessages(store, devnet.config.paras), devnetTruth(devnet, 1, finalized));
    });

  it('started on a devnet 100 blocks in, verifies from the first block on (candidates pending availability recovered)', async () => {
    const { devnet, store, ingest } = await setup({ initialBlocks: 100 });
    await ingest.start();
    const first = devnet.chain.finalized.number;
    await storedUpTo(store, first);
    await devnet.newBlocks(20);
    await storedUpTo(store, devnet.chain.finalized.number);
    const truth = devnetTruth(devnet, first, devnet.chain.finalized.number);
    const stored = await storedMessages(store, devnet.config.paras);
    assert.deepEqual(stored, truth);
    const atFirst = (
      await Promise.all(
        devnet.config.paras.map((p) =>
          store.inbox(p, { fromBlock: first, toBlock: first, includeUnverified: true }),
        ),
      )
    ).flat();
    assert.ok(atFirst.length > 0, 'messages enacted in the very first block');
    assert.ok(
      atFirst.every((m) => m.verified),
      'and they are verified',
    );
    const seeded = (await store.candidate(atFirst[0]!.candidateHash))!;
    assert.ok(seeded.backedIn < first, 'their candidate was backed before the sidecar started');
    assert.equal(seeded.verified, true);
    assert.equal((await store.counts()).unverifiedMessages, 0);
  });

  it('survives losing the node for 10 s and catches up with nothing missing', async () => {
    const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000 });
    cleanups.push(() => devnet.close());
    const relay = await tcpRelay(devnet.port);
    cleanups.push(() => relay.close());
    const node = await NodeClient.connect(relay.url, { reconnectMs: 200 });
    cleanups.push(() => node.disconnect());
    const store = MessageStore.open(':memory:');
    const ingest = new Ingest({ node, store, logger: silentLogger(), retryMs: 100, startAt: 1 });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    await devnet.newBlocks(20);
    await storedUpTo(store, devnet.chain.finalized.number);
    await relay.cut();
    devnet.startProducing(200); // the chain moves on while the sidecar is cut off
    await new Promise((r) => setTimeout(r, 10_000));
    const cutAt = (await store.cursor())!.number;
    await relay.restore();
    await eventually(() => node.isConnected, { what: 'reconnected' });
    devnet.stopProducing();
    await devnet.newBlocks(2);
    const finalized = devnet.chain.finalized.number;
    assert.ok(finalized > cutAt + 30, `the chain advanced ${finalized - cutAt} blocks during the cut`);
    await storedUpTo(store, finalized, 30_000);
    assert.deepEqual(await storedMessages(store, devnet.config.paras), devnetTruth(devnet, 1, finalized));
    assert.equal((await store.counts()).blocks, finalized);
  });
});
