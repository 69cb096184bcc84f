/** /health and /ready while the node goes away and comes back, as docs/operator-guide.md says. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startDevnet } from '../../src/devnet/index.ts';
import { VERSION } from '../../src/version.ts';
import { tcpRelay } from '../helpers/relay.ts';
import { sidecarOn, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

interface Report {
  readonly status: number;
  readonly body: { ok: boolean; reason?: string; synced?: number };
}

async function report(httpUrl: string, path: string): Promise<Report> {
  const response = await fetch(`${httpUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Report['body'] };
}

/** Polls `path` until it answers `status`; fails after 10 s with the last answer. */
async function reportWith(httpUrl: string, path: string, status: number): Promise<Report> {
  let last: Report | null = null;
  await eventually(
    async () => {
      last = await report(httpUrl, path);
      return last.status === status;
    },
    { intervalMs: 50, what: `${path} answering ${status} (last: ${JSON.stringify(last)})` },
  );
  return last!;
}

describe('health while the node is gone', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('answers 503 with a reason naming the node, then 200 again once it is back', async () => {
    const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000 });
    cleanups.push(() => devnet.close());
    const relay = await tcpRelay(devnet.port);
    cleanups.push(() => relay.close());
    const sidecar = await sidecarOn(relay.url);
    cleanups.push(() => sidecar.close());
    const get = (path: string) => report(sidecar.server.httpUrl, path);
    const until = (path: string, status: number) => reportWith(sidecar.server.httpUrl, path, status);

    await devnet.newBlocks(6);
    await storedUpTo(sidecar.store, devnet.chain.finalized.number);
    assert.deepEqual(await until('/health', 200), {
      status: 200,
      body: {
        ok: true,
        synced: devnet.chain.finalized.number,
        finalized: devnet.chain.finalized.number,
        role: 'all',
      },
    });
    assert.equal((await get('/ready')).status, 200);

    await relay.cut();
    const health = await until('/health', 503);
    assert.equal(health.body.ok, false);
    assert.equal(health.body.reason, `not connected to the node at ${relay.url}`);
    const ready = await get('/ready');
    assert.equal(ready.status, 503);
    assert.match(ready.body.reason ?? '', /not connected to the node/);
    assert.equal((await sidecar.status()).node.connected, false);
    const whileDown = await (await fetch(`${sidecar.server.httpUrl}/metrics`)).text();
    assert.match(
      whileDown,
      /^xcmp_upstream_connected 0$/m,
      'the metric an alert watches says the node is down',
    );
    // The store stays readable while the node is away.
    assert.ok((await sidecar.store.inbox(2000)).length > 0);

    await relay.restore();
    await devnet.newBlocks(3);
    await until('/health', 200);
    await storedUpTo(sidecar.store, devnet.chain.finalized.number, 15_000);
    assert.equal((await until('/ready', 200)).body.synced, devnet.chain.finalized.number);
    const metrics = await (await fetch(`${sidecar.server.httpUrl}/metrics`)).text();
    assert.match(metrics, /^xcmp_upstream_reconnects [1-9]/m, 'the reconnect is counted');
    assert.match(metrics, /^xcmp_upstream_connected 1$/m);
    const height = (status: string) =>
      Number(new RegExp(`^xcmp_block_height\\{status="${status}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(height('synced'), (await sidecar.store.cursor())?.number);
    assert.equal(height('finalized'), devnet.chain.finalized.number);
    assert.ok(height('best') >= height('finalized'));
    assert.match(
      metrics,
      new RegExp(`^xcmp_build_info\\{version="${VERSION.replaceAll('.', '\\.')}"\\} 1$`, 'm'),
    );
  });

  it('answers 503 naming the pruned block when the node no longer holds what ingest needs', async () => {
    const stack = await startStack({ initialBlocks: 100, retainBlocks: 32 }, { startAt: 10 });
    cleanups.push(() => stack.close());
    const { sidecar } = stack;
    const health = await reportWith(sidecar.server.httpUrl, '/health', 503);
    assert.match(health.body.reason ?? '', /^the node has no block #9: .*use an archive node/);
  });
});
