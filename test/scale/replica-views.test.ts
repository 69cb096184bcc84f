/**
 * An API replica's best-chain, pending and candidate views: built on the writer's commits read back
 * from PostgreSQL and the replica's own node connection, they carry what a `--role all` sidecar on
 * the same devnet sends, block for block, availability votes between backing and enactment included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import type { WriterService } from '../../src/writer.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { activeWriter, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

/** Subscribes and returns the updates received, each as `type@block:ids` (or a candidate's `type@block:hash`). */
async function follow(
  url: string,
  method: string,
  params: unknown[],
): Promise<{ seen: () => string[]; close(): void }> {
  const socket = await rpcSocket(url);
  const answer = await socket.call(method, params);
  assert.equal(answer.error, undefined, JSON.stringify(answer.error));
  const seen = () =>
    socket.notifications.map((n) => {
      const r = n.params!.result as {
        type: string;
        block: { number: number };
        messages?: { id: string }[];
        pending?: { candidateHash: string; position: number }[];
        candidate?: { candidateHash: string };
      };
      const items = r.candidate
        ? [r.candidate.candidateHash]
        : [
            ...(r.messages ?? []).map((m) => m.id),
            ...(r.pending ?? []).map((p) => `${p.candidateHash}/${p.position}`),
          ];
      return `${r.type}@${r.block.number}:${items.join(',')}`;
    });
  return { seen, close: () => socket.close() };
}

describe('an API replica', () => {
  let postgres: TestPostgres;
  let stack: Stack;
  let writer: WriterService;
  let replica: Sidecar;

  before(async () => {
    postgres = await startPostgres();
    const url = await postgres.database();
    // Two blocks from backing to enactment: votes counted in between are pushed as `availability`.
    stack = await startStack({ initialBlocks: 2, enactmentDelay: 2 });
    const started = await activeWriter(stack, url);
    writer = started.writer;
    const common = started.replicaBase;
    await stack.devnet.newBlocks(2);
    await storedUpTo(writer.store, stack.devnet.chain.finalized.number);
    replica = await startSidecar({ ...common, role: 'api' });
  });

  after(async () => {
    await replica?.close();
    await writer?.close();
    await stack?.close();
    await postgres?.close();
  });

  it('sends the best, pending and candidate updates a --role all sidecar sends', async (t) => {
    await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
    const views = [
      ['xcmp_subscribeInbox', [2000, { finality: 'best' }]],
      ['xcmp_subscribeInbox', [2001, { finality: 'pending' }]],
      ['xcmp_subscribeCandidates', [{ finality: 'finalized' }]],
      ['xcmp_subscribeCandidates', [{ finality: 'best' }]],
    ] as const;
    const subscribe = (url: string) =>
      Promise.all(views.map(([method, params]) => follow(url, method, [...params])));
    const [all, api] = await Promise.all([
      subscribe(stack.sidecar.server.url),
      subscribe(replica.server.url),
    ]);
    // Compared from the first block made after both subscribed (before it, each sent what it had then).
    const first = stack.devnet.chain.best.number + 1;
    for (let i = 0; i < 12; i++) {
      await stack.devnet.newBlocks(1);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const last = stack.devnet.chain.finalized.number;
    await storedUpTo(replica.store, last);
    const upTo = (keys: string[]) =>
      keys.filter((k) => {
        const block = Number(/@(\d+):/.exec(k)![1]);
        return block >= first && block <= last - 1;
      });
    for (const [i, [method, params]] of views.entries()) {
      const what = `${method} ${JSON.stringify(params)}`;
      await eventually(
        () => upTo(api[i]!.seen()).length >= upTo(all[i]!.seen()).length && upTo(all[i]!.seen()).length > 0,
        {
          what: `${what} on the replica`,
        },
      );
      assert.deepEqual(upTo(api[i]!.seen()), upTo(all[i]!.seen()), what);
      const availability = upTo(all[i]!.seen()).filter((k) => k.startsWith('availability@')).length;
      t.diagnostic(`${what}: ${upTo(all[i]!.seen()).length} updates equal (${availability} availability)`);
      if (method === 'xcmp_subscribeCandidates')
        assert.ok(
          upTo(all[i]!.seen()).some((k) => k.startsWith('availability@')),
          `${what}: availability updates`,
        );
    }
    for (const f of [...all, ...api]) f.close();
  });

  it('stops when asked: the replica and the writer close within 5 s', async () => {
    const within = (closing: Promise<void>, what: string) =>
      Promise.race([
        closing,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${what} did not close within 5 s`)), 5_000).unref(),
        ),
      ]);
    await within(replica.close(), 'the replica');
    await within(writer.close(), 'the writer');
  });
});
