/**
 * A subscription the server ends with an error (it could not go on: a proof or a store read
 * failed) is not left silent on the client: XcmpClient says so (`subscriptionError`), takes it up
 * again from where it stood, and the consumer sees every message once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { startRewritingLayer, type UpstreamFrame } from '../helpers/lying-layer.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

describe('XcmpClient: a subscription the server ends with an error', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 2 });
  });
  after(async () => {
    await stack?.close();
  });

  it('is taken up again from the block after the last delivered: every message once, and the error is reported', async () => {
    let notifications = 0;
    // The third update is replaced by the error a server sends when it ends a subscription.
    const layer = await startRewritingLayer(stack.sidecar.server.url, (frame: UpstreamFrame) => {
      if (frame.method !== 'xcmp_inbox' || !frame.params?.result) return;
      notifications += 1;
      if (notifications !== 3) return;
      const params = frame.params as { result?: unknown; error?: unknown };
      delete params.result;
      params.error = { code: -32603, message: 'cannot read the relay proof of block #9 for 2000: gone' };
    });
    const client = await XcmpClient.connect(layer.url, { reconnectMs: 50 });
    const events: string[] = [];
    client.on('subscriptionError', (name, error) => events.push(`${name}: ${error.code} ${error.message}`));
    client.on('resubscribed', (name) => events.push(`${name} again`));
    const updates: MailboxUpdateJson[] = [];
    try {
      await client.subscribeInbox(2000, (u) => updates.push(u), { fromBlock: 1 });
      await advance(stack, 8);
      const cursor = (await stack.sidecar.store.cursor())!.number;
      const expected = (await stack.sidecar.store.inbox(2000, { fromBlock: 1, toBlock: cursor })).map(
        (m) => `${m.sentAt}/${m.sender}/${m.index}`,
      );
      const delivered = () =>
        updates.flatMap((u) => u.messages.map((m) => `${m.sentAt}/${m.sender}/${m.index}`));
      await eventually(() => delivered().length >= expected.length, { what: 'every message' });
      assert.deepEqual(delivered(), expected);
      assert.deepEqual(events, [
        'xcmp_subscribeInbox: -32603 cannot read the relay proof of block #9 for 2000: gone',
        'xcmp_subscribeInbox again',
      ]);
    } finally {
      await client.close();
      await layer.close();
    }
  });
});
