/**
 * The speculative lifecycle on its own (docs/speculative.md): each announced para block ends once,
 * matched at backing, contradicted, or withdrawn for the reason that applies; the window counts from
 * the block's relay parent; late announcements and relay reorgs do not break the grammar.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LifecycleBlock } from '../../src/derive/pending.ts';
import {
  type ParaBlockSeen,
  type SpeculativeEvent,
  SpeculativeLifecycle,
} from '../../src/derive/speculative.ts';
import { encodeCompact, type Hex, toHex } from '../../src/protocol/bytes.ts';
import { encodeCommitments, type OutboundHrmpMessage } from '../../src/protocol/commitments.ts';
import { blake2_256 } from '../../src/protocol/hash.ts';
import type { CandidateRecord } from '../../src/store/types.ts';

const relayHash = (n: number, fork = 0): Hex => toHex(new Uint8Array(32).fill(n).fill(fork, 0, 1));
const GENESIS = toHex(new Uint8Array(32)) as Hex;
const msg = (recipient: number, ...data: number[]): OutboundHrmpMessage => ({
  recipient,
  data: Uint8Array.from(data),
});

/** A cumulus para block: its head data is its SCALE header (parent, number, roots, digest). */
function paraBlock(
  number: number,
  parentHash: Hex,
  messages: OutboundHrmpMessage[],
  relayParentNumber: number | null,
  salt = 0,
): ParaBlockSeen & { headData: Uint8Array } {
  const parent = Uint8Array.from(Buffer.from(parentHash.slice(2), 'hex'));
  const headData = Uint8Array.from([
    ...parent,
    ...encodeCompact(number),
    ...new Uint8Array(64).fill(salt),
    0,
  ]);
  return {
    paraId: 2000,
    number,
    hash: toHex(blake2_256(headData)),
    parentHash,
    messages,
    relayParentNumber,
    headData,
  };
}

function candidate(
  block: { headData: Uint8Array },
  messages: readonly OutboundHrmpMessage[],
  verified = true,
): CandidateRecord {
  const commitments = encodeCommitments({
    upwardMessages: [],
    horizontalMessages: messages,
    newValidationCode: null,
    headData: block.headData,
    processedDownwardMessages: 0,
    hrmpWatermark: 1,
  });
  return {
    candidateHash: toHex(blake2_256(commitments)),
    paraId: 2000,
    descriptor: new Uint8Array(292),
    commitments,
    commitmentsHash: toHex(blake2_256(commitments)),
    relayParent: relayHash(1),
    backedIn: 1,
    coreIndex: 0,
    status: 'backed',
    enactedIn: null,
    verified,
    reason: null,
    availabilityVotes: 0,
    availabilityThreshold: 14,
    hrmpWatermark: 1,
  };
}

function relay(number: number, newCandidates: CandidateRecord[] = [], fork = 0): LifecycleBlock {
  const hash = relayHash(number, fork);
  return {
    number,
    hash,
    write: {
      number,
      hash,
      parentHash: relayHash(number - 1, fork),
      newCandidates,
      candidateUpdates: [],
      messages: [],
      channels: [],
      watermarks: [],
      failures: [],
    },
  };
}

const types = (events: readonly SpeculativeEvent[]) => events.map((e) => e.type);

describe('speculative lifecycle', () => {
  it('announces a block, then matches it at backing with the same messages (no update of its own)', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1, 2), msg(2004, 3)], 10);
    assert.deepEqual(types(life.paraBlock(a)), ['speculative']);
    const events = life.relayFollowed(relay(11, [candidate(a, a.messages)]));
    assert.deepEqual(types(events), ['matched']);
    assert.equal(life.outcome(a.hash), 'matched');
    assert.deepEqual(life.paraBlock(a), [], 'a block announced again is not announced twice');
  });

  it('contradicted: the candidate for that very block carries other messages; both sets are named', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1, 2)], 10);
    life.paraBlock(a);
    const [event] = life.relayFollowed(relay(11, [candidate(a, [msg(2001, 1, 3)])]));
    assert.equal(event?.type, 'contradicted');
    if (event?.type !== 'contradicted') return;
    assert.deepEqual(
      event.messages.map((m) => m.data),
      [Uint8Array.of(1, 2)],
    );
    assert.deepEqual(
      event.backed.map((m) => m.data),
      [Uint8Array.of(1, 3)],
    );
    assert.match(event.detail, /carries 1 messages other than the 1 its node announced/);
  });

  it('a block that announced nothing is contradicted only when its candidate sends something', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const empty = paraBlock(1, GENESIS, [], 10);
    assert.deepEqual(life.paraBlock(empty), []);
    assert.deepEqual(types(life.relayFollowed(relay(11, [candidate(empty, [msg(2001, 9)])]))), [
      'contradicted',
    ]);
  });

  it('a candidate whose commitments binding failed matches nothing', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10);
    life.paraBlock(a);
    assert.deepEqual(life.relayFollowed(relay(11, [candidate(a, [msg(2001, 7)], false)])), []);
    assert.equal(life.outcome(a.hash), 'open');
  });

  it('para fork: another block at its height is backed, so it is withdrawn', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10, 0);
    const b = paraBlock(1, GENESIS, [msg(2001, 2)], 10, 1);
    life.paraBlock(a);
    life.paraBlock(b);
    const events = life.relayFollowed(relay(11, [candidate(a, a.messages)]));
    assert.deepEqual(types(events), ['matched', 'withdrawn']);
    const withdrawn = events[1]!;
    assert.equal(withdrawn.type === 'withdrawn' && withdrawn.reason, 'paraFork');
    assert.equal(withdrawn.paraBlock.hash, b.hash);
  });

  it("left the node's best chain: its best moved to a sibling's descendant", () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10, 0);
    const b = paraBlock(1, GENESIS, [msg(2001, 2)], 10, 1);
    const c = paraBlock(2, b.hash, [], 10);
    life.paraBlock(a);
    life.paraBlock(b);
    life.paraBlock(c);
    const events = life.paraBest({ paraId: 2000, number: c.number, hash: c.hash, parentHash: c.parentHash });
    assert.deepEqual(
      events.map((e) => [e.type, e.type === 'withdrawn' && e.reason, e.paraBlock.hash]),
      [['withdrawn', 'leftBestChain', a.hash]],
    );
  });

  it('not backed: withdrawn `window` relay blocks after its relay parent, not after the (lagging) relay view', () => {
    const life = new SpeculativeLifecycle({ window: 4 });
    life.relayFollowed(relay(2));
    // The para node is ahead of the sidecar's relay view: relay parent #7 while the view is at #2.
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 7);
    life.paraBlock(a);
    for (let n = 3; n <= 10; n++) assert.deepEqual(life.relayFollowed(relay(n)), [], `relay #${n}`);
    const [event] = life.relayFollowed(relay(11));
    assert.equal(event?.type === 'withdrawn' && event.reason, 'notBacked');
    assert.match(
      event?.type === 'withdrawn' ? event.detail : '',
      /by relay #11, 4 blocks after its relay parent #7/,
    );
  });

  it('a node claiming a relay parent far ahead cannot keep a block open; one naming none counts from its announcement', () => {
    const life = new SpeculativeLifecycle({ window: 2 });
    life.relayFollowed(relay(10));
    const far = paraBlock(1, GENESIS, [msg(2001, 1)], 1_000_000, 0);
    const unnamed = paraBlock(1, GENESIS, [msg(2001, 2)], null, 1);
    life.paraBlock(far);
    life.paraBlock(unnamed);
    assert.deepEqual(life.relayFollowed(relay(11)), []);
    assert.deepEqual(
      life.relayFollowed(relay(12)).map((e) => e.paraBlock.hash),
      [unnamed.hash],
    );
    for (let n = 13; n <= 17; n++) assert.deepEqual(life.relayFollowed(relay(n)), [], `relay #${n}`);
    assert.deepEqual(
      life.relayFollowed(relay(18)).map((e) => e.paraBlock.hash),
      [far.hash],
    );
  });

  it('blocks seen before the relay head is known are held, then announced', () => {
    const life = new SpeculativeLifecycle();
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10);
    assert.deepEqual(life.paraBlock(a), []);
    assert.deepEqual(life.open(), []);
    assert.deepEqual(types(life.relayFollowed(relay(10))), ['speculative']);
    assert.equal(life.open().length, 1);
  });

  it('announced after its backing (a slow node): matched or contradicted at once, never speculative after pending', () => {
    const life = new SpeculativeLifecycle();
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10);
    const b = paraBlock(2, a.hash, [msg(2001, 2)], 11);
    life.relayFollowed(relay(11, [candidate(a, a.messages)]));
    life.relayFollowed(relay(12, [candidate(b, [msg(2001, 5)])]));
    assert.deepEqual(types(life.paraBlock(a)), ['matched']);
    assert.deepEqual(types(life.paraBlock(b)), ['contradicted']);
  });

  it('a sibling backed on a relay block that then left the best chain does not end a block announced later', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10, 0);
    const b = paraBlock(1, GENESIS, [msg(2001, 2)], 10, 1);
    life.relayFollowed(relay(11, [candidate(a, a.messages)]));
    life.relayLeft(relay(11));
    assert.deepEqual(types(life.paraBlock(b)), ['speculative']);
    assert.deepEqual(types(life.relayFollowed(relay(11, [candidate(b, b.messages)], 1))), ['matched']);
  });

  it('lists backed para blocks of attached paras that no node announced', () => {
    const life = new SpeculativeLifecycle();
    life.relayFollowed(relay(10));
    const a = paraBlock(1, GENESIS, [msg(2001, 1)], 10);
    const b = paraBlock(2, a.hash, [msg(2001, 2)], 10);
    life.paraBlock(a);
    const block = relay(11, [candidate(a, a.messages), candidate(b, b.messages)]);
    assert.deepEqual(
      life.unannounced([block], new Set([2000])).map((h) => h.hash),
      [b.hash],
    );
    assert.deepEqual(life.unannounced([block], new Set([2001])), []);
  });
});
