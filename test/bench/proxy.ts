/**
 * Added latency and throughput of the relay proxy: the same calls straight to the devnet and through
 * the sidecar, in one run, with the devnet, the sidecar and this client each in its own process.
 */
import { WsProvider } from '@polkadot/api';
import { percentile } from './measure.ts';
import { devnetProcess, makeBlocks, rpc, sidecarProcess, sleep } from './processes.ts';

const DEVNET_PORT = 19_963;
const SIDECAR_PORT = 19_964;

/** Latency of `calls` calls one after another. */
async function latency(
  provider: WsProvider,
  calls: number,
  at: string,
): Promise<{ p50: number; p99: number }> {
  const timings: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await provider.send('chain_getHeader', [at]);
    timings.push(performance.now() - start);
  }
  timings.sort((a, b) => a - b);
  return { p50: percentile(timings, 50), p99: percentile(timings, 99) };
}

/** Calls per second with `inFlight` calls sent at once. */
async function burst(provider: WsProvider, inFlight: number, at: string): Promise<number> {
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, () => provider.send('chain_getHeader', [at])));
  return inFlight / ((performance.now() - start) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchProxy(): Promise<void> {
  console.log(
    '\nrelay proxy: chain_getHeader straight to the devnet vs through the sidecar (devnet, sidecar and client in three processes, same run)',
  );
  const devnet = await devnetProcess([], DEVNET_PORT);
  const sidecar = await sidecarProcess(`ws://127.0.0.1:${DEVNET_PORT}`, SIDECAR_PORT);
  try {
    await makeBlocks(DEVNET_PORT, 5);
    const at = await rpc<string>(DEVNET_PORT, 'chain_getBlockHash', []);
    const direct = new WsProvider(`ws://127.0.0.1:${DEVNET_PORT}`);
    const proxied = new WsProvider(`ws://127.0.0.1:${SIDECAR_PORT}`);
    await Promise.all([direct.isReady, proxied.isReady]);
    await latency(direct, 200, at);
    await latency(proxied, 200, at);
    const a = await latency(direct, 2000, at);
    const b = await latency(proxied, 2000, at);
    // Bursts of 2,000 in flight, direct and proxied taking turns, 9 each: the median of each.
    const directRates: number[] = [];
    const proxiedRates: number[] = [];
    for (let round = 0; round < 10; round++) {
      const d = await burst(direct, 2000, at);
      const p = await burst(proxied, 2000, at);
      if (round > 0) {
        directRates.push(d);
        proxiedRates.push(p);
      }
    }
    const directRate = median(directRates);
    const proxiedRate = median(proxiedRates);
    console.log(
      `direct           p50 ${a.p50.toFixed(3)} ms  p99 ${a.p99.toFixed(3)} ms  ${directRate.toFixed(0)} calls/s (2,000 in flight, median of 9 bursts)`,
    );
    console.log(
      `through sidecar  p50 ${b.p50.toFixed(3)} ms  p99 ${b.p99.toFixed(3)} ms  ${proxiedRate.toFixed(0)} calls/s (${((100 * proxiedRate) / directRate).toFixed(0)} % of direct)`,
    );
    console.log(
      `added            p50 ${(b.p50 - a.p50).toFixed(3)} ms  p99 ${(b.p99 - a.p99).toFixed(3)} ms`,
    );
    await direct.disconnect();
    await proxied.disconnect();
  } finally {
    sidecar.kill('SIGTERM');
    devnet.kill('SIGTERM');
    await sleep(300);
  }
}
