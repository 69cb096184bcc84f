/**
 * The sidecar's side of proofs, on the wire: what `proof: true` answers carry and prove, the
 * proof-only update that comes at least every PROOF_INTERVAL blocks, and the requests it refuses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxJson, MailboxUpdateJson } from '../../rpc/schemas.ts';
import { proveInboxHeads } from '../../src/derive/inbox-proof.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import type { RpcError } from '../../src/server/transport/jsonrpc.ts';
import { PROOF_INTERVAL, ProvenInboxFeed } from '../../src/server/xcmp/proven.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

const trusted = (stack: Stack, number: number) => ({
  number,
  trustedHash: stack.devnet.chain.blockAt(number)!.hash as Hex,
});

describe('proof: true on the wire', () => {
  let stack: Stack;
  let client: RpcSocket;
  before(async () => {
    stack = await startStack({ initialBlocks: 4 });
    await advance(stack, 20);
    client = await rpcSocket(stack.sidecar.server.url);
  });
  after(async () => {
    client?.close();
    await stack?.close();
  });

  it('xcmp_getInbox proves every inbound head at the cursor, equal to what the store holds', async () => {
    const answer = await client.call('xcmp_getInbox', [2000, { proof: true }]);
    const mailbox = answer.result as MailboxJson;
    const cursor = (await stack.sidecar.store.cursor())!;
    assert.deepEqual(mailbox.proof!.block, { number: cursor.number, hash: cursor.hash });
    const proven = await proveInboxHeads(2000, trusted(stack, cursor.number), mailbox.proof!);
    assert.deepEqual([...proven.heads.keys()].sort(), [1000, 2001, 2004]);
    for (const [sender, head] of proven.heads) assert.equal(head, mailbox.mqcHeads[String(sender)]);
  });

  it('a limit that would cut a block in two leaves that block out and proves the one before', async () => {
    const all = (await client.call('xcmp_getInbox', [2000, { fromBlock: 1, includeUnverified: true }]))
      .result as MailboxJson;
    const limit = Math.floor(all.messages.length / 2);
    const cut = all.messages[limit]!.sentAt;
    const page = (
      await client.call('xcmp_getInbox', [
        2000,
        { fromBlock: 1, limit, proof: true, includeUnverified: true },
      ])
    ).result as MailboxJson;
    assert.equal(page.proof!.block.number, cut - 1);
    assert.deepEqual(
      page.messages,
      all.messages.filter((m) => m.sentAt < cut),
    );
    await proveInboxHeads(2000, trusted(stack, cut - 1), page.proof!);
  });

  it('reads each proof once per (block, recipient): 20 subscribers get the same bytes from one read', async () => {
    const reads = async () => (await stack.sidecar.metrics.proofReads.get()).values[0]?.value ?? 0;
    const sockets = await Promise.all(Array.from({ length: 20 }, () => rpcSocket(stack.sidecar.server.url)));
    try {
      for (const socket of sockets) await socket.call('xcmp_subscribeInbox', [2004, { proof: true }]);
      const before = await reads();
      await advance(stack, 10);
      const end = (await stack.sidecar.store.cursor())!.number;
      const last = (socket: RpcSocket) =>
        (socket.notifications.at(-1)?.params?.result as MailboxUpdateJson | undefined)?.block.number;
      await eventually(() => sockets.every((socket) => last(socket) === end), {
        what: 'every subscriber at the end',
      });
      const texts = sockets.map((socket) =>
        JSON.stringify(socket.notifications.map((n) => n.params!.result)),
      );
      assert.ok(
        texts.every((text) => text === texts[0]),
        'identical updates',
      );
      const updates = sockets[0]!.notifications.length - 1; // less the start update, read before
      assert.ok(updates >= 8, `${updates} updates`);
      assert.equal((await reads()) - before, updates, 'one read per block with an update, for all 20');
    } finally {
      for (const socket of sockets) socket.close();
    }
  });

  it('refuses proofs for outboxes and for the best chain (-32602), before doing any work', async () => {
    for (const [method, params] of [
      ['xcmp_getOutbox', [2000, { proof: true }]],
      ['xcmp_subscribeOutbox', [2000, { proof: true }]],
      ['xcmp_subscribeInbox', [2000, { proof: true, finality: 'best' }]],
    ] as const) {
      const answer = await client.call(method, [...params]);
      assert.equal(answer.error?.code, -32602, `${method}: ${JSON.stringify(answer)}`);
    }
  });
});

describe('proofs the node can no longer give', () => {
  it('xcmp_getInbox with proof for a block the node pruned answers an error naming it, and the sidecar goes on', async () => {
    const stack = await startStack({ initialBlocks: 2, retainBlocks: 8 });
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      for (let i = 0; i < 20; i++) await advance(stack, 1);
      const answer = await client.call('xcmp_getInbox', [2000, { toBlock: 3, proof: true }]);
      assert.ok(answer.error, JSON.stringify(answer));
      assert.equal(answer.error.code, -32603);
      assert.match(answer.error.message, /relay proof of block #3 for 2000 from the node: .+/);
      const after = await client.call('xcmp_getInbox', [2000, { proof: true }]);
      assert.ok((after.result as MailboxJson).proof, 'proofs at recent blocks still work');
    } finally {
      client.close();
      await stack.close();
    }
  });
});

describe('a proof subscription that cannot continue', () => {
  it('is ended with an error naming the block when its proof cannot be read, never left silent', async () => {
    const stack = await startStack({ initialBlocks: 2 });
    try {
      await advance(stack, 2);
      const feed = new ProvenInboxFeed(
        stack.sidecar.store,
        async () => {
          throw new Error('State already discarded');
        },
        () => null,
      );
      const emitted: unknown[] = [];
      const ended: RpcError[] = [];
      const view = { recipient: 2000, decode: false, includeUnverified: false };
      await feed.subscribe(
        view,
        undefined,
        (u) => emitted.push(u),
        (e) => ended.push(e),
        1 << 20,
      );
      await eventually(() => ended.length === 1, { what: 'the subscription ended' });
      assert.deepEqual(emitted, []);
      assert.equal(ended[0]!.code, -32603);
      assert.match(ended[0]!.message, /relay proof of block #\d+ for 2000: State already discarded/);
    } finally {
      await stack.close();
    }
  });
});

describe('proof-only updates', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 2, messageRate: 0 });
    await advance(stack, 1);
  });
  after(async () => {
    await stack?.close();
  });

  it(`come at least every ${PROOF_INTERVAL} blocks when nothing arrives, each proving the heads there`, async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      const answer = await client.call('xcmp_subscribeInbox', [2001, { proof: true }]);
      assert.equal(typeof answer.result, 'string');
      for (let i = 0; i < 5; i++) await advance(stack, 7);
      const end = (await stack.sidecar.store.cursor())!.number;
      const updates = () => client.notifications.map((n) => n.params!.result as MailboxUpdateJson);
      await eventually(() => updates().at(-1)!.block.number > end - PROOF_INTERVAL, {
        what: 'the last proof update',
      });
      const blocks = updates().map((u) => u.block.number);
      assert.ok(blocks.length >= 4, `updates at ${blocks.join(', ')}`);
      for (let i = 1; i < blocks.length; i++)
        assert.ok(blocks[i]! - blocks[i - 1]! <= PROOF_INTERVAL, `gap ${blocks[i - 1]} → ${blocks[i]}`);
      for (const update of updates()) {
        assert.equal(update.type, 'proof');
        assert.deepEqual(update.messages, []);
        await proveInboxHeads(2001, trusted(stack, update.block.number), update.proof!);
      }
    } finally {
      client.close();
    }
  });
});
