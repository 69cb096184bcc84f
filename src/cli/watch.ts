/**
 * The default command until the store and server land: follow a node's finalized blocks (the
 * embedded devnet when no --node is given) and print what each block's candidates verify to.
 */
import { NodeClient } from '../chain/node.ts';
import { observeBlock } from '../derive/observe.ts';
import { startDevnet } from '../devnet/index.ts';
import type { Hex } from '../protocol/bytes.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';

export async function runWatch(options: {
  node?: string;
  devnetPort: number;
  blockTimeMs: number;
}): Promise<void> {
  const devnet = options.node
    ? null
    : await startDevnet({ port: options.devnetPort, blockTimeMs: options.blockTimeMs });
  const url = options.node ?? devnet!.url;
  if (devnet) {
    process.stdout.write(`devnet (a simulated Polkadot relay chain, not a node): ${devnet.url}\n`);
  }
  let node: NodeClient;
  try {
    node = await NodeClient.connect(url, { reconnectMs: 2_000 });
  } catch (error) {
    await devnet?.close();
    throw new CliError((error as Error).message, EXIT_RUNTIME);
  }
  process.stdout.write(`following finalized blocks of ${url}\n`);
  let queue = Promise.resolve();
  const subscription = await node.provider.subscribe(
    'chain_finalizedHead',
    'chain_subscribeFinalizedHeads',
    [],
    (error: Error | null, header: { number: string; parentHash: Hex } | undefined) => {
      if (error || !header) return;
      queue = queue
        .then(async () => {
          const number = Number.parseInt(header.number, 16);
          const hash = await node.resolve(number);
          const { metadata, input } = await node.blockInput(hash);
          const observation = observeBlock(metadata, input);
          const verified = observation.candidates.filter((c) => c.commitmentsVerified).length;
          const messages = [...observation.slices.values()].reduce((sum, slice) => sum + slice.length, 0);
          process.stdout.write(
            `#${number} ${hash.slice(0, 10)}… ${observation.candidates.length} backed (${verified} commitments verified), ` +
              `${observation.events?.included.length ?? 0} included, ${messages} horizontal messages\n`,
          );
        })
        .catch((error: Error) => {
          process.stderr.write(`block ${header.number}: ${error.message}\n`);
        });
    },
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await node.provider
    .unsubscribe('chain_finalizedHead', 'chain_unsubscribeFinalizedHeads', subscription)
    .catch(() => undefined);
  await node.disconnect();
  await devnet?.close();
}
