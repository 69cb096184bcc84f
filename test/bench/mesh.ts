/**
 * The availability mesh (issue 31): erasure-code throughput (encode; reconstruct from recovery
 * chunks only, the costly case; baseline: blake2_256 over the same bytes) for a mesh of 6 and of
 * 10 members, and the latency of an aged read with only k of 6 members up, against the same read
 * of recent (full) history from the same sidecar.
 */

import { XcmpClient } from '../../src/client/index.ts';
import { encodeChunks, erasureReady, reconstruct, recoveryThreshold } from '../../src/derive/erasure.ts';
import { startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import { meshKeyFromSeed } from '../../src/mesh/members.ts';
import { blake2_256 } from '../../src/protocol/hash.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { freePort } from '../helpers/ports.ts';
import { storedUpTo } from '../helpers/wait.ts';
import { percentile } from './measure.ts';

function mbPerSecond(bytes: number, runs: number, work: () => void): number {
  work();
  const started = performance.now();
  for (let i = 0; i < runs; i++) work();
  return (bytes * runs) / 1e6 / ((performance.now() - started) / 1000);
}

function throughput(): void {
  console.log('\nErasure code (JAM, reed-solomon-simd in WASM), MB/s of slice data');
  for (const n of [6, 10]) {
    const k = recoveryThreshold(n);
    for (const size of [4096, 65_536, 1_048_576]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 131) & 0xff);
      const chunks = encodeChunks(data, n);
      const recovery = chunks.slice(n - k).map((bytes, i) => ({ index: n - k + i, bytes }));
      const runs = Math.max(5, Math.floor(20_000_000 / size));
      const encode = mbPerSecond(size, runs, () => encodeChunks(data, n));
      const decode = mbPerSecond(size, runs, () => reconstruct(recovery, n, size));
      const hash = mbPerSecond(size, runs, () => blake2_256(data));
      console.log(
        `  n ${n} (k ${k}), ${String(size).padStart(8)} B: encode ${encode.toFixed(0).padStart(5)}, reconstruct ${decode.toFixed(0).padStart(5)}, blake2_256 baseline ${hash.toFixed(0).padStart(5)}`,
      );
    }
  }
}

async function timedReads(url: string, recipient: number, blocks: readonly number[]): Promise<number[]> {
  const client = await XcmpClient.connect(url, { reconnectMs: 0, timeoutMs: 60_000 });
  const times: number[] = [];
  try {
    for (const block of blocks) {
      const started = performance.now();
      await client.call('xcmp_getInbox', [recipient, { fromBlock: block, toBlock: block }]);
      times.push(performance.now() - started);
    }
  } finally {
    await client.close();
  }
  return times.sort((a, b) => a - b);
}

async function agedReadLatency(): Promise<void> {
  const members = 6;
  const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, initialBlocks: 2 });
  const keys = Array.from({ length: members }, (_, i) => meshKeyFromSeed(blake2_256(Uint8Array.of(i, 42))));
  const ports = await Promise.all(keys.map(() => freePort()));
  const sidecars: Sidecar[] = [];
  try {
    for (const [i, key] of keys.entries())
      sidecars.push(
        await startSidecar({
          nodeUrl: devnet.url,
          dbPath: ':memory:',
          host: '127.0.0.1',
          port: ports[i]!,
          logger: silentLogger(),
          startAt: 1,
          mesh: {
            key,
            peers: keys.flatMap((peer, j) =>
              j === i ? [] : [{ key: peer.publicKey, url: `ws://127.0.0.1:${ports[j]}` }],
            ),
            fullRetention: 50,
          },
        }),
      );
    await devnet.newBlocks(250);
    for (const s of sidecars) await storedUpTo(s.store, devnet.chain.finalized.number, 120_000);
    for (const s of sidecars.slice(0, 4)) await s.close();
    const survivor = sidecars[5]!;
    const recipient = devnet.config.paras[0]!;
    const aged = await timedReads(
      survivor.server.url,
      recipient,
      Array.from({ length: 150 }, (_, i) => 20 + i),
    );
    const recent = await timedReads(
      survivor.server.url,
      recipient,
      Array.from({ length: 40 }, (_, i) => 210 + i),
    );
    const line = (name: string, t: number[]) =>
      `  ${name}: p50 ${percentile(t, 50).toFixed(1)} ms, p99 ${percentile(t, 99).toFixed(1)} ms (${t.length} reads)`;
    console.log(
      `\nAged read with k = 2 of ${members} members up (xcmp_getInbox of one block, recipient ${recipient})`,
    );
    console.log(line('aged block, read back from the mesh', aged));
    console.log(line('recent block, from the store (baseline)', recent));
  } finally {
    for (const s of sidecars.slice(4)) await s.close();
    await devnet.close();
  }
}

export async function benchMesh(): Promise<void> {
  await erasureReady();
  throughput();
  await agedReadLatency();
}
