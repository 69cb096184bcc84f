/**
 * Beyond one process (DESIGN.md §11), with real processes and a real PostgreSQL: a writer, a
 * standby writer and three API replicas on one devnet, 300 subscribers per replica. Every
 * subscriber of a view gets the same updates on every replica; the writer is SIGKILLed (the standby
 * takes over), a replica is SIGKILLed (its XcmpClients move to another), PostgreSQL is down for
 * 10 s; and in the end every subscriber holds exactly the stored messages: no gap, no duplicate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/index.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { PgStore } from '../../src/store/postgres.ts';
import { messageId } from '../../src/store/types.ts';
import { type RunningCli, spawnCli } from '../helpers/cli.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const SUBSCRIBERS_PER_REPLICA = 300;

interface Subscriber {
  readonly para: number;
  /** Each update's result as JSON text, in order. */
  readonly updates: string[];
  ended: boolean;
}

/** Opens `count` WebSocket connections, each subscribed to one para's inbox from block 1. */
async function subscribers(
  url: string,
  paras: readonly number[],
  count: number,
): Promise<{ subs: Subscriber[]; close(): void }> {
  const sockets: WebSocket[] = [];
  const subs: Subscriber[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const socket = new WebSocket(url);
      sockets.push(socket);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      const sub: Subscriber = { para: paras[i % paras.length]!, updates: [], ended: false };
      subs.push(sub);
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as {
          method?: string;
          params?: { result?: unknown; error?: unknown };
        };
        if (frame.method === 'xcmp_inbox' && frame.params?.result)
          sub.updates.push(JSON.stringify(frame.params.result));
        else if (frame.method && frame.params?.error) sub.ended = true;
      });
      socket.on('close', () => {
        sub.ended = true;
      });
      socket.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'xcmp_subscribeInbox',
          params: [sub.para, { fromBlock: 1 }],
        }),
      );
    }),
  );
  return {
    subs,
    close: () => {
      for (const socket of sockets) socket.close();
    },
  };
}

/** The message ids an update sequence carries, in order. */
const idsOf = (updates: readonly string[]) =>
  updates.flatMap((u) => (JSON.parse(u) as MailboxUpdateJson).messages.map((m) => m.id));

async function health(httpUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('writer, standby and API replicas on PostgreSQL', () => {
  let postgres: TestPostgres;
  let devnet: Devnet;
  let url: string;
  let store: PgStore;
  const processes: RunningCli[] = [];

  const spawn = (role: 'writer' | 'api') => {
    const cli = spawnCli([
      '--role',
      role,
      '--node',
      devnet.url,
      '--db',
      url,
      '--port',
      '0',
      '--rpc-max-connections',
      String(SUBSCRIBERS_PER_REPLICA + 50),
      '--log',
      'info',
    ]);
    processes.push(cli);
    return cli;
  };
  const writerUrl = async (cli: RunningCli) => (await cli.until(/at (http:\/\/\S+)/))[1]!;
  const replicaUrls = async (cli: RunningCli) => {
    const [, ws] = await cli.until(/JSON-RPC: (ws:\/\/\S+)/);
    const [, http] = await cli.until(/\(HTTP (http:\/\/\S+);/);
    return { ws: ws!, http: http! };
  };
  const blocks = async (count: number) => {
    for (let i = 0; i < count; i++) {
      await devnet.newBlocks(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  before(async () => {
    postgres = await startPostgres();
    url = await postgres.database();
    devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 2000, initialBlocks: 2 });
  });

  after(async () => {
    // A process that died on its own (not one this test killed) says why.
    for (const p of processes)
      if (p.child.exitCode !== null) console.log(`exited ${p.child.exitCode}: ${p.stderr().slice(-1500)}`);
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await store?.close();
    await devnet?.close();
    await postgres?.close();
  });

  it('serve identical updates, survive a writer SIGKILL, a replica SIGKILL and PostgreSQL down for 10 s, losing nothing', async () => {
    const writerA = spawn('writer');
    const httpA = await writerUrl(writerA);
    await eventually(async () => (await health(httpA)).body.writer === 'active', { what: 'writer A active' });
    const writerB = spawn('writer');
    const httpB = await writerUrl(writerB);
    await eventually(async () => (await health(httpB)).body.writer === 'standby', {
      what: 'writer B standby',
    });
    store = await PgStore.open(url);
    await blocks(3);
    await storedUpTo(store, devnet.chain.finalized.number);
    const replicaProcesses = [spawn('api'), spawn('api'), spawn('api')];
    const replicas = await Promise.all(replicaProcesses.map(replicaUrls));
    const paras = devnet.config.paras;
    for (const replica of replicas) {
      const { status, body } = await health(replica.http);
      assert.equal(status, 200);
      assert.equal(body.role, 'api');
      assert.equal(body.writerAlive, true, 'the writer committed lately');
    }
    const groups = await Promise.all(replicas.map((r) => subscribers(r.ws, paras, SUBSCRIBERS_PER_REPLICA)));
    // XcmpClients on the third replica, the first as their fallback.
    const clients = await Promise.all(
      paras.map(() => XcmpClient.connect([replicas[2]!.ws, replicas[0]!.ws], { reconnectMs: 100 })),
    );
    const viaClient = paras.map(() => [] as string[]);
    await Promise.all(
      clients.map((client, i) =>
        client.subscribeInbox(
          paras[i]!,
          (update: MailboxUpdateJson) => viaClient[i]!.push(...update.messages.map((m) => m.id)),
          { fromBlock: 1 },
        ),
      ),
    );

    await blocks(40);
    const killedAt = Date.now();
    writerA.child.kill('SIGKILL');
    await blocks(10);
    await eventually(async () => (await health(httpB)).body.writer === 'active', {
      what: 'the standby took over',
      timeoutMs: 10_000,
    });
    const takeoverMs = Date.now() - killedAt;
    await blocks(20);
    await storedUpTo(store, devnet.chain.finalized.number, 20_000);

    replicaProcesses[2]!.child.kill('SIGKILL');
    await blocks(10);

    await postgres.stop();
    const downAt = Date.now();
    await blocks(5);
    const saidSo = await Promise.all([
      eventually(async () => (await health(httpB)).status === 503, {
        what: 'the writer says PostgreSQL is down',
      }),
      eventually(async () => (await health(replicas[0]!.http)).status === 503, {
        what: 'a replica says PostgreSQL is down',
      }),
    ]);
    assert.ok(saidSo);
    const downFor = 10_000 - (Date.now() - downAt);
    for (let left = downFor; left > 0; left -= 500) {
      await devnet.newBlocks(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await postgres.start();
    await blocks(15);
    const last = devnet.chain.finalized.number;
    await storedUpTo(store, last, 30_000);
    for (const r of replicas.slice(0, 2))
      await eventually(async () => (await health(r.http)).status === 200, {
        what: `${r.http} healthy again`,
        timeoutMs: 20_000,
      });

    // Every subscriber holds exactly the stored messages of its para, from block 1 to the last.
    const truth = new Map<number, string[]>();
    for (const para of paras)
      truth.set(para, (await store.inbox(para, { toBlock: last, limit: 1_000_000 })).map(messageId));
    const live = groups.slice(0, 2);
    await eventually(
      () =>
        live.every((g) => g.subs.every((s) => idsOf(s.updates).length === truth.get(s.para)!.length)) &&
        viaClient.every((ids, i) => ids.length === truth.get(paras[i]!)!.length),
      { what: 'every subscriber caught up', timeoutMs: 20_000 },
    );
    for (const group of live)
      for (const sub of group.subs)
        assert.deepEqual(idsOf(sub.updates), truth.get(sub.para), `para ${sub.para}`);
    for (const [i, ids] of viaClient.entries())
      assert.deepEqual(ids, truth.get(paras[i]!), `XcmpClient for ${paras[i]} across the replica kill`);
    assert.ok(
      clients.every((c) => c.url === replicas[0]!.ws),
      'the clients moved to the first replica',
    );
    // Same bytes per view, on every replica (the killed one's, up to where it died).
    for (const para of paras) {
      const reference = live[0]!.subs.find((s) => s.para === para)!.updates;
      for (const group of groups)
        for (const sub of group.subs.filter((s) => s.para === para))
          assert.deepEqual(sub.updates, reference.slice(0, sub.updates.length), `view inbox ${para}`);
    }
    const blocksServed = last - 1;
    assert.ok(blocksServed >= 100, `${blocksServed} blocks`);
    assert.ok(takeoverMs < 10_000, `took over in ${takeoverMs} ms`);
    console.log(
      `standby took over in ${takeoverMs} ms; ${blocksServed} blocks; ${truth.get(paras[0]!)!.length} messages to ${paras[0]}`,
    );
    for (const client of clients) await client.close();
    for (const group of groups) group.close();
    // Asked to stop, the active writer and a replica exit 0 (as under systemd's SIGTERM).
    assert.equal(await writerB.stop('SIGTERM'), 0, 'the writer stopped cleanly');
    assert.equal(await replicaProcesses[0]!.stop('SIGTERM'), 0, 'a replica stopped cleanly');
  });
});
