/**
 * Journeys (issue 29). (1) Latency, per XCM: its receiving para block imported by the devnet's para
 * node → the `executed` (or failed / overweight) journey update received by a subscriber, and →
 * that verdict's `verified` update; and the sidecar's own share: the relay block holding the
 * receiving block's watermark stored (the earliest the delivery can be checked against verified
 * messages) → the verdict received. Relay blocks every 1 s, finality 2 blocks behind. (2) Storage:
 * bytes per stored journey in SQLite (page bytes of the table and its indexes, from dbstat, or
 * the file's growth when SQLite lacks it), beside the body's JSON.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import type { JourneyUpdate } from '../../src/para/journey-book.ts';
import { startSidecar } from '../../src/sidecar.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { percentile } from './measure.ts';
import { sleep } from './processes.ts';

const SECONDS = Number(process.env.XCMP_BENCH_SECONDS ?? 90);
const VERDICTS = new Set(['executed', 'failed', 'overweight']);

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => percentile(sorted, p).toFixed(0);
  return `${name.padEnd(46)} n=${String(sorted.length).padStart(5)}  p50 ${at(50).padStart(6)} ms  p99 ${at(99).padStart(6)} ms`;
}

export async function benchJourney(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-bench-journey-'));
  const dbPath = join(dir, 'store.sqlite');
  const devnet = await startDevnet({ paraNodes: true, blockTimeMs: 1000, finalityLag: 2, initialBlocks: 2 });
  const sidecar = await startSidecar({
    nodeUrl: devnet.url,
    dbPath,
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    startAt: 1,
    paraNodes: [...devnet.paraUrls.values()],
  });
  /** Receiving block hash → when its node imported it; relay number → when the sidecar stored it. */
  const imported = new Map<string, number>();
  const stored = new Map<number, number>();
  for (const chain of devnet.chain.collators!.chains.values())
    chain.on('block', (block) => imported.set(block.hash, performance.now()));
  sidecar.ingest.on('block', (write) => stored.set(write.number, performance.now()));
  const watermarks = new Map<string, number>();
  for (const chain of devnet.chain.collators!.chains.values())
    chain.on('block', (block) => watermarks.set(block.hash, block.inbound.hrmpWatermark));
  const socket = await rpcSocket(sidecar.server.url);
  const received: { key: string; block: string; at: number; verifiedAt: number | null }[] = [];
  const byKey = new Map<string, (typeof received)[number]>();
  socket.socket.on('message', (data) => {
    const at = performance.now();
    const frame = JSON.parse(data.toString()) as { method?: string; params?: { result: JourneyUpdate } };
    if (frame.method !== 'xcmp_journey') return;
    const { stage, journey } = frame.params!.result;
    const verdict = journey.stages.findLast((s) => VERDICTS.has(s.stage));
    if (VERDICTS.has(stage) && verdict && !byKey.has(journey.key)) {
      const entry = { key: journey.key, block: verdict.paraBlock!.hash, at, verifiedAt: null };
      received.push(entry);
      byKey.set(journey.key, entry);
    } else if (stage === 'verified' && verdict?.verified) {
      const entry = byKey.get(journey.key);
      if (entry && entry.verifiedAt === null && entry.block === verdict.paraBlock!.hash)
        entry.verifiedAt = at;
    }
  });
  await socket.call('xcmp_subscribeJourneys', [{}]);
  const warmup = 10;
  await sleep(SECONDS * 1000);
  const sizeBefore = statSync(dbPath).size;
  socket.close();
  await sidecar.close();
  await devnet.close();

  const measured = received.filter((r) => imported.has(r.block)).slice(warmup * 4);
  const toVerdict = measured.map((r) => r.at - imported.get(r.block)!);
  const toVerified = measured
    .filter((r) => r.verifiedAt !== null)
    .map((r) => r.verifiedAt! - imported.get(r.block)!);
  const fromStored = measured
    .filter((r) => stored.has(watermarks.get(r.block)!))
    .map((r) => r.at - Math.max(stored.get(watermarks.get(r.block)!)!, imported.get(r.block)!));
  console.log(`\njourneys (${SECONDS} s of 1 s relay blocks, finality lag 2, 4 paras with their nodes)`);
  console.log(summary('receiving block imported → verdict received', toVerdict));
  console.log(summary('receiving block imported → verdict verified', toVerified));
  console.log(summary('watermark block stored → verdict received', fromStored));
  storage(dbPath, sizeBefore);
}

/** Bytes per stored journey: the table's and its indexes' pages (dbstat), and the JSON body alone. */
function storage(dbPath: string, fileBytes: number): void {
  const db = new Database(dbPath, { readonly: true });
  try {
    const { n, body } = db.prepare('SELECT COUNT(*) AS n, SUM(LENGTH(body)) AS body FROM journeys').get() as {
      n: number;
      body: number;
    };
    let pages: number | null = null;
    try {
      pages = (
        db
          .prepare(
            "SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name IN ('journeys', 'journeys_id', 'journeys_hash', 'journeys_sent') OR name LIKE 'sqlite_autoindex_journeys%'",
          )
          .get() as { bytes: number }
      ).bytes;
    } catch {
      pages = null;
    }
    const perJourney = pages === null ? 'dbstat not compiled in' : `${(pages / n).toFixed(0)} B on disk`;
    console.log(
      `storage: ${n} journeys, ${(body / n).toFixed(0)} B of JSON each, ${perJourney} (table and its 4 indexes); store file ${(fileBytes / 1e6).toFixed(1)} MB`,
    );
  } finally {
    db.close();
  }
}
