import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WsProvider } from '@polkadot/api';
import WebSocket from 'ws';
import type { MailboxJson, MailboxUpdateJson, StatusJson } from '../../rpc/schemas.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

async function rawSocket(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const ask = (text: string) =>
    new Promise<{ id?: unknown; result?: unknown; error?: { code: number; message: string } }>((resolve) => {
      socket.once('message', (data) => resolve(JSON.parse(data.toString())));
      socket.send(text);
    });
  return { socket, ask };
}

describe('sidecar JSON-RPC server', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(
      { initialBlocks: 3 },
      { limits: { maxSubscriptionsPerConnection: 4, maxRequestSize: 64 * 1024, maxConnections: 6 } },
    );
    await advance(stack, 6);
  });
  after(() => stack?.close());

  const healthy = async () => {
    const { socket, ask } = await rawSocket(stack.sidecar.server.url);
    const answer = await ask('{"jsonrpc":"2.0","id":1,"method":"xcmp_status"}');
    socket.close();
    assert.equal(
      (answer.result as StatusJson).synced,
      stack.devnet.chain.finalized.number,
      'server still healthy',
    );
  };

  it('serves xcmp_* to an unmodified polkadot-js WsProvider: calls, subscription keyed as Substrate does, unsubscribe', async () => {
    const provider = new WsProvider(stack.sidecar.server.url);
    await provider.isReady;
    const inbox = await provider.send<MailboxJson>('xcmp_getInbox', [2000, {}]);
    assert.equal(inbox.paraId, 2000);
    assert.ok(inbox.messages.length > 0);
    assert.ok(inbox.messages.every((m) => m.recipient === 2000 && m.verified));
    assert.deepEqual(Object.keys(inbox.mqcHeads).sort(), ['1000', '2001', '2004']);
    const updates: MailboxUpdateJson[] = [];
    const id = await provider.subscribe(
      'xcmp_inbox',
      'xcmp_subscribeInbox',
      [2000],
      (error: Error | null, update: MailboxUpdateJson) => {
        if (!error) updates.push(update);
      },
    );
    await advance(stack, 2);
    await eventually(() => updates.length >= 2, { what: 'two inbox updates' });
    assert.equal(updates.length, 2);
    assert.ok(
      updates.every((u) => u.type === 'messages' && u.finality === 'finalized' && u.messages.length === 3),
    );
    assert.equal(await provider.unsubscribe('xcmp_inbox', 'xcmp_unsubscribeInbox', id), true);
    const candidate = await provider.send<{
      candidateHash: string;
      status: string;
      messages: unknown[];
      descriptorVersion: string;
      scheduling: unknown;
    }>('xcmp_getCandidate', [updates[0]!.messages[0]!.candidateHash]);
    assert.equal(candidate.status, 'included');
    assert.equal(candidate.descriptorVersion, 'v2');
    assert.equal(candidate.scheduling, null);
    assert.ok(candidate.messages.length >= 1);
    const message = await provider.send<{ id: string; xcm: { format: string } }>('xcmp_getMessage', [
      updates[0]!.messages[0]!.id,
      { decode: true },
    ]);
    assert.equal(message.xcm.format, 'concatenatedVersionedXcm');
    const channel = await provider.send<{ mqcHead: string; verifiedAt: number }>(
      'xcmp_getChannel',
      [1000, 2000],
    );
    const latest = await provider.send<MailboxJson>('xcmp_getInbox', [2000, { limit: 1 }]);
    assert.equal(channel.mqcHead, latest.mqcHeads['1000']);
    assert.equal(channel.verifiedAt, latest.at!.number);
    assert.equal((await provider.send<unknown[]>('xcmp_getChannels', [{ recipient: 2000 }])).length, 3);
    await provider.disconnect();
  });

  it('answers every error code over a raw socket and stays healthy after each', async () => {
    const { socket, ask } = await rawSocket(stack.sidecar.server.url);
    const cases: [string, number][] = [
      ['{"jsonrpc":"2.0","id":1,"method":"xcmp_getInbox"', -32700],
      ['{"jsonrpc":"2.0","id":2}', -32600],
      ['[]', -32600],
      ['{"jsonrpc":"2.0","id":3,"method":"xcmp_nope","params":[]}', -32601],
      ['{"jsonrpc":"2.0","id":4,"method":"xcmp_getInbox","params":["abc"]}', -32602],
      ['{"jsonrpc":"2.0","id":5,"method":"xcmp_getInbox","params":[2000,{"bogus":true}]}', -32602],
      ['{"jsonrpc":"2.0","id":6,"method":"xcmp_getInbox","params":[]}', -32602],
      ['{"jsonrpc":"2.0","id":7,"method":"xcmp_getCandidate","params":["0x1234"]}', -32602],
      [`{"jsonrpc":"2.0","id":8,"method":"xcmp_getCandidate","params":["0x${'ab'.repeat(32)}"]}`, -32004],
      ['{"jsonrpc":"2.0","id":9,"method":"xcmp_getMessage","params":["1-2-3-4"]}', -32004],
    ];
    for (const [request, code] of cases) {
      const answer = await ask(request);
      assert.equal(answer.error?.code, code, request);
      assert.doesNotMatch(answer.error!.message, /\n\s+at |\.ts:/, 'no stack or internals');
    }
    const invalidParams = await ask(
      '{"jsonrpc":"2.0","id":10,"method":"xcmp_subscribeInbox","params":[2000,{"finality":"soon"}]}',
    );
    assert.match(invalidParams.error!.message, /options\.finality/);
    for (let i = 0; i < 4; i++)
      assert.equal(
        typeof (await ask(`{"jsonrpc":"2.0","id":${20 + i},"method":"xcmp_subscribeCandidates","params":[]}`))
          .result,
        'string',
      );
    assert.equal(
      (await ask('{"jsonrpc":"2.0","id":30,"method":"xcmp_subscribeCandidates","params":[]}')).error?.code,
      -32006,
    );
    socket.close();
    await healthy();
  });

  it('closes the connection with 1009 on a frame over --rpc-max-request-size, and stays healthy', async () => {
    const { socket } = await rawSocket(stack.sidecar.server.url);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'xcmp_status', params: ['x'.repeat(70 * 1024)] }),
    );
    assert.equal(await closed, 1009);
    await healthy();
  });

  it('serves POST / (batches too), /health, /ready and /metrics over HTTP', async () => {
    const url = stack.sidecar.server.httpUrl;
    const batch = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'xcmp_status' },
        { jsonrpc: '2.0', id: 2, method: 'rpc_methods' },
        { jsonrpc: '2.0', id: 3, method: 'xcmp_subscribeInbox', params: [2000] },
      ]),
    });
    const [status, methods, subscribe] = (await batch.json()) as [
      { result: StatusJson },
      { result: { methods: string[] } },
      { error: { code: number } },
    ];
    assert.ok(status.result.synced! > 0);
    assert.ok(methods.result.methods.includes('xcmp_subscribeInbox'));
    assert.equal(subscribe.error.code, -32601, 'no subscriptions over HTTP');
    const big = await fetch(url, { method: 'POST', body: 'x'.repeat(70 * 1024) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: number } }).error.code, -32007);
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { ok: boolean }).ok, true);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /xcmp_rpc_calls_started\{method="xcmp_status"\}/);
    assert.match(
      metrics,
      /xcmp_rpc_calls_finished\{method="unknown",is_error="true"\}/,
      'unknown methods are bucketed',
    );
    assert.match(metrics, /xcmp_blocks_processed \d+/);
    assert.match(metrics, /xcmp_notification_latency_seconds_bucket/);
  });

  it('exports exactly the xcmp_* metrics the operator guide lists, with values that moved', async () => {
    const guide = readFileSync(join(repoRoot, 'docs/operator-guide.md'), 'utf8');
    const section = guide.slice(guide.indexOf('- `GET /metrics`'), guide.indexOf('## Backfill'));
    const documented = new Set([...section.matchAll(/`(xcmp_[a-z_]+)/g)].map((m) => m[1]!));
    const text = await (await fetch(`${stack.sidecar.server.httpUrl}/metrics`)).text();
    const exported = new Set(
      [...text.matchAll(/^# TYPE (xcmp_[a-z_]+) /gm)]
        .map((m) => m[1]!)
        .filter((name) => !/^xcmp_(process|nodejs)_/.test(name)),
    );
    assert.deepEqual([...exported].sort(), [...documented].filter((n) => !n.endsWith('_')).sort());
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    assert.equal(value(/^xcmp_blocks_processed (\d+)/m), (await stack.sidecar.store.counts()).blocks);
    assert.ok(value(/^xcmp_messages_stored\{verified="true"\} (\d+)/m) > 0);
    assert.equal(value(/^xcmp_head_lag_blocks (\d+)/m), 0);
    assert.match(text, /^xcmp_process_resident_memory_bytes \d+/m);
  });

  it('refuses connections beyond --rpc-max-connections with 503', async () => {
    const open = await Promise.all(Array.from({ length: 6 }, () => rawSocket(stack.sidecar.server.url)));
    const refused = await new Promise<number>((resolve) => {
      const extra = new WebSocket(stack.sidecar.server.url);
      extra.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      extra.once('open', () => resolve(101));
    });
    assert.equal(refused, 503);
    for (const { socket } of open) socket.close();
    await eventually(() => stack.sidecar.server.connectionCount === 0, { what: 'connections closed' });
    await healthy();
  });

  it('caps TCP connections too (HTTP keep-alive floods): past the limit and its margin they are dropped', async () => {
    const url = new URL(stack.sidecar.server.httpUrl);
    const held: Socket[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () => {
        const socket = connect(Number(url.port), url.hostname);
        held.push(socket);
        return new Promise<'answered' | 'dropped'>((resolve) => {
          socket.once('connect', () =>
            socket.write(`GET /health HTTP/1.1\r\nhost: ${url.host}\r\nconnection: keep-alive\r\n\r\n`),
          );
          socket.once('data', () => resolve('answered'));
          socket.once('close', () => resolve('dropped'));
          socket.once('error', () => resolve('dropped'));
        });
      }),
    );
    for (const socket of held) socket.destroy();
    const answered = outcomes.filter((o) => o === 'answered').length;
    // Idle keep-alive connections of earlier tests may hold some of the 6 + 16 places.
    assert.ok(
      answered >= 6 && answered <= 6 + 16,
      `${answered} of 40 connections answered (limit 6 + margin 16)`,
    );
    // Once the held connections are gone, new ones are accepted again.
    const health = `${stack.sidecar.server.httpUrl}/health`;
    await eventually(
      () =>
        fetch(health).then(
          (r) => r.ok,
          () => false,
        ),
      { what: 'accepting again' },
    );
    await healthy();
  });
});

describe('slow consumers', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(
      { messageSize: { min: 20_000, max: 45_000 } },
      { limits: { messageBufferCapacity: 8 } },
    );
    await advance(stack, 4);
  });
  after(() => stack?.close());

  it('closes a connection that does not read its notifications instead of buffering without bound', async () => {
    const socket = new WebSocket(stack.sidecar.server.url);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const subscribed = new Promise<void>((resolve) => {
      let answers = 0;
      socket.on('message', (data) => {
        if ((JSON.parse(data.toString()) as { id?: number }).id !== undefined && ++answers === 4) resolve();
      });
    });
    for (const para of [1000, 2000, 2001, 2004])
      socket.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: para,
          method: 'xcmp_subscribeInbox',
          params: [para, { decode: true }],
        }),
      );
    await subscribed;
    // Stop reading, while live blocks of 3 large messages per recipient keep coming (tens of MB).
    const raw = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    await advance(stack, 40);
    raw.resume(); // to read the close frame
    assert.equal(await closed, 1008);
    const metrics = await (await fetch(`${stack.sidecar.server.httpUrl}/metrics`)).text();
    assert.match(metrics, /xcmp_rpc_slow_consumers_disconnected 1/);
  });
});
