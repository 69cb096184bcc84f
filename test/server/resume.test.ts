import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { advance, sidecarOn, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const waitUntil = (check: () => boolean, what: string, timeoutMs = 15_000) =>
  eventually(check, { what, timeoutMs, intervalMs: 20 });

describe('subscriptions that never miss a message', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('fromBlock replays then goes live; a client resumes after its socket drops and after a server restart: every message once', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'xcmp-resume-')), 'store.sqlite');
    const stack = await startStack({ initialBlocks: 2 }, { dbPath: db });
    cleanups.push(() => stack.devnet.close());
    await advance(stack, 10);
    const port = stack.sidecar.server.port;

    const client = await XcmpClient.connect(stack.sidecar.server.url, { reconnectMs: 100 });
    cleanups.push(() => client.close());
    const seen: MailboxUpdateJson[] = [];
    const subscription = await client.subscribeInbox(2001, (u) => seen.push(u), { fromBlock: 1 });
    await waitUntil(() => seen.length >= 8, 'replay');
    await advance(stack, 5);

    // 1) The sidecar stops: the client's socket drops, and the chain moves on meanwhile.
    await stack.sidecar.close();
    await waitUntil(() => !client.connected, 'client disconnected');
    await stack.devnet.newBlocks(6);

    // 2) The sidecar restarts on the same store and port; the client finds it again.
    const restarted = await sidecarOn(stack.devnet.url, { port, dbPath: db });
    cleanups.push(() => restarted.close());
    await storedUpTo(restarted.store, stack.devnet.chain.finalized.number);
    await stack.devnet.newBlocks(4);
    await storedUpTo(restarted.store, stack.devnet.chain.finalized.number);
    const last = (await restarted.store.cursor())!.number;
    await waitUntil(
      () => subscription.lastSeenBlock === last,
      `client to see #${last} (at ${subscription.lastSeenBlock})`,
    );

    const delivered = seen.flatMap((u) => u.messages.map((m) => m.id));
    const stored = (await restarted.store.inbox(2001)).map(
      (m) => `${m.sentAt}-${m.sender}-${m.recipient}-${m.index}`,
    );
    assert.equal(new Set(delivered).size, delivered.length, 'nothing twice');
    assert.deepEqual(delivered, stored, 'exactly the stored messages, in order');
    assert.ok(stored.length > 40);
    const blocks = seen.map((u) => u.block.number);
    assert.deepEqual(
      blocks,
      [...blocks].sort((a, b) => a - b),
      'blocks in order',
    );
  });

  it('a best-chain subscriber is told when a block it was sent is retracted by a reorg', async () => {
    const stack = await startStack({ initialBlocks: 2, finalityLag: 4 });
    cleanups.push(() => stack.close());
    await advance(stack, 4);
    const client = await XcmpClient.connect(stack.sidecar.server.url);
    cleanups.push(() => client.close());
    const updates: MailboxUpdateJson[] = [];
    await client.subscribeInbox(2000, (u) => updates.push(u), { finality: 'best' });
    await stack.devnet.newBlocks(3);
    await waitUntil(
      () => updates.some((u) => u.block.number === stack.devnet.chain.best.number),
      'best head announced',
    );
    const announced = updates.filter((u) => u.type === 'messages').map((u) => u.block.hash);
    const forked = await stack.devnet.fork(2);
    await waitUntil(() => updates.some((u) => u.block.hash === forked.at(-1)!.hash), 'new branch announced');
    const retracted = updates.filter((u) => u.type === 'retracted');
    assert.equal(retracted.length, 2, 'the two replaced blocks');
    for (const update of retracted) {
      assert.ok(announced.includes(update.block.hash), 'only blocks the subscriber was sent');
      assert.equal(update.finality, 'best');
      assert.ok(update.messages.length > 0);
    }
    const replacement = updates.filter(
      (u) => u.type === 'messages' && forked.some((b) => b.hash === u.block.hash),
    );
    assert.equal(replacement.length, 3);
    // Retractions come before the replacement blocks, newest first.
    const firstReplacement = updates.findIndex((u) => u.block.hash === forked[0]!.hash);
    assert.ok(updates.indexOf(retracted[1]!) < firstReplacement);
    assert.ok(retracted[0]!.block.number > retracted[1]!.block.number);
  });
});
