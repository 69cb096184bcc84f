/**
 * Trustless inbox end to end: devnet (real state trie) → sidecar (proofs read with
 * state_getReadProof) → XcmpClient verifying against headers from the devnet directly. An honest
 * run delivers every message with no rejection; through a lying layer, every tampered update is
 * caught and nothing tampered is ever delivered, and the gaps are filled from proven ranges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MessageJson } from '../../rpc/schemas.ts';
import { type VerificationError, XcmpClient } from '../../src/client/index.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { printedUpdates, spawnCli } from '../helpers/cli.ts';
import { startLyingLayer } from '../helpers/lying-layer.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { type Consumer, consume, storedInbox, withoutVerdict } from '../helpers/verifying-consumer.ts';
import { eventually } from '../helpers/wait.ts';

async function provenUpTo(consumers: readonly Consumer[], block: number): Promise<void> {
  await eventually(() => consumers.every((c) => (c.lastSeen() ?? -1) >= block), {
    timeoutMs: 30_000,
    what: `every consumer proven up to #${block} (${consumers.map((c) => c.lastSeen()).join(', ')})`,
  });
}

describe('verified inbox against relay proofs', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 4 });
    await advance(stack, 1);
  });
  after(async () => {
    await stack?.close();
  });

  it('an honest run over 120 blocks delivers every message once, in order, with 0 rejections', async () => {
    const url = stack.sidecar.server.url;
    const live = await consume(url, { headers: stack.devnet.url }, 2000);
    const resumed = await consume(url, { headers: stack.devnet.url }, 2001, 1);
    const start = live.lastSeen()!;
    try {
      for (let i = 0; i < 12; i++) await advance(stack, 10);
      const end = (await stack.sidecar.store.cursor())!.number;
      await provenUpTo([live, resumed], end);
      assert.deepEqual(live.rejected, []);
      assert.deepEqual(resumed.rejected, []);
      const expectedLive = await storedInbox(stack, 2000, start, live.lastSeen()!);
      const expectedResumed = await storedInbox(stack, 2001, 0, resumed.lastSeen()!);
      assert.ok(expectedLive.length >= 100, `${expectedLive.length} messages to 2000`);
      assert.deepEqual(live.delivered.map(withoutVerdict), expectedLive.map(withoutVerdict));
      assert.deepEqual(resumed.delivered.map(withoutVerdict), expectedResumed.map(withoutVerdict));
    } finally {
      await live.client.close();
      await resumed.client.close();
    }
  });

  it('through a lying layer: 200+ tampered updates, every one caught, nothing tampered delivered', async () => {
    const layer = await startLyingLayer(stack.sidecar.server.url);
    layer.lying = false;
    const recipients = stack.devnet.config.paras;
    const consumers: Consumer[] = [];
    try {
      for (const recipient of recipients)
        consumers.push(await consume(layer.url, { headers: stack.devnet.url }, recipient));
      const starts = consumers.map((c) => c.lastSeen()!);
      layer.lying = true;
      while (layer.tampered.length < 200) await advance(stack, 5);
      layer.lying = false;
      await advance(stack, 12); // past the proof interval: every consumer gets an honest update
      const end = (await stack.sidecar.store.cursor())!.number;
      await provenUpTo(consumers, end);

      const missed = layer.tampered.filter(
        (t) => !consumers[t.connection]!.rejected.some((error) => error.block === t.block),
      );
      assert.deepEqual(
        missed,
        [],
        `caught ${layer.tampered.length - missed.length} of ${layer.tampered.length}`,
      );
      const lies = new Set(layer.tampered.map((t) => t.lie));
      assert.equal(lies.size, 7, `every kind of lie was told: ${[...lies].join(', ')}`);
      for (const [i, consumer] of consumers.entries()) {
        const expected = await storedInbox(stack, consumer.recipient, starts[i]!, consumer.lastSeen()!);
        assert.deepEqual(
          consumer.delivered.map(withoutVerdict),
          expected.map(withoutVerdict),
          `recipient ${consumer.recipient}`,
        );
      }
    } finally {
      for (const consumer of consumers) await consumer.client.close();
      await layer.close();
    }
  });

  it('subscribe --verify-with: proven updates on stdout, one {"rejected"} line per lie on stderr, and it goes on', async () => {
    const layer = await startLyingLayer(stack.sidecar.server.url);
    layer.lying = false;
    const cli = spawnCli([
      'subscribe',
      '--url',
      layer.url,
      '--recipient',
      '2000',
      '--from-block',
      String((await stack.sidecar.store.cursor())!.number + 1),
      '--verify-with',
      stack.devnet.url,
    ]);
    try {
      await advance(stack, 2);
      await cli.until(/"messages"/);
      layer.lying = true;
      await advance(stack, 6);
      await eventually(() => layer.tampered.length >= 3, { what: '3 lies told' });
      layer.lying = false;
      await advance(stack, 3);
      const end = (await stack.sidecar.store.cursor())!.number;
      const lines = () => printedUpdates(cli);
      await eventually(() => lines().some((u) => u.block.number >= end - 1), {
        what: `stdout reaching #${end - 1}`,
      });
      const rejected = cli
        .stderr()
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { rejected: { block: number; reason: string } });
      for (const lie of layer.tampered)
        assert.ok(
          rejected.some((r) => r.rejected.block === lie.block),
          `lie at #${lie.block} reported`,
        );
      const delivered = lines().flatMap((u) => u.messages);
      const first = delivered[0]!.sentAt;
      const last = delivered[delivered.length - 1]!.sentAt;
      assert.deepEqual(
        delivered.map(withoutVerdict),
        (await storedInbox(stack, 2000, first - 1, last)).map(withoutVerdict),
      );
      assert.equal(cli.child.exitCode, null, 'still running');
    } finally {
      await cli.stop();
      await layer.close();
    }
  });

  it('a verified subscription made before the sidecar stored any block starts cleanly (no rejection)', async () => {
    const empty = await startStack({ initialBlocks: 0 });
    const client = await XcmpClient.connect(empty.sidecar.server.url, {
      verify: { headers: empty.devnet.url },
      reconnectMs: 0,
    });
    try {
      const delivered: MessageJson[] = [];
      const rejected: VerificationError[] = [];
      client.on('verificationError', (error) => rejected.push(error));
      const sub = await client.subscribeInbox(2000, (update) => delivered.push(...update.messages));
      await advance(empty, 6);
      const end = (await empty.sidecar.store.cursor())!.number;
      await eventually(() => (sub.lastSeenBlock ?? -1) >= end, { what: `proven up to #${end}` });
      assert.deepEqual(rejected, []);
      assert.ok(delivered.length > 0);
      assert.deepEqual(
        delivered.map(withoutVerdict),
        (await storedInbox(empty, 2000, 0, end)).map(withoutVerdict),
      );
    } finally {
      await client.close();
      await empty.close();
    }
  });

  it('with no proven answer to its re-request it keeps reporting the gap, delivers nothing past it, then fills it', async () => {
    const layer = await startLyingLayer(stack.sidecar.server.url);
    layer.lying = false;
    const consumer = await consume(layer.url, { headers: stack.devnet.url }, 2000);
    try {
      const start = consumer.lastSeen()!;
      layer.lying = true;
      layer.lyingInRanges = true;
      for (let i = 0; i < 4; i++) await advance(stack, 1);
      await eventually(() => consumer.rejected.length >= 8, { what: 'the gap reported at every update' });
      assert.equal(consumer.lastSeen(), start, 'nothing proven past the gap');
      assert.deepEqual(consumer.delivered, []);
      layer.lying = false;
      layer.lyingInRanges = false;
      await advance(stack, 2);
      const end = (await stack.sidecar.store.cursor())!.number;
      await provenUpTo([consumer], end);
      assert.deepEqual(
        consumer.delivered.map(withoutVerdict),
        (await storedInbox(stack, 2000, start, end)).map(withoutVerdict),
      );
    } finally {
      await consumer.client.close();
      await layer.close();
    }
  });

  it('resumes after a dropped connection from the last proven block: nothing lost, nothing twice, no rejection', async () => {
    const layer = await startLyingLayer(stack.sidecar.server.url);
    layer.lying = false;
    const client = await XcmpClient.connect(layer.url, {
      verify: { headers: stack.devnet.url },
      reconnectMs: 50,
    });
    const delivered: MessageJson[] = [];
    const rejected: VerificationError[] = [];
    client.on('verificationError', (error) => rejected.push(error));
    try {
      const sub = await client.subscribeInbox(2001, (update) => delivered.push(...update.messages));
      await eventually(() => sub.lastSeenBlock !== null, { what: 'a proven start' });
      const start = sub.lastSeenBlock!;
      await advance(stack, 3);
      layer.dropConnections();
      await advance(stack, 3);
      await eventually(() => client.connected, { what: 'reconnected' });
      await advance(stack, 2);
      const end = (await stack.sidecar.store.cursor())!.number;
      await eventually(() => (sub.lastSeenBlock ?? -1) >= end, { what: `proven up to #${end}` });
      assert.deepEqual(rejected, []);
      assert.deepEqual(
        delivered.map(withoutVerdict),
        (await storedInbox(stack, 2001, start, end)).map(withoutVerdict),
      );
    } finally {
      await client.close();
      await layer.close();
    }
  });

  it('takes headers from a function (a light client, say) as well as from a node URL', async () => {
    const headerOf = async (hash: `0x${string}`) => {
      const block = stack.devnet.chain.block(hash);
      if (!block) throw new Error(`no header ${hash}`);
      return toHex(stack.devnet.chain.encoder.encode('Header', block.header));
    };
    const client = await XcmpClient.connect(stack.sidecar.server.url, { verify: { headers: headerOf } });
    const delivered: MessageJson[] = [];
    const rejected: VerificationError[] = [];
    client.on('verificationError', (error) => rejected.push(error));
    try {
      const from = (await stack.sidecar.store.cursor())!.number - 5;
      const sub = await client.subscribeInbox(2004, (update) => delivered.push(...update.messages), {
        fromBlock: from,
      });
      await advance(stack, 3);
      const end = (await stack.sidecar.store.cursor())!.number;
      await eventually(() => (sub.lastSeenBlock ?? -1) >= end, { what: `proven up to #${end}` });
      assert.deepEqual(rejected, []);
      assert.deepEqual(
        delivered.map(withoutVerdict),
        (await storedInbox(stack, 2004, from - 1, end)).map(withoutVerdict),
      );
    } finally {
      await client.close();
    }
  });
});
