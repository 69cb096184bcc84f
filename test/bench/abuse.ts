/**
 * `npm run bench -- abuse`: the full fault and abuse battery against the real CLI, with the devnet in
 * a process of its own making a block every 200 ms. Prints, per phase: inputs tried, answers, error
 * codes, the sidecar's RSS (now and peak) and the longest ingest stall (a finalized block's wait
 * until the sidecar stored it), against the same figures with no abuse in the same run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusJson } from '../../rpc/schemas.ts';
import { type ChildSidecar, httpCall, spawnSidecar } from '../helpers/child.ts';
import { errorsIn, runHostile, slowReaders } from '../helpers/hostile.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';

const PARAS = '1000,2000,2001,2002,2003,2004';
const BLOCK_MS = 200;

interface Phase {
  readonly name: string;
  readonly inputs: number;
  readonly answers: number;
  readonly codes: Record<string, number>;
  readonly bad: number;
  readonly stallMs: number;
  readonly maxLag: number;
  readonly rssMb: number;
  readonly peakMb: number;
}

/** Makes a block every BLOCK_MS on the devnet and measures how long each takes to be stored. */
function follow(devnetUrl: string, sidecar: ChildSidecar) {
  let stallMs = 0;
  let maxLag = 0;
  let running = true;
  const loop = (async () => {
    const devnet = await rpcSocket(devnetUrl);
    while (running) {
      const started = performance.now();
      await devnet.call('dev_newBlock', [1]);
      const head = (
        await devnet.call('chain_getHeader', [(await devnet.call('chain_getFinalizedHead')).result])
      ).result as { number: string };
      const target = Number.parseInt(head.number, 16);
      for (;;) {
        const status = await httpCall<StatusJson>(sidecar.httpUrl, 'xcmp_status');
        maxLag = Math.max(maxLag, status.lag ?? 0);
        if ((status.synced ?? 0) >= target) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      stallMs = Math.max(stallMs, performance.now() - started);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, BLOCK_MS - (performance.now() - started))),
      );
    }
    devnet.close();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { stallMs, maxLag };
    },
  };
}

async function phase(
  name: string,
  devnetUrl: string,
  sidecar: ChildSidecar,
  run: () => Promise<{ inputs: number; answers: number; codes: Map<number, number>; bad: number }>,
): Promise<Phase> {
  const follower = follow(devnetUrl, sidecar);
  const result = await run();
  const { stallMs, maxLag } = await follower.stop();
  const memory = sidecar.memory();
  return {
    name,
    inputs: result.inputs,
    answers: result.answers,
    codes: Object.fromEntries(result.codes),
    bad: result.bad,
    stallMs,
    maxLag,
    ...{ rssMb: memory.rssMb, peakMb: memory.peakMb },
  };
}

async function hostile(url: string, count: number, seed: number) {
  const run = await runHostile(url, count, seed);
  return { inputs: run.inputs, answers: run.frames, codes: run.codes, bad: run.bad.length };
}

function inboxBatch(count: number): string {
  const calls = Array.from({ length: count }, (_, i) => ({
    jsonrpc: '2.0',
    id: i,
    method: 'xcmp_getInbox',
    params: [2000 + (i % 5), { limit: 10_000 }],
  }));
  return JSON.stringify(calls);
}

async function batches(sidecar: ChildSidecar) {
  const codes = new Map<number, number>();
  let answers = 0;
  const clients = await Promise.all(Array.from({ length: 4 }, () => rpcSocket(sidecar.url)));
  for (let round = 0; round < 10; round++) {
    const frames = await Promise.all([
      ...clients.map((client) => client.raw(inboxBatch(300))),
      fetch(sidecar.httpUrl, {
        method: 'POST',
        body: inboxBatch(1000),
        headers: { 'content-type': 'application/json' },
      }).then((r) => r.json()),
    ]);
    for (const frame of frames) {
      answers++;
      for (const error of errorsIn(frame)) codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
  }
  for (const client of clients) client.close();
  return { inputs: 50, answers, codes, bad: 0 };
}

async function slowReading(sidecar: ChildSidecar) {
  const readers = await slowReaders(sidecar.url, 10, 100);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  readers.terminate();
  return { inputs: 1000, answers: 0, codes: new Map<number, number>(), bad: 0 };
}

export async function benchAbuse(): Promise<void> {
  const devnet = await spawnDevnet();
  const db = join(mkdtempSync(join(tmpdir(), 'xcmp-bench-abuse-')), 'store.sqlite');
  const sidecar = await spawnSidecar(['--node', devnet.url, '--port', '0', '--db', db, '--log', 'error']);
  const control = await rpcSocket(devnet.url);
  for (let i = 0; i < 20; i++) await control.call('dev_newBlock', [20]);
  control.close();
  const idle = sidecar.memory();
  const phases: Phase[] = [];
  const idlePhase = async () => {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    return { inputs: 0, answers: 0, codes: new Map<number, number>(), bad: 0 };
  };
  phases.push(await phase('no abuse (5 s)', devnet.url, sidecar, idlePhase));
  phases.push(
    await phase('batches: 40 × 300 WS + 10 × 1000 HTTP', devnet.url, sidecar, () => batches(sidecar)),
  );
  phases.push(
    await phase('10 slow readers × 100 responses', devnet.url, sidecar, () => slowReading(sidecar)),
  );
  phases.push(await phase('hostile inputs', devnet.url, sidecar, () => hostile(sidecar.url, 50_000, 7)));
  const alive = await httpCall<StatusJson>(sidecar.httpUrl, 'xcmp_status');
  console.log(
    `\nAbuse battery (sidecar RSS ${idle.rssMb.toFixed(0)} MB after catching up ${alive.counts.messages} messages)`,
  );
  console.log(
    `${'phase'.padEnd(40)} ${'inputs'.padStart(7)} ${'answers'.padStart(8)} ${'-32603/internals'.padStart(17)} ${'ingest stall ms'.padStart(16)} ${'max lag'.padStart(8)} ${'RSS MB'.padStart(7)} ${'peak MB'.padStart(8)}`,
  );
  for (const p of phases) {
    console.log(
      `${p.name.padEnd(40)} ${String(p.inputs).padStart(7)} ${String(p.answers).padStart(8)} ${String(p.bad).padStart(17)} ${p.stallMs.toFixed(0).padStart(16)} ${String(p.maxLag).padStart(8)} ${p.rssMb.toFixed(0).padStart(7)} ${p.peakMb.toFixed(0).padStart(8)}`,
    );
    if (Object.keys(p.codes).length > 0)
      console.log(`${''.padEnd(40)} error codes: ${JSON.stringify(p.codes)}`);
  }
  console.log(
    `still answering: synced #${alive.synced}, lag ${alive.lag}, node connected: ${alive.node.connected}`,
  );
  await sidecar.stop();
  await devnet.stop();
}

/** The devnet in a process of its own, so the battery's own work does not slow the node down. */
async function spawnDevnet(): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { repoRoot } = await import('../helpers/fixtures.ts');
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin/xcmp-sidecar.js'),
      'devnet',
      '--port',
      '0',
      '--block-time-ms',
      '0',
      '--paras',
      PARAS,
      '--message-size',
      '1000-2000',
      '--retain-blocks',
      '5000',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (ws:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
