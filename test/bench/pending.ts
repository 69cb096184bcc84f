/**
 * Pipelined push (issue 14). (1) Lead time: a pending update received → the block enacting it
 * imported by the sidecar, with 6 s devnet blocks and availability delay 1 and 2. (2) Latency: the
 * backing block's arrival at the sidecar (its best-head notification) → the pending update
 * received, at 1 and 1,000 subscribers. Devnet, sidecar and subscribers share this process, so the
 * subscribers' own work is part of the figures.
 */
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { percentile } from './measure.ts';
import { openSubscribers } from './subscribers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stack(
  options: Parameters<typeof startDevnet>[0],
): Promise<{ devnet: Devnet; sidecar: Sidecar }> {
  const devnet = await startDevnet({ port: 0, ...options });
  const sidecar = await startSidecar({
    nodeUrl: devnet.url,
    dbPath: ':memory:',
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    startAt: 1,
    limits: { maxSubscriptionsPerConnection: 1024 },
  });
  return { devnet, sidecar };
}

/** When the sidecar heard of each best head, by hash. */
function headArrivals(sidecar: Sidecar): Map<string, number> {
  const arrivals = new Map<string, number>();
  sidecar.ingest.on('bestHead', (head) => arrivals.set(head.hash, performance.now()));
  return arrivals;
}

async function leadTime(delay: number, enactments: number): Promise<void> {
  const { devnet, sidecar } = await stack({ blockTimeMs: 6000, enactmentDelay: delay, initialBlocks: 4 });
  try {
    const arrivals = new Map<number, number>();
    sidecar.ingest.on('bestHead', (head) => arrivals.set(head.number, performance.now()));
    const pendingAt = new Map<string, { received: number; backedIn: number }>();
    const leads: { blocks: number; ms: number }[] = [];
    const client = await XcmpClient.connect(sidecar.server.url);
    await client.subscribeInbox(
      2000,
      (update: MailboxUpdateJson) => {
        const now = performance.now();
        if (update.type === 'pending')
          for (const m of update.pending ?? [])
            if (!pendingAt.has(m.candidateHash))
              pendingAt.set(m.candidateHash, { received: now, backedIn: update.block.number });
        if (update.type !== 'messages') return;
        for (const hash of new Set(update.messages.map((m) => m.candidateHash))) {
          const pending = pendingAt.get(hash);
          const imported = arrivals.get(update.block.number);
          if (!pending || imported === undefined) continue;
          pendingAt.delete(hash);
          leads.push({ blocks: update.block.number - pending.backedIn, ms: imported - pending.received });
        }
      },
      { finality: 'pending' },
    );
    const deadline = performance.now() + (enactments * delay + 4) * 6500;
    while (leads.length < enactments && performance.now() < deadline) await sleep(100);
    await client.close();
    const ms = leads.map((l) => l.ms).sort((a, b) => a - b);
    const blocks = leads.map((l) => l.blocks);
    console.log(
      `availability delay ${delay}: lead ${Math.min(...blocks)}–${Math.max(...blocks)} block(s), ` +
        `${percentile(ms, 50).toFixed(0)} ms median (min ${ms[0]?.toFixed(0)}, max ${ms.at(-1)?.toFixed(0)}) over ${leads.length} candidates of para 2000's senders`,
    );
  } finally {
    await sidecar.close();
    await devnet.close();
  }
}

async function latency(subscribers: number, rounds: number): Promise<void> {
  const { devnet, sidecar } = await stack({ blockTimeMs: 0, initialBlocks: 4 });
  try {
    const arrivals = headArrivals(sidecar);
    await devnet.newBlocks(2);
    await sleep(500);
    const received: { hash: string; at: number }[] = [];
    const close = await openSubscribers(
      sidecar.server.url,
      subscribers,
      Math.min(subscribers, 100),
      [2000, { finality: 'pending' }],
      (text, at) => {
        if (text.includes('"type":"pending"'))
          received.push({ hash: /"block":\{"number":\d+,"hash":"(0x[0-9a-f]+)"/.exec(text)![1]!, at });
      },
    );
    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const [block] = await devnet.newBlocks(1);
      const deadline = performance.now() + 5000;
      const mine = () => received.filter((r) => r.hash === block!.hash);
      while (mine().length < subscribers && performance.now() < deadline) await sleep(1);
      const arrived = arrivals.get(block!.hash);
      if (arrived !== undefined) for (const r of mine()) samples.push(r.at - arrived);
      received.length = 0;
      await sleep(30);
    }
    close();
    samples.sort((a, b) => a - b);
    console.log(
      `${`${subscribers} subscriber(s)`.padEnd(18)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${samples.length} pending updates over ${rounds} blocks)`,
    );
  } finally {
    await sidecar.close();
    await devnet.close();
  }
}

export async function benchPending(): Promise<void> {
  console.log('\npending push: backing block arrives at the sidecar → pending update received');
  await latency(1, 40);
  await latency(1000, 40);
  console.log('\npending push: lead time, pending update received → enacting block imported (6 s blocks)');
  await leadTime(1, 4);
  await leadTime(2, 4);
}
