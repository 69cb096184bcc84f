/**
 * Notification latency: from a block being produced (and finalized) on the devnet to its inbox
 * update reaching subscribers, at 1, 100 and 1,000 subscribers; and the sidecar's RSS holding
 * 10,000 open subscriptions. The sidecar runs as its own process (the real CLI).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevnet } from '../../src/devnet/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { percentile } from './measure.ts';
import { openSubscribers } from './subscribers.ts';

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

/** Receipt times of inbox updates, by block number. */
function timedByBlock(): {
  received: Map<number, number[]>;
  onNotification: (text: string, at: number) => void;
} {
  const received = new Map<number, number[]>();
  const onNotification = (text: string, at: number) => {
    const number = Number(/"block":\{"number":(\d+)/.exec(text)![1]);
    const list = received.get(number) ?? [];
    list.push(at);
    received.set(number, list);
  };
  return { received, onNotification };
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
      const { received, onNotification } = timedByBlock();
      const close = await openSubscribers(url, subscribers, perConnection, [2000], onNotification);
      const samples: number[] = [];
      for (let round = 0; round < 40; round++) {
        const [block] = await devnet.newBlocks(1);
        const producedAt = performance.now();
        const deadline = producedAt + 5000;
        while ((received.get(block!.number)?.length ?? 0) < subscribers && performance.now() < deadline)
          await sleep(1);
        for (const t of received.get(block!.number) ?? []) samples.push(t - producedAt);
        await sleep(50);
      }
      samples.sort((a, b) => a - b);
      console.log(
        `${`${subscribers} subscriber(s)`.padEnd(20)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${samples.length} notifications, ${Math.ceil(subscribers / perConnection)} connection(s))`,
      );
      close();
      await sleep(300);
    }
    const before = rssMb(sidecar.pid!);
    let counted = 0;
    const closeMany = await openSubscribers(url, 10_000, 100, [2000], () => {
      counted += 1;
    });
    const opened = rssMb(sidecar.pid!);
    const start = performance.now();
    await devnet.newBlocks(1);
    while (counted < 10_000 && performance.now() - start < 20_000) await sleep(5);
    const firstBlockMs = performance.now() - start;
    await devnet.newBlocks(1);
    while (counted < 20_000 && performance.now() - start < 40_000) await sleep(5);
    console.log(
      `10,000 open subscriptions (100 connections): sidecar RSS ${opened.toFixed(0)} MB open, ${rssMb(sidecar.pid!).toFixed(0)} MB after 2 blocks (${before.toFixed(0)} MB before); ` +
        `${counted} notifications delivered, the first block's 10,000 in ${firstBlockMs.toFixed(0)} ms`,
    );
    closeMany();
  } finally {
    sidecar.kill('SIGTERM');
    await new Promise((r) => sidecar.once('exit', r));
    await devnet.close();
  }
}
