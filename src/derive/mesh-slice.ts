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
 * no sender is missing or added. Pure.
 */
import {
  bytesEqual,
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
import { extendMqcHeadWith, ZERO_HEAD } from '../protocol/mqc.ts';

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

/** Each sender's head after the block, folded from `before` over its messages (sentAt = block). */
function headsAfter(
  messages: readonly SliceMessage[],
  block: number,
  before: ReadonlyMap<number, Hex | null>,
): Map<number, Uint8Array> {
  const after = new Map<number, Uint8Array>();
  for (const m of messages) {
    const head = after.get(m.sender) ?? fromHex(before.get(m.sender) ?? toHex(ZERO_HEAD));
    after.set(m.sender, extendMqcHeadWith(head, [{ sentAt: block, data: m.data }]));
  }
  return after;
}

/** Why a slice read back does not match the heads kept for it, or null when it does. */
export function sliceMismatch(
  messages: readonly SliceMessage[],
  block: number,
  heads: readonly SliceHead[],
): string | null {
  const before = new Map(heads.map((h) => [h.sender, h.before]));
  const after = headsAfter(messages, block, before);
  for (const head of heads) {
    const folded = after.get(head.sender);
    if (!folded) return `no message from ${head.sender}, whose head moved`;
    if (!bytesEqual(folded, fromHex(head.after)))
      return `the messages from ${head.sender} extend its head to ${toHex(folded)}, not ${head.after}`;
  }
  const extra = [...after.keys()].find((sender) => !before.has(sender));
  return extra === undefined ? null : `messages from ${extra}, whose head is not kept for this block`;
}
