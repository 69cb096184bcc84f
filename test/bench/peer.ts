/**
 * Catch-up side by side with substrate-api-sidecar on the same devnet blocks: `xcmp-sidecar
 * backfill` (the built CLI, end to end with its process start) against substrate-api-sidecar's
 * `GET /blocks/{n}?decodedXcmMsgs=true` for every block. substrate-api-sidecar is installed by this
 * benchmark into a temporary folder (kept there for the next run); it is not a dependency.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCliAsync } from '../helpers/cli.ts';
import { devnetProcess, finalizedNumber, makeBlocks, sleep } from './processes.ts';

const PEER_VERSION = process.env.BENCH_PEER_VERSION ?? '18.0.0';
const BLOCKS = Number(process.env.BENCH_PEER_BLOCKS ?? 10_000);
/** Requests in flight against substrate-api-sidecar: its best rate on this machine (1 is 35 % slower). */
const PEER_CONCURRENCY = Number(process.env.BENCH_PEER_CONCURRENCY ?? 16);
const DEVNET_PORT = 19_961;
const PEER_PORT = 19_962;

async function installPeer(): Promise<string> {
  const dir = join(tmpdir(), `xcmp-bench-api-sidecar-${PEER_VERSION}`);
  const bin = join(dir, 'node_modules/.bin/substrate-api-sidecar');
  if (!existsSync(bin)) {
    console.log(`installing @substrate/api-sidecar@${PEER_VERSION} into ${dir}`);
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'npm',
      ['install', '--prefix', dir, '--no-audit', '--no-fund', `@substrate/api-sidecar@${PEER_VERSION}`],
      { stdio: 'inherit' },
    );
  }
  return bin;
}

async function startPeer(bin: string, nodeUrl: string): Promise<ChildProcess> {
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      SAS_SUBSTRATE_URL: nodeUrl,
      SAS_EXPRESS_PORT: String(PEER_PORT),
      SAS_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // It logs nothing at level error once up: ask its root endpoint until it answers.
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (exited) throw new Error('substrate-api-sidecar exited at start');
    if (performance.now() > deadline) throw new Error('substrate-api-sidecar did not start within 60 s');
    const up = await fetch(`http://127.0.0.1:${PEER_PORT}/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await sleep(200);
  }
  return child;
}

/** HRMP messages in each block's backed candidates, as substrate-api-sidecar decodes them; and the wall time. */
async function peerCatchUp(
  last: number,
  concurrency: number,
): Promise<{ seconds: number; perBlock: number[] }> {
  const perBlock = new Array<number>(last + 1).fill(0);
  let next = 1;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next <= last) {
        const n = next++;
        const response = await fetch(`http://127.0.0.1:${PEER_PORT}/blocks/${n}?decodedXcmMsgs=true`);
        if (!response.ok) throw new Error(`substrate-api-sidecar: block ${n}: HTTP ${response.status}`);
        const body = (await response.json()) as { decodedXcmMsgs: { horizontalMessages: unknown[] } };
        perBlock[n] = body.decodedXcmMsgs.horizontalMessages.length;
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, perBlock };
}

/** Messages xcmp-sidecar stored as enacted in blocks `from..to` (HRMP messages are enacted a block after backing). */
function storedMessages(path: string, from: number, to: number): number {
  const db = new Database(path, { readonly: true });
  try {
    const row = db
      .prepare('SELECT COUNT(*) AS n FROM messages WHERE sent_at BETWEEN ? AND ?')
      .get(from, to) as {
      n: number;
    };
    return row.n;
  } finally {
    db.close();
  }
}

export async function benchPeer(): Promise<void> {
  console.log(
    `\ncatch-up side by side: xcmp-sidecar backfill vs substrate-api-sidecar ${PEER_VERSION} (devnet in its own process)`,
  );
  const peerBin = await installPeer();
  const devnet = await devnetProcess(['--retain-blocks', String(BLOCKS + 100)], DEVNET_PORT);
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-bench-peer-'));
  let peer: ChildProcess | null = null;
  try {
    const made = await makeBlocks(DEVNET_PORT, BLOCKS);
    const last = await finalizedNumber(DEVNET_PORT);
    const nodeUrl = `ws://127.0.0.1:${DEVNET_PORT}`;
    const db = join(dir, 'store.sqlite');
    const started = performance.now();
    const backfill = await runCliAsync(
      ['backfill', '--from', '1', '--to', String(last), '--node', nodeUrl, '--db', db],
      {},
      600_000,
    );
    if (backfill.status !== 0)
      throw new Error(`backfill exited ${backfill.status}: ${backfill.stderr.slice(-2000)}`);
    const ours = { seconds: (performance.now() - started) / 1000 };
    peer = await startPeer(peerBin, nodeUrl);
    const theirs = await peerCatchUp(last, PEER_CONCURRENCY);
    // Candidates backed in #1..#last-1 are enacted in #2..#last (availability delay 1, no time-outs).
    const peerMessages = theirs.perBlock.slice(1, last).reduce((a, b) => a + b, 0);
    const ourMessages = storedMessages(db, 2, last);
    const ourRate = last / ours.seconds;
    const peerRate = last / theirs.seconds;
    console.log(`  ${last} blocks (devnet made them at ${made.toFixed(0)} blocks/s)`);
    console.log(
      `  xcmp-sidecar backfill         ${ourRate.toFixed(1).padStart(8)} blocks/s  (${ours.seconds.toFixed(2)} s end to end, process start included)`,
    );
    console.log(
      `  substrate-api-sidecar         ${peerRate.toFixed(1).padStart(8)} blocks/s  (${theirs.seconds.toFixed(2)} s, ${PEER_CONCURRENCY} requests in flight, its start-up excluded)`,
    );
    console.log(`  ratio                         ${(ourRate / peerRate).toFixed(1).padStart(8)}×`);
    console.log(
      `  messages: xcmp-sidecar ${ourMessages} enacted in #2..#${last}, substrate-api-sidecar ${peerMessages} in candidates backed in #1..#${last - 1}`,
    );
    if (ourMessages !== peerMessages)
      throw new Error(`message counts disagree: ${ourMessages} vs ${peerMessages}`);
  } finally {
    peer?.kill('SIGTERM');
    devnet.kill('SIGTERM');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
}
