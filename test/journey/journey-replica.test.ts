/**
 * `xcmp_getJourney` on an API replica (`--role api`, following a writer through PostgreSQL, with the
 * receiving paras' nodes attached) answers as a `--role all` sidecar on the same devnet does: the
 * same journeys, stages, verdicts and verifications for every XCM delivered on a final chain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Journey, JourneyStage } from '../../src/para/journey-book.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import type { WriterService } from '../../src/writer.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { activeWriter, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

/** What a journey says of one final receiving chain: its stages there (not when they were seen). */
function settled(journey: Journey, final: (hash: string) => boolean) {
  const kept = (s: JourneyStage) =>
    s.stage === 'enacted' || (s.paraBlock !== undefined && final(s.paraBlock.hash));
  const { stages, ...rest } = journey;
  return {
    ...rest,
    stages: stages
      .filter(kept)
      .filter((s) => s.stage !== 'retracted' && s.stage !== 'stuck')
      .map(({ at: _at, ...stage }) => stage),
  };
}

describe('journeys on an API replica', { skip: skipWithoutFixtures }, () => {
  let postgres: TestPostgres;
  let stack: Stack;
  let writer: WriterService;
  let replica: Sidecar;
  const sockets: RpcSocket[] = [];

  before(async () => {
    postgres = await startPostgres();
    const url = await postgres.database();
    stack = await startStack({ initialBlocks: 2, finalityLag: 2 }, { paraNodes: 'devnet' });
    const started = await activeWriter(stack, url);
    writer = started.writer;
    const common = started.replicaBase;
    replica = await startSidecar({ ...common, role: 'api', paraNodes: [...stack.devnet.paraUrls.values()] });
    await eventually(() => replica.paras!.status().every((p) => p.state === 'following'), {
      what: 'followed',
    });
    for (let i = 0; i < 40; i++) {
      await stack.devnet.newBlocks(1, i % 7 === 3 ? { paraFork: new Set([2001]) } : undefined);
      for (const store of [stack.sidecar.store, writer.store])
        await storedUpTo(store, stack.devnet.chain.finalized.number);
    }
    await stack.devnet.newBlocks(6);
    for (const store of [stack.sidecar.store, writer.store])
      await storedUpTo(store, stack.devnet.chain.finalized.number);
    await eventually(() => (replica.ingest.status.cursor ?? 0) >= stack.devnet.chain.finalized.number, {
      what: 'the replica read the writer up to the finalized head',
    });
    for (const server of [stack.sidecar.server, replica.server]) sockets.push(await rpcSocket(server.url));
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await replica?.close();
    await writer?.close();
    await stack?.close();
    await postgres?.close();
  });

  it('answers xcmp_getJourney as --role all does for every XCM delivered on a final chain', async () => {
    const collators = stack.devnet.chain.collators!;
    const final = (hash: string) =>
      [...collators.chains.values()].some((c) => {
        const b = c.block(hash);
        return b !== undefined && b.number < c.finalized.number && c.blockAt(b.number)?.hash === hash;
      });
    const ids = [...collators.chains.values()].flatMap((chain) => {
      const list: string[] = [];
      for (let n = chain.finalized.number - 1; n > chain.finalized.number - 25; n--)
        list.push(...chain.blockAt(n)!.executions.map((e) => e.id));
      return list;
    });
    assert.ok(ids.length >= 100, `${ids.length} XCMs`);
    const proven = (journeys: Journey[]) =>
      journeys.every((j) =>
        j.stages.some((s) => ['executed', 'failed', 'overweight'].includes(s.stage) && s.verified),
      );
    const answers = async (socket: RpcSocket) =>
      Promise.all(
        ids.map(async (id) => {
          const answer = await socket.call('xcmp_getJourney', [id]);
          if (answer.error)
            throw new Error(`${socket === sockets[0] ? 'all' : 'api'} ${id}: ${answer.error.message}`);
          return answer.result as Journey[];
        }),
      );
    await eventually(
      async () => (await Promise.all(sockets.map(answers))).every((all) => all.every(proven)),
      {
        what: 'every verdict proven on both',
        timeoutMs: 20_000,
      },
    );
    const [all, api] = await Promise.all(sockets.map(answers));
    let compared = 0;
    ids.forEach((id, i) => {
      const ours = all![i]!.map((j) => settled(j, final));
      const theirs = api![i]!.map((j) => settled(j, final));
      assert.deepEqual(theirs, ours, `XCM ${id}`);
      compared += ours.length;
    });
    console.log(`# ${compared} journeys answered alike by --role all and --role api`);
  });
});
