/**
 * Ingest and store benchmarks: catch-up blocks/s from a devnet in another process (realistic and
 * --scale), RSS during catch-up, store insert rate, and inbox query latency over 1,000,000 messages.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { NodeClient } from '../../src/chain/node.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { silentLogger } from '../../src/log.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import type { Store } from '../../src/store/interface.ts';
import { PgStore } from '../../src/store/postgres.ts';
import { MessageStore } from '../../src/store/store.ts';
import type { BlockWrite } from '../../src/store/types.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { storedUpTo } from '../helpers/wait.ts';
import { percentile } from './measure.ts';
import { devnetProcess, finalizedNumber, makeBlocks, rpc, sleep } from './processes.ts';

/** Bytes of blocks #1..#last as the node serves them (header and extrinsics, decoded from hex). */
async function blockBytes(port: number, last: number): Promise<number> {
  let bytes = 0;
  for (let n = 1; n <= last; n++) {
    const hash = await rpc<string>(port, 'chain_getBlockHash', [n]);
    const { block } = await rpc<{ block: { extrinsics: string[] } }>(port, 'chain_getBlock', [hash]);
    bytes += block.extrinsics.reduce((total, hex) => total + (hex.length - 2) / 2, 0);
  }
  return bytes;
}

async function catchUp(name: string, devnetArgs: string[], blocks: number, port: number): Promise<void> {
  const devnet = await devnetProcess(devnetArgs, port);
  try {
    const produced = await makeBlocks(port, blocks);
    const dir = mkdtempSync(join(tmpdir(), 'xcmp-bench-'));
    const store = MessageStore.open(join(dir, 'store.sqlite'));
    const node = await NodeClient.connect(`ws://127.0.0.1:${port}`);
    const ingest = new Ingest({ node, store, logger: silentLogger(), startAt: 1 });
    const finalized = await finalizedNumber(port);
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    const start = performance.now();
    await ingest.start();
    await storedUpTo(store, finalized, 600_000);
    const seconds = (performance.now() - start) / 1000;
    clearInterval(sampler);
    const counts = await store.counts();
    await ingest.stop();
    await node.disconnect();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const megabytes = (await blockBytes(port, finalized)) / 1e6;
    console.log(
      `${name.padEnd(40)} ${(finalized / seconds).toFixed(1).padStart(8)} blocks/s  ${(megabytes / seconds).toFixed(1).padStart(6)} MB/s  ${(counts.messages / seconds).toFixed(0).padStart(7)} messages/s  peak RSS ${(peakRss / 1e6).toFixed(0)} MB  (${finalized} blocks of ${((megabytes * 1000) / finalized).toFixed(0)} kB, ${counts.messages} messages; devnet made them at ${produced.toFixed(1)} blocks/s)`,
    );
  } finally {
    devnet.kill('SIGTERM');
    await sleep(200);
  }
}

function syntheticBlock(
  number: number,
  recipients: number,
  perRecipient: number,
  data: Uint8Array,
): BlockWrite {
  const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
  const messages = [];
  for (let r = 0; r < recipients; r++) {
    for (let s = 0; s < perRecipient; s++) {
      messages.push({
        sender: 3000 + s,
        recipient: 2000 + r,
        sentAt: number,
        index: 0,
        data,
        hash: hash(number * 1_000_000 + r * 1000 + s),
        candidateHash: hash(s),
        blockHash: hash(number),
        mqcHeadAfter: hash(r),
        verified: true,
        reason: null,
      });
    }
  }
  return {
    number,
    hash: hash(number),
    parentHash: hash(number - 1),
    newCandidates: [],
    candidateUpdates: [],
    messages,
    channels: [],
    watermarks: [],
    failures: [],
  };
}

/** The store benchmark on one backend: `open` gives an empty store, `label` names it in the figures. */
async function storeBench(
  label: string,
  open: () => Promise<Store>,
  size: () => Promise<number>,
): Promise<void> {
  const store = await open();
  const name = (what: string) => `${label}: ${what}`.padEnd(52);
  const data = new Uint8Array(200).fill(7);
  const blocks = 1000;
  const recipients = 100;
  const perRecipient = 10;
  const start = performance.now();
  // As ingest writes at the head: one block per transaction.
  for (let n = 1; n <= blocks; n++) await store.writeBlock(syntheticBlock(n, recipients, perRecipient, data));
  const seconds = (performance.now() - start) / 1000;
  const total = blocks * recipients * perRecipient;
  console.log(
    `${name('store insert (1,000 messages per block)')} ${(total / seconds).toFixed(0).padStart(8)} messages/s  ${(blocks / seconds).toFixed(1)} blocks/s  (${total.toLocaleString('en')} messages of 200 B)`,
  );
  console.log(`${name('size on disk with 1M messages')} ${((await size()) / 1e6).toFixed(0).padStart(8)} MB`);
  const timings: number[] = [];
  let returned = 0;
  for (let q = 0; q < 2000; q++) {
    const recipient = 2000 + Math.floor(Math.random() * recipients);
    const from = 1 + Math.floor(Math.random() * (blocks - 10));
    const t = performance.now();
    returned += (await store.inbox(recipient, { fromBlock: from, toBlock: from + 9 })).length;
    timings.push(performance.now() - t);
  }
  timings.sort((a, b) => a - b);
  console.log(
    `${name('inbox query, 10-block range, 1M stored')} p50 ${percentile(timings, 50).toFixed(3)} ms  p99 ${percentile(timings, 99).toFixed(3)} ms  (${(returned / 2000).toFixed(0)} messages per answer)`,
  );
  const whole: number[] = [];
  for (let q = 0; q < 200; q++) {
    const t = performance.now();
    await store.inbox(2000 + (q % recipients));
    whole.push(performance.now() - t);
  }
  whole.sort((a, b) => a - b);
  console.log(
    `${name('inbox query, whole history (10,000 msgs)')} p50 ${percentile(whole, 50).toFixed(2)} ms  p99 ${percentile(whole, 99).toFixed(2)} ms`,
  );
  // Every recipient has taken in what was sent up to block 600: prune keeping 500 blocks drops #1..#500.
  const last = syntheticBlock(blocks + 1, 0, 0, data);
  const watermarks = Array.from({ length: recipients }, (_, r) => [2000 + r, 600] as const);
  await store.writeBlock({ ...last, watermarks });
  let pruneStart = performance.now();
  const pruned = await store.prune(blocks + 1 - 501);
  const firstMs = performance.now() - pruneStart;
  pruneStart = performance.now();
  await store.prune(blocks + 1 - 501);
  console.log(
    `${name('prune, 1M stored')} ${firstMs.toFixed(0).padStart(8)} ms for ${pruned.toLocaleString('en')} messages; again with nothing to remove ${(performance.now() - pruneStart).toFixed(1)} ms (no scan of the table)`,
  );
  await store.close();
}

/** Inserts and queries over 1,000,000 messages on both stores, in the same run. */
export async function benchStore(): Promise<void> {
  console.log(
    '\nstore: SQLite and PostgreSQL in the same run (1,000,000 messages of 200 B, 1,000 per block)',
  );
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-bench-store-'));
  const file = join(dir, 'store.sqlite');
  const fileSize = async () =>
    ['', '-wal'].reduce(
      (total, suffix) => total + (existsSync(file + suffix) ? statSync(file + suffix).size : 0),
      0,
    );
  await storeBench('SQLite', async () => MessageStore.open(file), fileSize);
  rmSync(dir, { recursive: true, force: true });
  const postgres = await startPostgres();
  try {
    const url = await postgres.database();
    const databaseSize = async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ size: string }>(
        'SELECT pg_database_size(current_database()) AS size',
      );
      await client.end();
      return Number(rows[0]!.size);
    };
    await storeBench('PostgreSQL', () => PgStore.open(url), databaseSize);
  } finally {
    await postgres.close();
  }
}

export async function benchIngest(): Promise<void> {
  console.log('\ningest and store (devnet in a separate process, ingest + SQLite file in this one)');
  if (!process.env.BENCH_SCALE_ONLY)
    await catchUp('catch-up, default devnet (4 paras)', ['--retain-blocks', '1000'], 500, 19_951);
  await catchUp('catch-up, --scale (100 paras, 400 ch.)', ['--scale', '--retain-blocks', '200'], 60, 19_952);
  if (!process.env.BENCH_SCALE_ONLY) await benchStore();
}
