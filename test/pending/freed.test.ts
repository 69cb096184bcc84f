/**
 * A candidate freed from pending availability without enactment or time-out (issue 27.5): a
 * dispute concluded against it (`ParasDisputes.DisputeConcluded`, Invalid) or, with no event at
 * all, its core given to another candidate. It is stored `freed` with the block, pushed as `freed`
 * to finalized and best candidate subscribers, and its pending messages are dropped saying so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CandidateJson, CandidateUpdateJson, MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

describe('a candidate freed without enactment', () => {
  let stack: Stack;
  let client: XcmpClient;
  const finalized: CandidateUpdateJson[] = [];
  const best: CandidateUpdateJson[] = [];
  const pending: MailboxUpdateJson[] = [];

  before(async () => {
    stack = await startStack({ initialBlocks: 4 });
    await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
    client = await XcmpClient.connect(stack.sidecar.server.url);
    await client.subscribeCandidates((u) => finalized.push(u), { paraId: 2000 });
    await client.subscribeCandidates((u) => best.push(u), { paraId: 2000, finality: 'best' });
    await client.subscribeInbox(2001, (u) => pending.push(u), { finality: 'pending' });
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  for (const fault of ['dispute', 'free'] as const)
    it(`${fault === 'dispute' ? 'by a dispute' : 'silently (its core taken)'}: stored and pushed as "freed" with its block; its pending messages dropped`, async () => {
      await stack.devnet.newBlocks(1);
      const candidate = toHex(stack.devnet.chain.best.state.pending.get(2000)!.candidateHash);
      const [freedIn] = await stack.devnet.newBlocks(1, { [fault]: new Set([2000]) });
      await stack.devnet.newBlocks(4);
      await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
      const freedUpdate = (updates: CandidateUpdateJson[]) =>
        updates.find((u) => u.candidate.candidateHash === candidate && u.type === 'freed');
      await eventually(() => freedUpdate(finalized) && freedUpdate(best), { what: 'freed pushed' });
      for (const update of [freedUpdate(finalized)!, freedUpdate(best)!]) {
        assert.equal(update.block.number, freedIn!.number);
        assert.deepEqual([update.candidate.status, update.candidate.settledIn], ['freed', freedIn!.number]);
      }
      const stored = await client.call<CandidateJson>('xcmp_getCandidate', [candidate]);
      assert.deepEqual([stored.status, stored.settledIn, stored.enactedIn], ['freed', freedIn!.number, null]);
      const drop = pending.find(
        (u) => u.type === 'dropped' && u.pending?.some((m) => m.candidateHash === candidate),
      );
      assert.ok(drop, 'its pending messages were dropped');
      assert.equal(drop.reason, 'notEnacted');
      assert.match(drop.detail!, new RegExp(`freed at #${freedIn!.number} without enactment`));
      assert.ok(
        !finalized.some((u) => u.candidate.candidateHash === candidate && u.block.number > freedIn!.number),
        'nothing after it',
      );
    });
});
