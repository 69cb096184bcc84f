/**
 * XcmpClient with a list of sidecars: it connects to the first that answers and, when the one in use
 * goes away, continues on the next from the block after the last it delivered: no gap, no repeat.
 * Two independent sidecars on one devnet stand in for replicas of one service.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/index.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { messageId } from '../../src/store/types.ts';
import { runCliAsync, spawnCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { advance, type Stack, sidecarOn, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const RECIPIENT = 2000;

describe('XcmpClient over several sidecars', () => {
  let stack: Stack;
  let second: Sidecar;
  before(async () => {
    stack = await startStack({ initialBlocks: 2 });
    second = await sidecarOn(stack.devnet.url, { startAt: 1 });
    await advance(stack, 6);
    await storedUpTo(second.store, stack.devnet.chain.finalized.number);
  });
  after(async () => {
    await second?.close();
    await stack?.close();
  });

  it('starts on the first that answers, and when it goes away continues on the next with no gap and no repeat', async () => {
    const down = `ws://127.0.0.1:${await freePort()}`;
    const client = await XcmpClient.connect([down, stack.sidecar.server.url, second.server.url], {
      reconnectMs: 100,
    });
    try {
      assert.equal(client.url, stack.sidecar.server.url, 'the first one that answered');
      const delivered: string[] = [];
      await client.subscribeInbox(
        RECIPIENT,
        (update: MailboxUpdateJson) => {
          if (update.type === 'messages') delivered.push(...update.messages.map((m) => m.id));
        },
        { fromBlock: 1 },
      );
      const stored = async () =>
        (await second.store.inbox(RECIPIENT)).filter((m) => m.verified).map(messageId);
      await eventually(async () => delivered.length === (await stored()).length && delivered.length > 0);

      await stack.sidecar.close(); // the sidecar in use goes away
      await stack.devnet.newBlocks(5);
      await storedUpTo(second.store, stack.devnet.chain.finalized.number);
      await eventually(async () => delivered.length === (await stored()).length, {
        what: 'the messages of the blocks made while switching',
      });
      assert.equal(client.url, second.server.url);
      assert.deepEqual(delivered, await stored(), 'every message once, in order');
    } finally {
      await client.close();
    }
  });

  it('subscribe --url takes the list too; a bad entry is refused naming the flag', async () => {
    const cli = spawnCli([
      'subscribe',
      '--url',
      `${`ws://127.0.0.1:${await freePort()}`},${second.server.url}`,
      '--recipient',
      '2000',
      '--from-block',
      '1',
    ]);
    try {
      const [, line] = await cli.until(/^(\{.*\})$/m);
      assert.equal((JSON.parse(line!) as { type: string }).type, 'messages', 'served by the second URL');
    } finally {
      await cli.stop();
    }
    const bad = await runCliAsync([
      'subscribe',
      '--url',
      `${second.server.url},http://x`,
      '--recipient',
      '2000',
    ]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--url takes ws:\/\/ or wss:\/\/ URLs, comma-separated, got "http:\/\/x"/);
  });
});
