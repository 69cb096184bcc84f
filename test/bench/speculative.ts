/**
 * The speculative tier (issue 28). (1) Latency: a para block imported by the sidecar (its messages
 * read from its node) → the `speculative` update received, at 1 and 1,000 subscribers; para blocks
 * imported by their nodes together with their relay block (the worst case: the sidecar is busy with
 * the relay block too) and 200 ms after it (a collator's authoring time). (2) Lead: the
 * `speculative` update received → the relay block enacting those messages imported by the sidecar,
 * in relay blocks (imported in between, the enacting one included) and ms, with 6 s devnet blocks
 * (availability delay 1). The devnet with its para nodes and the subscribers run in processes of
 * their own, as real nodes and clients do.
 */

import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { freePort } from '../helpers/ports.ts';
import { percentile } from './measure.ts';
import { devnetProcess, rpc, sleep } from './processes.ts';

const RECIPIENT = 2000;
const PARAS = [1000, 2000, 2001, 2004];

interface Stack {
  readonly devnet: ChildProcess;
  readonly port: number;
  readonly sidecar: Sidecar;
  close(): Promise<void>;
}

/** The devnet with its para nodes in a process of its own (as real nodes are); the sidecar here. */
async function stack(blockTimeMs: number, authoringMs = 0): Promise<Stack> {
  const port = await freePort();
  const devnet = await devnetProcess(
    ['--para-nodes', '--block-time-ms', String(blockTimeMs), '--para-authoring-ms', String(authoringMs)],
    port,
  );
  const sidecar = await startSidecar({
    nodeUrl: `ws://127.0.0.1:${port}`,
    dbPath: ':memory:',
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    startAt: 1,
    limits: { maxSubscriptionsPerConnection: 1024 },
    paraNodes: PARAS.map((para) => `ws://127.0.0.1:${port}/para/${para}`),
  });
  const deadline = performance.now() + 10_000;
  while (!sidecar.paras!.status().every((p) => p.state === 'following') && performance.now() < deadline)
    await sleep(20);
  return {
    devnet,
    port,
    sidecar,
    async close() {
      await sidecar.close();
      devnet.kill();
    },
  };
}

/** Subscribers in a process of their own; resolves once they are subscribed. */
async function subscribersProcess(
  url: string,
  total: number,
): Promise<{ report(): Promise<Map<string, number[]>> }> {
  const child = fork(new URL('./subscriber-process.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
  });
  child.send({ url, total, params: [RECIPIENT, { finality: 'speculative' }] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', () => reject(new Error('the subscribers process exited')));
  });
  return {
    async report() {
      const answer = new Promise<[string, number[]][]>((resolve) =>
        child.once('message', (m) => resolve((m as { arrivals: [string, number[]][] }).arrivals)),
      );
      child.send('report');
      return new Map(await answer);
    },
  };
}

async function latency(subscribers: number, rounds: number, authoringMs: number): Promise<void> {
  const { port, sidecar, close: stop } = await stack(0, authoringMs);
  const newBlock = () => rpc(port, 'dev_newBlock', [{ count: 1 }]);
  try {
    /** Para block hash → when its head reached the sidecar, and when its messages were read (imported). */
    const heads = new Map<string, number>();
    const imports = new Map<string, number>();
    // Before the hub's own listener, which fans the block out at once.
    sidecar.paras!.prependListener('block', (block) => {
      heads.set(block.hash, performance.timeOrigin + block.importedAt);
      imports.set(block.hash, performance.timeOrigin + performance.now());
    });
    // Warm up: the sidecar catches up with the devnet's first blocks and their para blocks.
    for (let i = 0; i < 5; i++) await newBlock();
    await sleep(1000);
    const thread = await subscribersProcess(sidecar.server.url, subscribers);
    // Two blocks after subscribing are not measured: each new subscription's replay is done by then.
    let measuredFrom = Number.POSITIVE_INFINITY;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    for (let round = -2; round < rounds; round++) {
      if (round === 0) {
        measuredFrom = performance.timeOrigin + performance.now();
        loop.enable();
      }
      await newBlock();
      await sleep(500);
    }
    await sleep(500);
    loop.disable();
    const arrivals = await thread.report();
    const fromImport: number[] = [];
    const fromHead: number[] = [];
    const reads: number[] = [];
    for (const [hash, times] of arrivals) {
      const imported = imports.get(hash);
      const head = heads.get(hash);
      if (imported === undefined || head === undefined || head < measuredFrom) continue;
      reads.push(imported - head);
      for (const at of times) {
        fromImport.push(at - imported);
        fromHead.push(at - head);
      }
    }
    const line = (what: string, samples: number[]) => {
      samples.sort((a, b) => a - b);
      return `${what} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms`;
    };
    const when = authoringMs === 0 ? 'with their relay block' : `${authoringMs} ms after their relay parent`;
    console.log(`${subscribers} subscriber(s), para blocks imported by their nodes ${when}:`);
    console.log(
      `${''.padEnd(18)} ${line('imported → received', fromImport)}  (${fromImport.length} speculative updates, ${reads.length} para blocks, ${rounds} relay blocks)`,
    );
    console.log(
      `${''.padEnd(18)} ${line('head → received    ', fromHead)}  (of which reading the block from its node: ${line('', reads).trim()})`,
    );
    console.log(
      `${''.padEnd(18)} the sidecar's event loop delay meanwhile: p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
    );
  } finally {
    await stop();
  }
}

interface Announced {
  readonly received: number;
  readonly relay: number;
}

async function lead(enactments: number): Promise<void> {
  const { sidecar, close: stop } = await stack(6000);
  try {
    const arrivals = new Map<number, number>();
    sidecar.ingest.on('bestHead', (head) => arrivals.set(head.number, performance.now()));
    const announced = new Map<string, Announced>();
    const paraHeadOf = new Map<string, string>();
    const leads: { blocks: number; ms: number }[] = [];
    // The devnet starts at genesis: from its third block on, its paras have cores and a history.
    while (arrivals.size < 3) await sleep(100);
    const client = await XcmpClient.connect(sidecar.server.url);
    // Only blocks announced live count: the subscription's replay of what was open is not a lead.
    const subscribedAt = Math.max(0, ...arrivals.keys());
    await client.subscribeInbox(
      RECIPIENT,
      (update: MailboxUpdateJson) => {
        const now = performance.now();
        if (update.type === 'speculative' && update.paraBlock && update.block.number > subscribedAt)
          announced.set(update.paraBlock.hash, { received: now, relay: update.block.number });
        for (const m of update.type === 'pending' ? (update.pending ?? []) : [])
          if (m.paraHead) paraHeadOf.set(m.candidateHash, m.paraHead);
        if (update.type !== 'messages') return;
        for (const hash of new Set(update.messages.map((m) => m.candidateHash))) {
          const said = announced.get(paraHeadOf.get(hash ?? '') ?? '');
          const imported = arrivals.get(update.block.number);
          if (!said || imported === undefined) continue;
          announced.delete(paraHeadOf.get(hash!)!);
          // Relay blocks the sidecar imported after the update was received, the enacting one included.
          const blocks = [...arrivals.values()].filter((t) => t > said.received && t <= imported).length;
          leads.push({ blocks, ms: imported - said.received });
        }
      },
      { finality: 'speculative' },
    );
    const deadline = performance.now() + (enactments + 6) * 6500;
    while (leads.length < enactments && performance.now() < deadline) await sleep(100);
    await client.close();
    const ms = leads.map((l) => l.ms).sort((a, b) => a - b);
    const blocks = leads.map((l) => l.blocks);
    console.log(
      `lead ${Math.min(...blocks)}–${Math.max(...blocks)} relay block(s), ${percentile(ms, 50).toFixed(0)} ms median ` +
        `(min ${ms[0]?.toFixed(0)}, max ${ms.at(-1)?.toFixed(0)}) over ${leads.length} para blocks sending to ${RECIPIENT}`,
    );
  } finally {
    await stop();
  }
}

export async function benchSpeculative(): Promise<void> {
  console.log(
    '\nspeculative push: para block imported by the sidecar (its messages read from its node) → speculative update received by subscribers in another process',
  );
  // Para blocks imported together with their relay block (the devnet's default: the worst case,
  // the sidecar busy with the relay block too), then after a collator's authoring time.
  await latency(1, 40, 0);
  await latency(1000, 40, 0);
  await latency(1000, 40, 200);
  console.log(
    '\nspeculative push: lead, speculative update received → enacting relay block imported (6 s blocks)',
  );
  await lead(6);
}
