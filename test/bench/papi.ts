/**
 * The new JSON-RPC spec through the proxy, as a polkadot-api client sees it: time to the first
 * finalized block, chainHead_v1_header calls and chainHead_v1_storage operations (answer, then the
 * event on the follow), straight to the devnet and through the sidecar, three processes, same run.
 */
import { createClient, type PolkadotClient } from 'polkadot-api';
import { getWsProvider } from 'polkadot-api/ws';
import WebSocket from 'ws';
import { percentile } from './measure.ts';
import { devnetProcess, makeBlocks, sidecarProcess, sleep } from './processes.ts';

const DEVNET_PORT = 19_973;
const SIDECAR_PORT = 19_974;
/** `System.Number`: a small storage value every block has. */
const SYSTEM_NUMBER = '0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac';

const papi = (port: number): PolkadotClient =>
  createClient(getWsProvider(`ws://127.0.0.1:${port}`, { websocketClass: WebSocket as never }));

async function timings(runs: number, work: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Median time from creating a client to its first finalized block, over `runs` fresh clients. */
async function firstFinalized(port: number, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const client = papi(port);
    await client.getFinalizedBlock();
    times.push(performance.now() - start);
    client.destroy();
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

async function measureOne(port: number) {
  const start = await firstFinalized(port, 7);
  const client = papi(port);
  const { hash } = await client.getFinalizedBlock();
  await timings(50, () => client.getBlockHeader(hash)); // warm-up
  const header = await timings(500, () => client.getBlockHeader(hash));
  // A new key each time: polkadot-api would answer a repeated query from its cache.
  let n = 0;
  const key = () => `${SYSTEM_NUMBER}${(n++).toString(16).padStart(8, '0')}`;
  const storage = await timings(500, () => client.rawQuery(key(), { at: hash }));
  client.destroy();
  return { start, header, storage };
}

export async function benchPapi(): Promise<void> {
  console.log(
    '\npolkadot-api 2.2.2 (new JSON-RPC spec) straight to the devnet vs through the sidecar (three processes, same run)',
  );
  const devnet = await devnetProcess([], DEVNET_PORT);
  const sidecar = await sidecarProcess(`ws://127.0.0.1:${DEVNET_PORT}`, SIDECAR_PORT);
  try {
    await makeBlocks(DEVNET_PORT, 5);
    // A first round of each, not counted: this process's JIT warms up on polkadot-api's code.
    await measureOne(DEVNET_PORT);
    await measureOne(SIDECAR_PORT);
    const rows: [string, Awaited<ReturnType<typeof measureOne>>][] = [
      ['direct', await measureOne(DEVNET_PORT)],
      ['through sidecar', await measureOne(SIDECAR_PORT)],
    ];
    for (const [name, r] of rows)
      console.log(
        `${name.padEnd(16)} first finalized block ${r.start.toFixed(1)} ms (median of 7 clients) · chainHead_v1_header p50 ${r.header.p50.toFixed(3)} ms p99 ${r.header.p99.toFixed(3)} ms · chainHead_v1_storage operation p50 ${r.storage.p50.toFixed(3)} ms p99 ${r.storage.p99.toFixed(3)} ms`,
      );
    const [[, a], [, b]] = rows as [[string, (typeof rows)[0][1]], [string, (typeof rows)[0][1]]];
    console.log(
      `added            header p50 ${(b.header.p50 - a.header.p50).toFixed(3)} ms · storage operation p50 ${(b.storage.p50 - a.storage.p50).toFixed(3)} ms · first block ${(b.start - a.start).toFixed(1)} ms`,
    );
  } finally {
    sidecar.kill('SIGTERM');
    devnet.kill('SIGTERM');
    await sleep(300);
  }
}
