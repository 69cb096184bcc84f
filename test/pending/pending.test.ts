/**
 * Pipelined push (DESIGN.md §10, issue 14): messages at backing, then exactly one enactment or
 * drop each, over 200+ devnet blocks with forks, time-outs, disputes and dropped backings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CandidateUpdateJson, MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import type { DevnetBlock } from '../../src/devnet/chain.ts';
import { DEFAULT_PARAS } from '../../src/devnet/config.ts';
import type { BlockFaults } from '../../src/devnet/runtime.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

type Reason = NonNullable<MailboxUpdateJson['reason']>;

const backedIn = (block: DevnetBlock, para?: number) =>
  block.candidateEvents
    .filter((e) => e.kind === 'CandidateBacked' && (para === undefined || e.candidate.paraId === para))
    .map((e) => toHex(e.candidate.candidateHash));

/** After `pending`: the updates each state of a message allows, and the state they lead to. */
const NEXT_STATE: Record<string, Record<string, string>> = {
  open: { messages: 'enacted', dropped: 'dropped' },
  enacted: { retracted: 'open' },
  unannounced: { messages: 'enacted-unannounced' },
  'enacted-unannounced': { retracted: 'unannounced' },
};

/** Per pending message ("candidateHash:position"), what a subscriber was told, in order. */
class Lifecycles {
  readonly events = new Map<string, string[]>();
  readonly reasons = new Map<string, Reason>();
  readonly backing = new Map<string, number>();
  /** Block of the last enactment seen per message. */
  readonly enactedAt = new Map<string, number>();
  readonly problems: string[] = [];

  constructor(readonly joinedAt: number) {}

  push(update: MailboxUpdateJson): void {
    const note = (key: string, what: string) => {
      const list = this.events.get(key) ?? [];
      list.push(what);
      this.events.set(key, list);
    };
    if (update.type === 'pending' || update.type === 'dropped') {
      for (const m of update.pending ?? []) {
        const key = `${m.candidateHash}:${m.position}`;
        note(key, update.type);
        if (update.type === 'pending') this.backing.set(m.candidateHash, update.block.number);
        else this.reasons.set(m.candidateHash, update.reason!);
      }
    } else if (update.type === 'messages' || update.type === 'retracted') {
      for (const m of update.messages) {
        if (m.position === undefined) {
          if (update.finality === 'pending') this.problems.push(`${m.id} without a position`);
          continue;
        }
        note(`${m.candidateHash}:${m.position}`, update.type);
        if (update.type === 'messages')
          this.enactedAt.set(`${m.candidateHash}:${m.position}`, update.block.number);
      }
    }
  }

  /** pending (messages retracted)* (messages | dropped), nothing after a drop, nothing twice. */
  check(openFrom: number): void {
    for (const [key, list] of this.events) {
      const candidate = key.split(':')[0]!;
      const announced = list[0] === 'pending';
      const backedAfterJoin = (this.backing.get(candidate) ?? Number.POSITIVE_INFINITY) > this.joinedAt;
      if (!announced && backedAfterJoin && this.backing.has(candidate))
        this.problems.push(`${key}: ${list.join(',')} (not announced first)`);
      let state = announced ? 'open' : 'unannounced';
      for (const what of list.slice(announced ? 1 : 0)) {
        const to = NEXT_STATE[state]?.[what];
        if (!to) {
          this.problems.push(`${key}: ${list.join(',')}`);
          break;
        }
        state = to;
      }
      const mayBeOpen = (this.backing.get(candidate) ?? 0) >= openFrom;
      if (announced && state === 'open' && !mayBeOpen)
        this.problems.push(`${key}: ${list.join(',')} (never settled)`);
    }
  }
}

describe('pending push: every pending message is settled exactly once', () => {
  let stack: Stack;
  let client: XcmpClient;
  const expected = new Map<string, Reason>();
  const lifecycles = new Lifecycles(6);
  const followed: string[] = [];

  before(async () => {
    stack = await startStack({ initialBlocks: 6, finalityLag: 4 });
    await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
    client = await XcmpClient.connect(stack.sidecar.server.url);
    for (const para of DEFAULT_PARAS)
      await client.subscribeInbox(para, (u) => lifecycles.push(u), { finality: 'pending' });
    await client.subscribeCandidates((u: CandidateUpdateJson) => followed.push(u.block.hash), {
      finality: 'best',
    });
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  /** Waits until the sidecar followed the devnet's best head. */
  const caughtUp = () =>
    eventually(() => followed.includes(stack.devnet.chain.best.hash), {
      what: `best head #${stack.devnet.chain.best.number} followed`,
      timeoutMs: 15_000,
      intervalMs: 5,
    });

  const step = async (faults?: BlockFaults) => {
    const [block] = await stack.devnet.newBlocks(1, faults);
    await caughtUp();
    return block!;
  };

  it('over 200 blocks with forks, time-outs, disputes and dropped backings', async () => {
    const chain = stack.devnet.chain;
    await step();
    for (let round = 0; round < 20; round++) {
      const [timedOutPara, disputedPara, droppedPara] = [
        DEFAULT_PARAS[round % 4]!,
        DEFAULT_PARAS[(round + 1) % 4]!,
        DEFAULT_PARAS[(round + 2) % 4]!,
      ];
      // A candidate that never becomes available: CandidateTimedOut.
      const timedOut = await step({ timeOut: new Set([timedOutPara]) });
      for (const hash of backedIn(timedOut, timedOutPara)) expected.set(hash, 'timedOut');
      await step();
      // A candidate freed without an event (a dispute): its core goes to the next candidate.
      const freed = chain.best.state.pending.get(disputedPara);
      await step({ dispute: new Set([disputedPara]) });
      if (freed) expected.set(toHex(freed.candidateHash), 'notEnacted');
      await step();
      await step();
      // A reorg of two blocks: their candidates are replaced by the new branch's.
      for (const block of [chain.blockAt(chain.best.number - 1)!, chain.best])
        for (const hash of backedIn(block)) expected.set(hash, 'replaced');
      await stack.devnet.fork(2);
      await caughtUp();
      await step();
      await step();
      // A reorg of one block whose replacement does not back one para: that candidate is only retracted.
      for (const hash of backedIn(chain.best)) expected.set(hash, 'replaced');
      for (const hash of backedIn(chain.best, droppedPara)) expected.set(hash, 'retracted');
      await stack.devnet.fork(1, { dropBacked: new Set([droppedPara]) });
      await caughtUp();
      await step();
      await step();
    }
    // Let everything pending settle and become final.
    for (let i = 0; i < 8; i++) await step();
    await storedUpTo(stack.sidecar.store, chain.finalized.number);
    assert.ok(chain.best.number >= 200, `ran ${chain.best.number} blocks`);

    // Candidates backed in the last block are still pending availability.
    lifecycles.check(chain.best.number);
    assert.deepEqual(lifecycles.problems, []);
    const announced = [...lifecycles.events.values()].filter((l) => l[0] === 'pending').length;
    assert.ok(announced > 2000, `${announced} messages announced as pending`);
    for (const [hash, reason] of expected) {
      // Candidates without messages to anyone are never pending; every devnet candidate sends some.
      assert.equal(lifecycles.reasons.get(hash), reason, `candidate ${hash}`);
    }
    const drops = [...lifecycles.reasons.values()];
    for (const reason of ['timedOut', 'notEnacted', 'replaced', 'retracted'] as const)
      assert.ok(
        drops.filter((r) => r === reason).length >= 20,
        `${reason}: ${drops.filter((r) => r === reason).length}`,
      );
    assert.equal(lifecycles.reasons.size, expected.size, 'dropped exactly the candidates a fault hit');
  });

  it('every stored message was enacted in the stream, settling its pending announcement', async () => {
    const settled = new Set<string>();
    const finalized = (await stack.sidecar.store.cursor())!.number;
    for (const [key, list] of lifecycles.events)
      if (
        list.at(-1) === 'messages' &&
        lifecycles.enactedAt.get(key)! <= finalized &&
        lifecycles.enactedAt.get(key)! > 8
      )
        settled.add(key);
    const stored = (await stack.sidecar.store.inbox(2000)).concat(
      await stack.sidecar.store.inbox(1000),
      await stack.sidecar.store.inbox(2001),
      await stack.sidecar.store.inbox(2004),
    );
    const late = stored.filter((m) => m.sentAt > 8);
    assert.ok(late.length > 2000);
    const candidates = new Set(late.map((m) => m.candidateHash));
    for (const key of settled)
      assert.ok(candidates.has(key.split(':')[0] as `0x${string}`), `${key} enacted, not stored`);
    const settledCandidates = new Set([...settled].map((key) => key.split(':')[0]));
    for (const m of late)
      assert.ok(
        settledCandidates.has(m.candidateHash),
        `stored ${m.sentAt}-${m.sender}-${m.recipient}-${m.index} never settled in the stream`,
      );
  });
});
