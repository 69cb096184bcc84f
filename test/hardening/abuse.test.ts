/**
 * The fault and abuse battery against the real CLI in its own process, with its peak memory read
 * from /proc: huge batches over WebSocket and HTTP, slow readers, and 10,000 hostile inputs. The
 * full battery with more inputs and the ingest stall figures is `npm run bench -- abuse`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusJson } from '../../rpc/schemas.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { type ChildSidecar, httpCall, spawnSidecar } from '../helpers/child.ts';
import { errorsIn, runHostile, slowReaders } from '../helpers/hostile.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { eventually } from '../helpers/wait.ts';

const RSS_LIMIT_MB = 384;
const PARAS = [1000, 2000, 2001, 2002, 2003, 2004];

const inboxBatch = (count: number, limit: number) =>
  JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'xcmp_getInbox',
      params: [PARAS[1 + (i % 5)], { limit }],
    })),
  );

async function synced(sidecar: ChildSidecar, devnet: Devnet): Promise<void> {
  await eventually(
    async () =>
      (await httpCall<StatusJson>(sidecar.httpUrl, 'xcmp_status')).synced === devnet.chain.finalized.number,
    { timeoutMs: 60_000, what: 'sidecar synced' },
  );
}

describe('abuse battery (real CLI, separate process)', () => {
  let devnet: Devnet;
  let sidecar: ChildSidecar;
  let storedPerRecipient = 0;
  before(async () => {
    devnet = await startDevnet({
      blockTimeMs: 0,
      retainBlocks: 2000,
      initialBlocks: 3,
      paras: PARAS,
      messageSize: { min: 1000, max: 2000 },
    });
    const db = join(mkdtempSync(join(tmpdir(), 'xcmp-abuse-')), 'store.sqlite');
    sidecar = await spawnSidecar(['--node', devnet.url, '--port', '0', '--db', db, '--log', 'error']);
    // ~400 blocks, produced in steps so the devnet keeps answering the sidecar meanwhile.
    for (let i = 0; i < 20; i++) {
      await devnet.newBlocks(20);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await synced(sidecar, devnet);
    const inbox = await httpCall<{ messages: unknown[] }>(sidecar.httpUrl, 'xcmp_getInbox', [
      2000,
      { limit: 10_000 },
    ]);
    storedPerRecipient = inbox.messages.length;
    const { rssMb } = sidecar.memory();
    process.stderr.write(
      `# abuse: ${storedPerRecipient} messages per recipient stored; sidecar RSS ${rssMb.toFixed(0)} MB before abuse\n`,
    );
  });
  after(async () => {
    if (sidecar && sidecar.child.exitCode !== null)
      process.stderr.write(`sidecar exited: ${sidecar.stderr()}\n`);
    await sidecar?.stop();
    await devnet?.close();
  });

  const assertBounded = (what: string) => {
    const { peakMb, rssMb } = sidecar.memory();
    assert.ok(
      peakMb < RSS_LIMIT_MB,
      `${what}: peak RSS ${peakMb.toFixed(0)} MB (now ${rssMb.toFixed(0)} MB)`,
    );
    return peakMb;
  };

  it('one 25 KB frame asking for gigabytes (300 × xcmp_getInbox limit 10,000) gets -32008, memory stays bounded', async (t) => {
    assert.ok(storedPerRecipient >= 1500, `${storedPerRecipient} messages per recipient stored`);
    const client = await rpcSocket(sidecar.url);
    try {
      for (const count of [300, 1000]) {
        const text = inboxBatch(count, 10_000);
        const started = performance.now();
        const answer = await client.raw(text);
        const ms = performance.now() - started;
        assert.ok(!Array.isArray(answer), 'the whole batch is replaced by one error');
        const [error] = errorsIn(answer);
        assert.equal(error?.code, -32008);
        assert.equal(error?.message, 'The batch response was too large');
        t.diagnostic(
          `batch of ${count} (${(text.length / 1024).toFixed(0)} KB frame): -32008 in ${ms.toFixed(0)} ms`,
        );
      }
      // A batch whose answers fit is answered in full, in order.
      const small = (await client.raw(inboxBatch(1000, 1))) as {
        id: number;
        result: { messages: unknown[] };
      }[];
      assert.equal(small.length, 1000);
      assert.ok(small.every((answer, i) => answer.id === i && answer.result.messages.length === 1));
    } finally {
      client.close();
    }
    t.diagnostic(`peak RSS ${assertBounded('WebSocket batches').toFixed(0)} MB`);
  });

  it('the same over HTTP POST, and one call under the limit answers in full', async (t) => {
    const response = await fetch(sidecar.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: inboxBatch(300, 10_000),
    });
    const body = await response.text();
    assert.ok(body.length < 1024, `${body.length} bytes`);
    assert.equal(errorsIn(JSON.parse(body))[0]?.code, -32008);
    const full = await httpCall<{ messages: unknown[] }>(sidecar.httpUrl, 'xcmp_getInbox', [
      2001,
      { limit: 10_000 },
    ]);
    assert.ok(full.messages.length >= 1500);
    t.diagnostic(`peak RSS ${assertBounded('HTTP batch').toFixed(0)} MB`);
  });

  it('five floods at once, twice (4 WebSockets × 300 and an HTTP POST of 1,000 xcmp_getInbox limit 10,000): -32008 or -32009 each, memory bounded', async (t) => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => rpcSocket(sidecar.url)));
    const codes: number[] = [];
    try {
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all([
          ...clients.map((client) => client.raw(inboxBatch(300, 10_000))),
          fetch(sidecar.httpUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: inboxBatch(1000, 10_000),
          }).then((response) => response.json()),
        ]);
        for (const answer of answers) codes.push(errorsIn(answer)[0]?.code ?? 0);
      }
    } finally {
      for (const client of clients) client.close();
    }
    assert.ok(
      codes.every((code) => code === -32008 || code === -32009),
      JSON.stringify(codes),
    );
    t.diagnostic(
      `codes ${JSON.stringify(codes)}; peak RSS ${assertBounded('concurrent batches').toFixed(0)} MB`,
    );
  });

  it('10 slow readers × 100 large responses stay bounded, and others are still served', async (t) => {
    const readers = await slowReaders(sidecar.url, 10, 100);
    const pending = () => httpCall<StatusJson>(sidecar.httpUrl, 'xcmp_status');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const started = performance.now();
    await pending();
    const answerMs = performance.now() - started;
    const peak = assertBounded('slow readers');
    const { rssMb } = sidecar.memory();
    readers.terminate();
    t.diagnostic(
      `10 slow readers: peak RSS ${peak.toFixed(0)} MB, RSS ${rssMb.toFixed(0)} MB; another client answered in ${answerMs.toFixed(0)} ms`,
    );
    assert.ok(answerMs < 2000, `${answerMs} ms`);
  });

  it('10,000 hostile inputs: every one answered or ignored as JSON-RPC says, no -32603, no internals, server alive', async (t) => {
    const { inputs, frames, codes, bad } = await runHostile(sidecar.url, 10_000, 11);
    t.diagnostic(
      `${inputs} inputs, ${frames} frames back; errors by code: ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    assert.deepEqual(bad.slice(0, 10), []);
    assert.ok(frames > inputs * 0.8, `${frames} frames`);
    const status = await httpCall<StatusJson>(sidecar.httpUrl, 'xcmp_status');
    assert.equal(status.node.connected, true);
    await devnet.newBlocks(3);
    await synced(sidecar, devnet);
    t.diagnostic(`peak RSS ${assertBounded('hostile inputs').toFixed(0)} MB`);
  });
});
