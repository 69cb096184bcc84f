/**
 * Notification latency: from a block being produced (and finalized) on the devnet (its answer to
 * dev_newBlock) to its inbox update reaching subscribers, at 1, 100, 1,000 and 10,000 subscribers,
 * with the sidecar's RSS. Devnet, sidecar (the built CLI) and subscribers run in three processes.
 */
import { readFileSync } from 'node:fs';
import { percentile } from './measure.ts';
import { devnetProcess, finalizedNumber, rpc, sidecarProcess, sleep } from './processes.ts';
import { openSubscribers } from './subscribers.ts';

const DEVNET_PORT = 19_976;

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Receipt times of inbox updates, by block number. */
export function timedByBlock(): {
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

/** Cumulative bucket counts of a Prometheus histogram, by upper bound in ms. */
function buckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const match of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm')))
    out.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]) * 1000, Number(match[2]));
  return out;
}

/** p50 and p99 of what a histogram observed between two scrapes, as the bucket bounds that hold them. */
function quantiles(before: string, after: string, name: string): string {
  const start = buckets(before, name);
  const end = [...buckets(after, name)].map(([le, count]) => [le, count - (start.get(le) ?? 0)] as const);
  const total = end.at(-1)?.[1] ?? 0;
  const bound = (q: number) => end.find(([, count]) => count >= q * total)?.[0] ?? Number.NaN;
  return `p50 ≤ ${bound(0.5)} ms, p99 ≤ ${bound(0.99)} ms (${total} observed)`;
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Rounds of one block each; returns every subscriber's receipt delay after the block was produced. */
export async function latencyRounds(
  devnetPort: number,
  received: Map<number, number[]>,
  subscribers: number,
  rounds: number,
  onBlock?: (number: number, times: readonly number[]) => void,
): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const number = (await finalizedNumber(devnetPort)) + 1;
    await rpc(devnetPort, 'dev_newBlock', [{ count: 1 }]);
    const producedAt = performance.now();
    const deadline = producedAt + 10_000;
    while ((received.get(number)?.length ?? 0) < subscribers && performance.now() < deadline) await sleep(1);
    for (const t of received.get(number) ?? []) samples.push(t - producedAt);
    onBlock?.(number, received.get(number) ?? []);
    received.delete(number);
    await sleep(subscribers >= 10_000 ? 300 : 50);
  }
  return samples.sort((a, b) => a - b);
}

export async function benchNotify(): Promise<void> {
  console.log(
    '\nnotification latency: devnet block produced (finality lag 0; devnet, sidecar and subscribers in three processes) → inbox update received',
  );
  console.log(
    "  (a) node announced the finalized head → block stored, (b) stored → handed to every socket: the sidecar's histograms",
  );
  const devnet = await devnetProcess(['--finality-lag', '0'], DEVNET_PORT);
  const port = 19_977;
  const sidecar = await sidecarProcess(`ws://127.0.0.1:${DEVNET_PORT}`, port, [
    '--rpc-max-connections',
    '500',
  ]);
  const url = `ws://127.0.0.1:${port}`;
  try {
    await rpc(DEVNET_PORT, 'dev_newBlock', [{ count: 3 }]);
    await sleep(1000);
    const idle = rssMb(sidecar.pid!);
    for (const [subscribers, perConnection, rounds] of [
      [1, 1, 40],
      [100, 100, 40],
      [1000, 100, 40],
      [10_000, 100, 20],
    ] as const) {
      const { received, onNotification } = timedByBlock();
      const close = await openSubscribers(url, subscribers, perConnection, [2000], onNotification);
      await latencyRounds(DEVNET_PORT, received, subscribers, 2); // warm-up
      const before = await scrape(port);
      const samples = await latencyRounds(DEVNET_PORT, received, subscribers, rounds);
      const after = await scrape(port);
      console.log(
        `${`${subscribers} subscriber(s)`.padEnd(20)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${samples.length} notifications, ${Math.ceil(subscribers / perConnection)} connection(s))`,
      );
      console.log(`${''.padEnd(20)} (a) ${quantiles(before, after, 'xcmp_block_delay_seconds')}`);
      console.log(`${''.padEnd(20)} (b) ${quantiles(before, after, 'xcmp_notification_latency_seconds')}`);
      if (subscribers === 10_000)
        console.log(
          `${''.padEnd(20)} sidecar RSS ${rssMb(sidecar.pid!).toFixed(0)} MB with 10,000 open (${idle.toFixed(0)} MB idle)`,
        );
      close();
      await sleep(500);
    }
  } finally {
    sidecar.kill('SIGTERM');
    await new Promise((r) => sidecar.once('exit', r));
    devnet.kill('SIGTERM');
  }
}
