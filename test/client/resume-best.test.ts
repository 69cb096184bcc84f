/**
 * XcmpClient resumes `best` and `pending` subscriptions (issue 27.2): over 200+ devnet blocks with
 * reorgs, time-outs and disputes, a subscriber whose connection a middleman cuts every few blocks
 * ends, after applying `retracted` updates, with exactly the messages of one that never left: no
 * gap, no repeat, and every pending message it was told of resolved once, the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CandidateUpdateJson, MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { DEFAULT_PARAS } from '../../src/devnet/config.ts';
import type { BlockFaults } from '../../src/devnet/runtime.ts';
import { type RewritingLayer, startRewritingLayer } from '../helpers/lying-layer.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

/** What a consumer ends with: messages held after retractions, and each pending message's story. */
class Consumer {
  readonly held = new Map<string, number>();
  readonly stories = new Map<string, string[]>();
  readonly problems: string[] = [];
  updates = 0;

  push(update: MailboxUpdateJson): void {
    this.updates += 1;
    const tell = (key: string, what: string) =>
      this.stories.set(key, [...(this.stories.get(key) ?? []), what]);
    if (update.type === 'messages')
      for (const m of update.messages) {
        if (this.held.has(m.id)) this.problems.push(`${m.id} delivered twice`);
        this.held.set(m.id, update.block.number);
        if (m.position !== undefined) tell(`${m.candidateHash}:${m.position}`, 'messages');
      }
    else if (update.type === 'retracted')
      for (const m of update.messages) {
        if (!this.held.delete(m.id)) this.problems.push(`${m.id} retracted, not held`);
        if (m.position !== undefined) tell(`${m.candidateHash}:${m.position}`, 'retracted');
      }
    else if (update.type === 'pending' || update.type === 'dropped')
      for (const m of update.pending ?? [])
        tell(
          `${m.candidateHash}:${m.position}`,
          update.type === 'dropped' ? `dropped:${update.reason}` : 'pending',
        );
  }

  /** Messages held, as "id@block", sorted. */
  messages(): string[] {
    return [...this.held].map(([id, block]) => `${id}@${block}`).sort();
  }

  /** How each pending message announced to it ended ("open" while it has not). */
  resolutions(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, story] of this.stories) {
      if (story[0] !== 'pending') continue;
      const last = story.at(-1)!;
      out.set(key, last === 'pending' || last === 'retracted' ? 'open' : last);
      // pending (messages retracted)* (messages | dropped)
      const grammar = /^pending( messages retracted)*( messages| dropped:\w+)?$/;
      if (!grammar.test(story.join(' '))) this.problems.push(`${key}: ${story.join(' ')}`);
    }
    return out;
  }
}

describe('XcmpClient: best and pending subscriptions across cut connections', () => {
  let stack: Stack;
  let layer: RewritingLayer;
  let direct: XcmpClient;
  let cut: XcmpClient;
  const followed: string[] = [];
  const consumers = {
    directPending: new Consumer(),
    cutPending: new Consumer(),
    directBest: new Consumer(),
    cutBest: new Consumer(),
  };

  before(async () => {
    stack = await startStack({ initialBlocks: 6, finalityLag: 4 });
    layer = await startRewritingLayer(stack.sidecar.server.url, () => undefined);
    direct = await XcmpClient.connect(stack.sidecar.server.url);
    cut = await XcmpClient.connect(layer.url, { reconnectMs: 20 });
    await direct.subscribeCandidates((u: CandidateUpdateJson) => followed.push(u.block.hash), {
      finality: 'best',
    });
    await direct.subscribeInbox(2001, (u) => consumers.directPending.push(u), { finality: 'pending' });
    await cut.subscribeInbox(2001, (u) => consumers.cutPending.push(u), { finality: 'pending' });
    await direct.subscribeInbox(2000, (u) => consumers.directBest.push(u), { finality: 'best' });
    await cut.subscribeInbox(2000, (u) => consumers.cutBest.push(u), { finality: 'best' });
  });
  after(async () => {
    await direct?.close();
    await cut?.close();
    await layer?.close();
    await stack?.close();
  });

  const step = async (faults?: BlockFaults) => {
    await stack.devnet.newBlocks(1, faults);
    await eventually(() => followed.includes(stack.devnet.chain.best.hash), {
      timeoutMs: 15_000,
      intervalMs: 5,
    });
  };
  const fork = async (depth: number, faults?: BlockFaults) => {
    await stack.devnet.fork(depth, faults);
    await eventually(() => followed.includes(stack.devnet.chain.best.hash), {
      timeoutMs: 15_000,
      intervalMs: 5,
    });
  };

  it('over 200 blocks with reorgs, cut every few blocks: the same messages and resolutions as a direct subscriber', async () => {
    let cuts = 0;
    for (let round = 0; round < 24; round++) {
      const para = DEFAULT_PARAS[round % 4]!;
      await step({ timeOut: new Set([para]) });
      await step();
      if (round % 2 === 0) {
        layer.dropConnections();
        cuts += 1;
      }
      await step({ dispute: new Set([DEFAULT_PARAS[(round + 1) % 4]!]) });
      await fork(2);
      await step();
      layer.dropConnections();
      cuts += 1;
      await fork(1, { dropBacked: new Set([DEFAULT_PARAS[(round + 2) % 4]!]) });
      await step();
      await step();
    }
    // Settle: everything pending is enacted or dropped, and final.
    for (let i = 0; i < 10; i++) await step();
    assert.ok(stack.devnet.chain.best.number >= 200, `ran ${stack.devnet.chain.best.number} blocks`);
    const settled = () =>
      JSON.stringify(consumers.cutPending.messages()) ===
        JSON.stringify(consumers.directPending.messages()) &&
      JSON.stringify(consumers.cutBest.messages()) === JSON.stringify(consumers.directBest.messages());
    await eventually(settled, { what: 'the cut subscriber caught up', timeoutMs: 15_000 }).catch(
      () => undefined,
    );

    for (const [name, a, b] of [
      ['pending', consumers.directPending, consumers.cutPending],
      ['best', consumers.directBest, consumers.cutBest],
    ] as const) {
      assert.deepEqual(b.messages(), a.messages(), `${name}: the messages held`);
      assert.ok(a.messages().length > 500, `${name}: ${a.messages().length} messages`);
      const [direct, resumed] = [a.resolutions(), b.resolutions()];
      for (const [key, how] of resumed) assert.equal(how, direct.get(key), `${name}: ${key}`);
      assert.deepEqual(a.problems, [], `${name}: direct`);
      assert.deepEqual(b.problems, [], `${name}: resumed`);
    }
    const resolutions = [...consumers.cutPending.resolutions().values()];
    assert.ok(resolutions.filter((r) => r.startsWith('dropped')).length >= 20, 'drops were resolved');
    assert.ok(resolutions.filter((r) => r === 'messages').length > 200, 'enactments were resolved');
    const stillOpen = resolutions.filter((r) => r === 'open').length;
    assert.ok(stillOpen <= 8, `${stillOpen} still open at the end (only those backed in the last blocks)`);
    assert.ok(cuts >= 36, `${cuts} cuts`);
    if (process.env.XCMP_TEST_FIGURES)
      console.log(
        `blocks ${stack.devnet.chain.best.number}, cuts ${cuts}, messages ${consumers.directPending.messages().length}+${consumers.directBest.messages().length}, resolved ${resolutions.length}`,
      );
  });
});
