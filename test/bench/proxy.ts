/** Added latency of the relay proxy: the same calls straight to the devnet and through the sidecar, in one run. */
import { WsProvider } from '@polkadot/api';
import { advance, startStack } from '../helpers/sidecar.ts';
import { percentile } from './measure.ts';

async function measure(
  provider: WsProvider,
  calls: number,
  at: string,
): Promise<{ p50: number; p99: number; perSecond: number }> {
  const timings: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await provider.send('chain_getHeader', [at]);
    timings.push(performance.now() - start);
  }
  timings.sort((a, b) => a - b);
  const start = performance.now();
  const batch = 2000;
  await Promise.all(Array.from({ length: batch }, () => provider.send('chain_getHeader', [at])));
  return {
    p50: percentile(timings, 50),
    p99: percentile(timings, 99),
    perSecond: batch / ((performance.now() - start) / 1000),
  };
}

export async function benchProxy(): Promise<void> {
  console.log(
    '\nrelay proxy: chain_getHeader straight to the devnet vs through the sidecar (same process, same run)',
  );
  const stack = await startStack({ initialBlocks: 3 });
  try {
    await advance(stack, 5);
    const at = stack.devnet.chain.best.hash;
    const direct = new WsProvider(stack.devnet.url);
    const proxied = new WsProvider(stack.sidecar.server.url);
    await Promise.all([direct.isReady, proxied.isReady]);
    await measure(direct, 200, at);
    await measure(proxied, 200, at);
    const a = await measure(direct, 2000, at);
    const b = await measure(proxied, 2000, at);
    console.log(
      `direct           p50 ${a.p50.toFixed(3)} ms  p99 ${a.p99.toFixed(3)} ms  ${a.perSecond.toFixed(0)} calls/s (2,000 in flight)`,
    );
    console.log(
      `through sidecar  p50 ${b.p50.toFixed(3)} ms  p99 ${b.p99.toFixed(3)} ms  ${b.perSecond.toFixed(0)} calls/s`,
    );
    console.log(
      `added            p50 ${(b.p50 - a.p50).toFixed(3)} ms  p99 ${(b.p99 - a.p99).toFixed(3)} ms`,
    );
    await direct.disconnect();
    await proxied.disconnect();
  } finally {
    await stack.close();
  }
}
