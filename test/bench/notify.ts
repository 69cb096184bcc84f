/**
 * Notification latency: from a block being produced (and finalized) on the devnet to its inbox
 * update reaching subscribers, at 1, 100 and 1,000 subscribers; and the sidecar's RSS holding
 * 10,000 open subscriptions. The sidecar runs as its own process (the real CLI).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startDevnet } from '../../src/devnet/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startSidecarProcess(nodeUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin/xcmp-sidecar.js'),
      '--node',
      nodeUrl,
      '--db',
      ':memory:',
      '--port',
      String(port),
      '--log',
      'warn',
      '--rpc-max-connections',
      '500',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('xcmp-sidecar JSON-RPC')) resolve();
    });
    child.once('exit', () => reject(new Error('sidecar exited')));
  });
  return child;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface Connection {
  socket: WebSocket;
  /** receipt times of updates, by block number */
  received: Map<number, number[]>;
}

async function openSubscribers(url: string, total: number, perConnection: number): Promise<Connection[]> {
  const connections: Connection[] = [];
  for (let opened = 0; opened < total; opened += perConnection) {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const connection: Connection = { socket, received: new Map() };
    let acks = 0;
    const count = Math.min(perConnection, total - opened);
    const ready = new Promise<void>((resolve) => {
      socket.on('message', (data) => {
        const text = data.toString();
        if (text.includes('"method":"xcmp_inbox"')) {
          const now = performance.now();
          const number = Number(/"block":\{"number":(\d+)/.exec(text)![1]);
          const list = connection.received.get(number) ?? [];
          list.push(now);
          connection.received.set(number, list);
        } else if (++acks === count) resolve();
      });
    });
    for (let i = 0; i < count; i++)
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'xcmp_subscribeInbox', params: [2000] }));
    await ready;
    connections.push(connection);
  }
  return connections;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

export async function benchNotify(): Promise<void> {
  console.log('\nnotification latency: devnet block produced (finality lag 0) → inbox update received');
  const devnet = await startDevnet({ blockTimeMs: 0, finalityLag: 0, initialBlocks: 2, port: 0 });
  const port = 19_977;
  const sidecar = await startSidecarProcess(devnet.url, port);
  const url = `ws://127.0.0.1:${port}`;
  try {
    await devnet.newBlocks(3);
    await sleep(1000);
    for (const [subscribers, perConnection] of [
      [1, 1],
      [100, 100],
      [1000, 100],
    ] as const) {
      const connections = await openSubscribers(url, subscribers, perConnection);
      const samples: number[] = [];
      for (let round = 0; round < 40; round++) {
        const [block] = await devnet.newBlocks(1);
        const producedAt = performance.now();
        const deadline = producedAt + 5000;
        while (
          connections.reduce((n, c) => n + (c.received.get(block!.number)?.length ?? 0), 0) < subscribers &&
          performance.now() < deadline
        )
          await sleep(1);
        for (const c of connections)
          for (const t of c.received.get(block!.number) ?? []) samples.push(t - producedAt);
        await sleep(50);
      }
      samples.sort((a, b) => a - b);
      console.log(
        `${`${subscribers} subscriber(s)`.padEnd(20)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${samples.length} notifications, ${connections.length} connection(s))`,
      );
      for (const c of connections) c.socket.close();
      await sleep(300);
    }
    const before = rssMb(sidecar.pid!);
    const many = await openSubscribers(url, 10_000, 100);
    const opened = rssMb(sidecar.pid!);
    const counted = () =>
      many.reduce((n, c) => n + [...c.received.values()].reduce((m, l) => m + l.length, 0), 0);
    const start = performance.now();
    await devnet.newBlocks(1);
    while (counted() < 10_000 && performance.now() - start < 20_000) await sleep(5);
    const firstBlockMs = performance.now() - start;
    await devnet.newBlocks(1);
    while (counted() < 20_000 && performance.now() - start < 40_000) await sleep(5);
    console.log(
      `10,000 open subscriptions (100 connections): sidecar RSS ${opened.toFixed(0)} MB open, ${rssMb(sidecar.pid!).toFixed(0)} MB after 2 blocks (${before.toFixed(0)} MB before); ` +
        `${counted()} notifications delivered, the first block's 10,000 in ${firstBlockMs.toFixed(0)} ms`,
    );
    for (const c of many) c.socket.close();
  } finally {
    sidecar.kill('SIGTERM');
    await new Promise((r) => sidecar.once('exit', r));
    await devnet.close();
  }
}
