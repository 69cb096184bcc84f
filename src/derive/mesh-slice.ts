/**
 * A slice (DESIGN.md §16): the verified messages one relay block enacted for one recipient, as the
 * mesh erasure-codes them. What can be derived is left out (hash, MQC heads, index); what the MQC
 * head does not prove (candidate hash, position) travels along and is marked so where served.
 *
 * SCALE: `Vec<(sender: u32, candidate_hash: [u8; 32], position: u32 (0xffffffff: unknown), data: Vec<u8>)>`
 * in the order the store holds them (by sender, then index).
 *
 * Kept beside each member's chunk: each sender's MQC head before and after the block. A slice
 * read back is accepted only when folding each sender's messages from `before` gives `after`, and
 * no sender is missing or added (`checkedSlice`). Pure.
 */
import {
  concatBytes,
  encodeBytes,
  encodeCompact,
  fromHex,
  type Hex,
  readCompactNumber,
  readU32,
  ScaleError,
  toHex,
  u32le,
} from '../protocol/bytes.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { extendMqcHead, ZERO_HEAD } from '../protocol/mqc.ts';
import type { MessageRecord } from '../store/types.ts';

export interface SliceMessage {
  readonly sender: number;
  readonly candidateHash: Hex;
  readonly position?: number;
  readonly data: Uint8Array;
}

/** A sender's channel head before and after the slice's block (null before: no message yet). */
export interface SliceHead {
  readonly sender: number;
  readonly before: Hex | null;
  readonly after: Hex;
}

const UNKNOWN_POSITION = 0xffffffff;

export function encodeSlice(messages: readonly SliceMessage[]): Uint8Array {
  return concatBytes([
    encodeCompact(messages.length),
    ...messages.flatMap((m) => [
      u32le(m.sender),
      fromHex(m.candidateHash, 'candidate hash'),
      u32le(m.position ?? UNKNOWN_POSITION),
      encodeBytes(m.data),
    ]),
  ]);
}

export function decodeSlice(bytes: Uint8Array): SliceMessage[] {
  let [count, pos] = readCompactNumber(bytes, 0);
  const messages: SliceMessage[] = [];
  for (; count > 0; count--) {
    if (pos + 40 > bytes.length) throw new ScaleError('a slice message runs past the end');
    const sender = readU32(bytes, pos);
    const candidateHash = toHex(bytes.subarray(pos + 4, pos + 36));
    const position = readU32(bytes, pos + 36);
    const [length, start] = readCompactNumber(bytes, pos + 40);
    if (start + length > bytes.length) throw new ScaleError('a slice message runs past the end');
    messages.push({
      sender,
      candidateHash,
      ...(position === UNKNOWN_POSITION ? {} : { position }),
      data: bytes.slice(start, start + length),
    });
    pos = start + length;
  }
  if (pos !== bytes.length) throw new ScaleError(`${bytes.length - pos} bytes after the slice`);
  return messages;
}

/**
 * A slice's messages as a store keeps them: index per sender, hash, and the MQC head after each,
 * folded from each sender's head `before` the block (none: a channel with no message yet).
 */
export function sliceRecords(
  at: { readonly block: number; readonly hash: Hex; readonly recipient: number },
  before: ReadonlyMap<number, Hex | null>,
  messages: readonly SliceMessage[],
): MessageRecord[] {
  const heads = new Map<number, Uint8Array>();
  const indices = new Map<number, number>();
  return messages.map((m) => {
    const start = heads.get(m.sender) ?? fromHex(before.get(m.sender) ?? toHex(ZERO_HEAD));
    const head = extendMqcHead(start, at.block, m.data);
    heads.set(m.sender, head);
    const index = indices.get(m.sender) ?? 0;
    indices.set(m.sender, index + 1);
    return {
      sender: m.sender,
      recipient: at.recipient,
      sentAt: at.block,
      index,
      data: m.data,
      hash: toHex(blake2_256(m.data)),
      candidateHash: m.candidateHash,
      blockHash: at.hash,
      mqcHeadAfter: toHex(head),
      verified: true,
      reason: null,
      ...(m.position === undefined ? {} : { position: m.position }),
    };
  });
}

/**
 * The slice's messages when they fold each sender's kept head before the block to the one after,
 * and every sender with a kept head (and no other) sent some; else why not, as an Error.
 */
export function checkedSlice(
  at: { readonly block: number; readonly hash: Hex; readonly recipient: number },
  messages: readonly SliceMessage[],
  heads: readonly SliceHead[],
): MessageRecord[] | Error {
  const before = new Map(heads.map((h) => [h.sender, h.before]));
  const records = sliceRecords(at, before, messages);
  const after = new Map(records.map((r) => [r.sender, r.mqcHeadAfter]));
  for (const head of heads) {
    const folded = after.get(head.sender);
    if (!folded) return new Error(`no message from ${head.sender}, whose head moved`);
    if (folded !== head.after)
      return new Error(`the messages from ${head.sender} extend its head to ${folded}, not ${head.after}`);
  }
  const extra = [...after.keys()].find((sender) => !before.has(sender));
  return extra === undefined
    ? records
    : new Error(`messages from ${extra}, whose head is not kept for this block`);
}
