/**
 * A para node whose connection drops: the follower reconnects by itself, follows the heads again,
 * and reads the blocks made meanwhile (filled from parent hashes), so nothing is skipped silently.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

it('para nodes: after their connections drop, every block made meanwhile is read', {
  skip: skipWithoutFixtures,
}, async () => {
  const stack = await startStack({ initialBlocks: 3 }, { paraNodes: 'devnet' });
  try {
    const paras = stack.sidecar.paras!;
    await eventually(() => paras.status().every((p) => p.state === 'following'), { what: 'following' });
    const read = new Set<string>();
    paras.on('block', (block) => read.add(block.hash));
    stack.devnet.dropConnections();
    await stack.devnet.newBlocks(3);
    await eventually(() => paras.status().every((p) => p.connected && p.state === 'following'), {
      what: 'reconnected',
      timeoutMs: 15_000,
    });
    await stack.devnet.newBlocks(1);
    const made = [...stack.devnet.chain.collators!.chains.values()].flatMap((chain) =>
      [chain.best, chain.blockAt(chain.best.number - 1)].filter((b) => b !== undefined),
    );
    await eventually(() => made.every((b) => read.has(b!.hash)), {
      what: 'blocks made meanwhile read',
      timeoutMs: 15_000,
    });
    assert.ok(made.length >= 8);
  } finally {
    await stack.close();
  }
});
