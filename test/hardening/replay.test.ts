/**
 * A replay is part of the subscribe answer, so it has the answer's byte limit: past it the subscribe
 * gets -32008 and nothing is registered; XcmpClient then catches up page by page with xcmp_getInbox
 * and subscribes from where it got, losing nothing and repeating nothing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

describe('replays larger than the response limit', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('refuse the subscribe with -32008; XcmpClient pages the gap and then follows live, every message once', async () => {
    const maxResponseSize = 64 * 1024;
    const stack = await startStack(
      { initialBlocks: 3, messageSize: { min: 1000, max: 2000 } },
      { limits: { maxResponseSize } },
    );
    cleanups.push(() => stack.close());
    await advance(stack, 80);
    const { sidecar } = stack;
    const stored = await sidecar.store.inbox(2000);
    assert.ok(stored.length > 100, `${stored.length} messages`);

    const raw = await rpcSocket(sidecar.server.url);
    cleanups.push(() => raw.close());
    const refused = await raw.call('xcmp_subscribeInbox', [2000, { fromBlock: 1 }]);
    assert.equal(refused.error?.code, -32008);
    assert.match(refused.error?.message ?? '', /Replay from block 1 is too big/);
    assert.equal(sidecar.hub.subscriberCount.mailbox, 0, 'nothing registered');

    const client = await XcmpClient.connect(sidecar.server.url);
    cleanups.push(() => client.close());
    const updates: MailboxUpdateJson[] = [];
    await client.subscribeInbox(2000, (update) => updates.push(update), { fromBlock: 1 });
    await advance(stack, 5);
    const all = await sidecar.store.inbox(2000);
    await eventually(() => updates.flatMap((u) => u.messages).length >= all.length, {
      what: 'every message delivered',
    });
    const delivered = updates.flatMap((u) => u.messages.map((m) => m.id));
    assert.deepEqual(
      delivered,
      all.map((m) => `${m.sentAt}-${m.sender}-${m.recipient}-${m.index}`),
    );
    const blocks = updates.map((u) => u.block.number);
    assert.deepEqual(
      blocks,
      [...new Set(blocks)].sort((a, b) => a - b),
      'each block once, in order',
    );
  });
});
