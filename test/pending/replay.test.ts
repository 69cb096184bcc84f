/** Replays of best and pending views and of candidate subscriptions (issue 14). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CandidateUpdateJson, MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient, XcmpRpcError } from '../../src/client/client.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

describe('replays that cover the best chain and what is still pending', () => {
  let stack: Stack;
  let client: XcmpClient;

  before(async () => {
    stack = await startStack({ initialBlocks: 2, finalityLag: 3 });
    await advance(stack, 12);
    client = await XcmpClient.connect(stack.sidecar.server.url);
    // The best-chain view has followed the head once a best subscriber sees it.
    const seen: string[] = [];
    await client.subscribeCandidates((u) => seen.push(u.block.hash), { finality: 'best' });
    await stack.devnet.newBlocks(1);
    await eventually(() => seen.includes(stack.devnet.chain.best.hash), { what: 'best head followed' });
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  it('pending with fromBlock: stored messages, then the best chain above them, then the candidates still pending', async () => {
    const chain = stack.devnet.chain;
    const stored = (await stack.sidecar.store.cursor())!.number;
    assert.ok(chain.best.number > stored, 'there are unfinalized blocks');
    const updates: MailboxUpdateJson[] = [];
    await client.subscribeInbox(2000, (u) => updates.push(u), { finality: 'pending', fromBlock: stored - 2 });
    const open = [...chain.best.state.pending.values()].filter((c) =>
      c.commitments.horizontalMessages.some((m) => m.recipient === 2000),
    );
    await eventually(() => updates.filter((u) => u.type === 'pending').length >= 1, {
      what: 'pending replayed',
    });
    const replayedBlocks = updates.filter((u) => u.type === 'messages').map((u) => u.block.number);
    const expectedBlocks = [];
    for (let n = stored - 2; n <= chain.best.number; n++)
      if (
        chain
          .blockAt(n)!
          .candidateEvents.some(
            (e) =>
              e.kind === 'CandidateIncluded' &&
              e.candidate.commitments.horizontalMessages.some((m) => m.recipient === 2000),
          )
      )
        expectedBlocks.push(n);
    assert.deepEqual(replayedBlocks, expectedBlocks, 'every block with messages for 2000, stored and best');
    for (const u of updates.filter((u) => u.type === 'messages'))
      assert.equal(u.finality, u.block.number <= stored ? 'finalized' : 'pending');
    const pending = updates.filter((u) => u.type === 'pending').flatMap((u) => u.pending ?? []);
    assert.deepEqual(
      [...new Set(pending.map((m) => m.candidateHash))].sort(),
      open.map((c) => toHex(c.candidateHash)).sort(),
      'exactly the candidates pending availability at the best head',
    );
    for (const m of pending) assert.equal(m.recipient, 2000);
    assert.equal(updates.at(-1)!.type, 'pending', 'pending candidates come after the messages');
  });

  it('a best subscriber with fromBlock also gets the blocks above the stored one', async () => {
    const stored = (await stack.sidecar.store.cursor())!.number;
    const updates: MailboxUpdateJson[] = [];
    await client.subscribeOutbox(1000, (u) => updates.push(u), { finality: 'best', fromBlock: stored });
    const best = stack.devnet.chain.best.number;
    await eventually(() => updates.some((u) => u.block.number === best), {
      what: 'replay up to the best head',
    });
    assert.ok(
      updates.some((u) => u.block.number > stored && u.finality === 'best'),
      `a best block replayed: ${JSON.stringify(updates.map((u) => [u.type, u.finality, u.block.number]))} stored ${stored} best ${stack.devnet.chain.best.number}`,
    );
    assert.ok(updates.every((u) => u.type === 'messages' && u.block.number <= best));
  });

  it('candidates replay from a block: finalized ones from the store, best ones above it', async () => {
    const store = stack.sidecar.store;
    const stored = (await store.cursor())!.number;
    const finalized: CandidateUpdateJson[] = [];
    await client.subscribeCandidates((u) => finalized.push(u), { fromBlock: stored - 4, paraId: 2001 });
    const best: CandidateUpdateJson[] = [];
    await client.subscribeCandidates((u) => best.push(u), { fromBlock: stored - 4, finality: 'best' });
    const head = stack.devnet.chain.best;
    await eventually(() => best.some((u) => u.block.hash === head.hash) && finalized.length > 0, {
      what: 'replays up to the best head',
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const expected = (await store.candidatesActive(stored - 4, 2001, 100)).flatMap((c) => [
      ...(c.backedIn >= stored - 4 ? [`backed@${c.backedIn}:${c.candidateHash}`] : []),
      ...(c.settledIn != null ? [`${c.status}@${c.settledIn}:${c.candidateHash}`] : []),
    ]);
    const got = finalized.map((u) => `${u.type}@${u.block.number}:${u.candidate.candidateHash}`);
    assert.deepEqual([...got].sort(), [...expected].sort());
    assert.ok(got.length >= 4);
    assert.ok(finalized.every((u) => u.finality === 'finalized' && u.candidate.paraId === 2001));
    const numbers = finalized.map((u) => u.block.number);
    assert.deepEqual(
      numbers,
      [...numbers].sort((a, b) => a - b),
      'in block order',
    );
    assert.ok(
      best.some((u) => u.block.hash === head.hash && u.type === 'backed'),
      'the best head backs candidates',
    );
  });

  it('refuses a proof for pending or best views, and an unknown finality', async () => {
    for (const finality of ['pending', 'best'] as const)
      await assert.rejects(
        client.call('xcmp_subscribeInbox', [2000, { finality, proof: true }]),
        (e: unknown) => e instanceof XcmpRpcError && e.code === -32602,
      );
    await assert.rejects(
      client.call('xcmp_subscribeInbox', [2000, { finality: 'backed' }]),
      (e: unknown) => e instanceof XcmpRpcError && e.code === -32602 && /finality/.test(e.message),
    );
    await assert.rejects(
      client.call('xcmp_subscribeCandidates', [{ finality: 'pending' }]),
      (e: unknown) => e instanceof XcmpRpcError && e.code === -32602,
    );
  });
});
