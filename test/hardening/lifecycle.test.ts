/**
 * What an unlucky operator meets: a start that fails after connecting, a second sidecar on the same
 * database, the database file deleted while running, a browser page from another origin.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { silentLogger } from '../../src/log.ts';
import { startSidecar } from '../../src/sidecar.ts';
import { MessageStore } from '../../src/store/store.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { notReadyNode } from '../helpers/not-ready-node.ts';
import { freePort } from '../helpers/ports.ts';
import { advance, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcmp-lifecycle-'));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function upgrade(url: string, origin?: string, host?: string): Promise<number> {
  return new Promise((resolve) => {
    const headers = { ...(origin ? { origin } : {}), ...(host ? { host } : {}) };
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', () => resolve(0));
  });
}

describe('lifecycle', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('a start that fails after connecting stops everything it started: port, database lock, node connection', async () => {
    const node = await notReadyNode('not ready');
    cleanups.push(() => node.close());
    const db = join(dir, 'failed-start.sqlite');
    const port = await freePort();
    await assert.rejects(
      startSidecar({ nodeUrl: node.url, dbPath: db, host: '127.0.0.1', port, logger: silentLogger() }),
      /not ready/,
    );
    assert.ok(await portIsFree(port), 'the RPC port was released');
    await MessageStore.open(db).close(); // the lock was released
  });

  it('the CLI exits 1 on such a start instead of serving on with ingest dead', async () => {
    const node = await notReadyNode('not ready');
    cleanups.push(() => node.close());
    const port = await freePort();
    const started = Date.now();
    const result = await runCliAsync([
      '--node',
      node.url,
      '--port',
      String(port),
      '--db',
      join(dir, 'cli.sqlite'),
    ]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /not ready/);
    assert.ok(Date.now() - started < 15_000, `exited after ${Date.now() - started} ms`);
    assert.ok(await portIsFree(port));
  });

  it('a second sidecar on the same database exits 1 naming the holder; the first keeps working', async () => {
    const db = join(dir, 'owned.sqlite');
    const stack = await startStack({ initialBlocks: 3 }, { dbPath: db });
    cleanups.push(() => stack.close());
    await advance(stack, 2);
    const result = await runCliAsync(['--node', stack.devnet.url, '--port', '0', '--db', db]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`is in use by process ${process.pid} on `));
    assert.match(result.stderr, /choose another --db/);
    assert.throws(() => MessageStore.open(db), /is in use by process/, 'in the same process too');
    await advance(stack, 2);
    assert.equal((await stack.sidecar.store.cursor())?.number, stack.devnet.chain.finalized.number);
  });

  it('deleting the database file while running gives 503 within 10 s and stops ingest', async () => {
    const db = join(dir, 'deleted.sqlite');
    const stack = await startStack({ initialBlocks: 3 }, { dbPath: db });
    cleanups.push(() => stack.close());
    await advance(stack, 2);
    const health = () => fetch(`${stack.sidecar.server.httpUrl}/health`);
    assert.equal((await health()).status, 200);
    const deletedAt = Date.now();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    const answer = await eventually(
      async () => {
        const response = await health();
        return response.status === 503 ? ((await response.json()) as { reason: string }) : null;
      },
      { timeoutMs: 10_000, what: '/health 503' },
    );
    const elapsed = Date.now() - deletedAt;
    assert.ok(elapsed <= 10_000, `${elapsed} ms`);
    assert.match(answer.reason, /was deleted while in use/);
    assert.equal((await fetch(`${stack.sidecar.server.httpUrl}/ready`)).status, 503);
    const metrics = await (await fetch(`${stack.sidecar.server.httpUrl}/metrics`)).text();
    assert.match(metrics, /^xcmp_store_available 0$/m);
    const cursor = (await stack.sidecar.store.cursor())?.number;
    await stack.devnet.newBlocks(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await stack.sidecar.store.cursor())?.number, cursor, 'ingest wrote nothing more');
  });

  it('--rpc-cors applies to WebSocket upgrades: a disallowed Origin gets 403, no Origin is allowed', async () => {
    const stack = await startStack({ initialBlocks: 1 }, { cors: ['http://dashboard.example'] });
    cleanups.push(() => stack.close());
    const url = stack.sidecar.server.url;
    assert.equal(await upgrade(url, 'http://evil.example'), 403);
    assert.equal(await upgrade(url, 'null'), 403);
    assert.equal(await upgrade(url, 'http://dashboard.example'), 101);
    assert.equal(await upgrade(url), 101, 'non-browser clients send no Origin');
    const port = stack.sidecar.server.port;
    assert.equal(await upgrade(url, `http://127.0.0.1:${port}`), 101, 'its own dashboard, same origin');
    assert.equal(await upgrade(url, `http://127.0.0.1:${port + 1}`), 403, 'another port is another origin');
    const rebound = await upgrade(url, `http://evil.example:${port}`, `evil.example:${port}`);
    assert.equal(rebound, 403, 'a rebound DNS name is not taken for the same origin');
    const all = await startStack({ initialBlocks: 1 }, { cors: '*' });
    cleanups.push(() => all.close());
    assert.equal(await upgrade(all.sidecar.server.url, 'http://evil.example'), 101, '--rpc-cors all');
  });
});
