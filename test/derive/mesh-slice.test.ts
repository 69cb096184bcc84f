/**
 * Slices as the mesh erasure-codes them (issue 31): SCALE round trip, and a slice read back is
 * accepted only when each sender's messages fold from the kept head before to the kept head after.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkedSlice,
  decodeSlice,
  encodeSlice,
  type SliceHead,
  type SliceMessage,
} from '../../src/derive/mesh-slice.ts';
import { type Hex, toHex } from '../../src/protocol/bytes.ts';
import { extendMqcHeadWith, ZERO_HEAD } from '../../src/protocol/mqc.ts';

const BLOCK = 4242;
const candidate = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const messages: SliceMessage[] = [
  { sender: 2000, candidateHash: candidate(1), position: 0, data: Uint8Array.of(1, 2, 3) },
  { sender: 2000, candidateHash: candidate(1), position: 1, data: new Uint8Array(300).fill(7) },
  { sender: 2004, candidateHash: candidate(2), data: Uint8Array.of(9) },
];
const before2000 = toHex(extendMqcHeadWith(ZERO_HEAD, [{ sentAt: 10, data: Uint8Array.of(0) }]));
const heads: SliceHead[] = [
  {
    sender: 2000,
    before: before2000,
    after: toHex(
      extendMqcHeadWith(
        Uint8Array.from(Buffer.from(before2000.slice(2), 'hex')),
        messages.slice(0, 2).map((m) => ({ sentAt: BLOCK, data: m.data })),
      ),
    ),
  },
  {
    sender: 2004,
    before: null,
    after: toHex(extendMqcHeadWith(ZERO_HEAD, [{ sentAt: BLOCK, data: Uint8Array.of(9) }])),
  },
];

/** Why the slice does not match the kept heads (the checked slice's error), or null. */
const sliceMismatch = (slice: readonly SliceMessage[], block: number, kept: readonly SliceHead[]) => {
  const checked = checkedSlice({ block, hash: candidate(9), recipient: 2005 }, slice, kept);
  return checked instanceof Error ? checked.message : null;
};

describe('mesh slices', () => {
  it('round-trips through SCALE, positions unknown included', () => {
    const back = decodeSlice(encodeSlice(messages));
    assert.deepEqual(back, messages);
    assert.deepEqual(decodeSlice(encodeSlice([])), []);
    assert.throws(() => decodeSlice(Uint8Array.of(4, 1)), /runs past the end/);
    assert.throws(() => decodeSlice(Uint8Array.of(0, 0)), /after the slice/);
  });

  it('accepts exactly the messages the kept heads prove', () => {
    const records = checkedSlice({ block: BLOCK, hash: candidate(9), recipient: 2005 }, messages, heads);
    assert.ok(!(records instanceof Error), String(records));
    assert.deepEqual(
      records.map((r) => [r.sender, r.index, r.mqcHeadAfter === heads[r.sender === 2000 ? 0 : 1]!.after]),
      [
        [2000, 0, false],
        [2000, 1, true],
        [2004, 0, true],
      ],
    );
    assert.equal(sliceMismatch(messages, BLOCK, heads), null);
    const flipped = messages.map((m, i) =>
      i === 1 ? { ...m, data: m.data.map((b, j) => (j === 0 ? b ^ 1 : b)) } : m,
    );
    assert.match(sliceMismatch(flipped, BLOCK, heads)!, /extend its head/);
    assert.match(sliceMismatch([messages[1]!, messages[0]!, messages[2]!], BLOCK, heads)!, /extend its head/);
    assert.match(sliceMismatch(messages.slice(0, 2), BLOCK, heads)!, /no message from 2004/);
    assert.match(sliceMismatch(messages.slice(1), BLOCK, heads)!, /from 2000 extend/);
    const extra = [...messages, { sender: 2010, candidateHash: candidate(3), data: Uint8Array.of(1) }];
    assert.match(sliceMismatch(extra, BLOCK, heads)!, /from 2010, whose head is not kept/);
    assert.match(sliceMismatch(messages, BLOCK + 1, heads)!, /extend its head/, 'another block');
  });
});
