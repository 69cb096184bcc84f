/** Devnet block production rate and memory, default config and the `--scale` preset. */
import { DevnetChain } from '../../src/devnet/chain.ts';
import { devnetConfig, scalePreset } from '../../src/devnet/config.ts';
import { DevnetEncoder } from '../../src/devnet/encoder.ts';

async function run(name: string, chain: DevnetChain, blocks: number): Promise<void> {
  for (let i = 0; i < 3; i++) await chain.produce();
  const start = performance.now();
  for (let i = 0; i < blocks; i++) await chain.produce();
  const seconds = (performance.now() - start) / 1000;
  const messages = [...chain.best.state.channels.values()].length;
  console.log(
    `${name.padEnd(44)} ${(blocks / seconds).toFixed(1).padStart(10)} blocks/s ${((seconds * 1000) / blocks).toFixed(1).padStart(8)} ms/block  RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB  (${messages} channels)`,
  );
}

export async function benchDevnet(): Promise<void> {
  console.log('\ndevnet block production (SCALE-encoded through @polkadot/types)');
  await run(
    'default: 4 paras, 12 channels, 20 validators',
    await DevnetChain.create(devnetConfig({ blockTimeMs: 0 }), new DevnetEncoder('polkadot-v15')),
    200,
  );
  await run(
    '--scale: 100 paras, 400 channels, 300 validators',
    await DevnetChain.create(scalePreset({ blockTimeMs: 0 }), new DevnetEncoder('polkadot-v15')),
    30,
  );
}
