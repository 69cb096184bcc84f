/**
 * Finds `ParaInherent.enter` among a block's extrinsics and walks it on raw bytes: the byte ranges
 * of every backed candidate's descriptor and commitments, and every signed availability bitfield.
 * Nothing is re-encoded, so hashing a commitments range gives exactly the chain's commitments hash.
 */
import { readCompactNumber, readU32, ScaleError } from '../protocol/bytes.ts';
import type { FieldWalker } from '../protocol/codec.ts';
import type { InherentLayout } from './layout.ts';

export interface BackedCandidateBytes {
  readonly descriptor: Uint8Array;
  readonly commitments: Uint8Array;
}

/** The signed availability bitfields of a block, counted as they are walked. */
export interface BitfieldSummary {
  readonly count: number;
  /** Highest validator index seen, plus one. */
  readonly validatorsSeen: number;
  /** Availability votes per core: how many bitfields set that core's bit. */
  readonly votesPerCore: readonly number[];
}

export interface ParaInherentData {
  /** Index of the extrinsic in the block. */
  readonly extrinsicIndex: number;
  readonly bitfields: BitfieldSummary;
  readonly backedCandidates: readonly BackedCandidateBytes[];
  readonly disputeCount: number;
}

const fixedOffsetCache = new WeakMap<FieldWalker, readonly number[] | null>();

/** Where each field of a struct starts (and, last, where it ends) when every field has a fixed size; else null. */
export function fixedOffsets(walker: FieldWalker): readonly number[] | null {
  if (fixedOffsetCache.has(walker)) return fixedOffsetCache.get(walker)!;
  let offsets: number[] | null = [0];
  for (const codec of walker.codecs) {
    if (codec.fixedSize === null) {
      offsets = null;
      break;
    }
    offsets.push(offsets.at(-1)! + codec.fixedSize);
  }
  fixedOffsetCache.set(walker, offsets);
  return offsets;
}

/** Byte ranges of each field of a struct starting at `offset`; returns [starts..., end]. */
export function fieldBoundaries(walker: FieldWalker, bytes: Uint8Array, offset: number): number[] {
  const bounds = [offset];
  let pos = offset;
  for (const codec of walker.codecs) {
    pos = codec.skip(bytes, pos);
    bounds.push(pos);
  }
  return bounds;
}

/**
 * Returns the call bytes of an unsigned (bare) extrinsic, or null for signed/general ones.
 * `extrinsic` includes its compact length prefix, as blocks carry it.
 */
export function bareCallBytes(extrinsic: Uint8Array): Uint8Array | null {
  const [length, start] = readCompactNumber(extrinsic, 0);
  if (start + length !== extrinsic.length) {
    throw new ScaleError(`extrinsic length prefix says ${length} bytes, found ${extrinsic.length - start}`);
  }
  const version = extrinsic[start];
  if (version === undefined) return null;
  // Bit 7: signed (v4). Bits 6-7 = 01: general (v5). Inherents are bare: both clear.
  if ((version & 0xc0) !== 0) return null;
  const format = version & 0x3f;
  if (format !== 4 && format !== 5) return null;
  return extrinsic.subarray(start + 1);
}

/**
 * Where a bitfield's fields sit when every field but the payload has a fixed size (as on every
 * runtime so far): reading one is then a compact and a u32, not a walk of each field.
 */
interface BitfieldPlan {
  /** Bytes before the payload. */
  readonly before: number;
  /** From the payload's end to the validator index (negative: the index comes before the payload). */
  readonly validatorFromPayloadEnd: number | null;
  readonly validatorFromStart: number | null;
  /** Bytes after the payload. */
  readonly after: number;
}

const bitfieldPlans = new WeakMap<FieldWalker, BitfieldPlan | null>();

function bitfieldPlan(walker: FieldWalker): BitfieldPlan | null {
  if (bitfieldPlans.has(walker)) return bitfieldPlans.get(walker)!;
  const payloadAt = walker.indexOf('payload');
  const validatorAt = walker.indexOf('validator_index');
  const sizes = walker.codecs.map((codec) => codec.fixedSize);
  const fixed = sizes.every((size, i) => i === payloadAt || size !== null);
  const sum = (from: number, to: number) => sizes.slice(from, to).reduce((a: number, b) => a + b!, 0);
  const plan: BitfieldPlan | null = fixed
    ? {
        before: sum(0, payloadAt),
        after: sum(payloadAt + 1, sizes.length),
        validatorFromStart: validatorAt < payloadAt ? sum(0, validatorAt) : null,
        validatorFromPayloadEnd: validatorAt > payloadAt ? sum(payloadAt + 1, validatorAt) : null,
      }
    : null;
  bitfieldPlans.set(walker, plan);
  return plan;
}

/** Adds one Lsb0 bitfield's set bits to `votes` (bits past `bitLength` are not votes). */
function countVotes(votes: number[], bytes: Uint8Array, bitsAt: number, bitLength: number): void {
  while (votes.length < bitLength) votes.push(0);
  for (let i = 0; i * 8 < bitLength; i++) {
    let byte = bytes[bitsAt + i]!;
    while (byte !== 0) {
      const core = i * 8 + (31 - Math.clz32(byte & -byte));
      if (core < bitLength) votes[core]! += 1;
      byte &= byte - 1;
    }
  }
}

function walkBitfields(
  layout: InherentLayout,
  bytes: Uint8Array,
  start: number,
  end: number,
): BitfieldSummary {
  const [count, first] = readCompactNumber(bytes, start);
  const payloadAt = layout.bitfield.indexOf('payload');
  const validatorAt = layout.bitfield.indexOf('validator_index');
  const plan = bitfieldPlan(layout.bitfield);
  const votesPerCore: number[] = [];
  let validatorsSeen = 0;
  let pos = first;
  for (let i = 0; i < count; i++) {
    let bitLength: number;
    let bitsAt: number;
    let validatorOffset: number;
    if (plan) {
      [bitLength, bitsAt] = readCompactNumber(bytes, pos + plan.before);
      const payloadEnd = bitsAt + Math.ceil(bitLength / 8);
      validatorOffset =
        plan.validatorFromStart !== null
          ? pos + plan.validatorFromStart
          : payloadEnd + plan.validatorFromPayloadEnd!;
      pos = payloadEnd + plan.after;
      if (pos > bytes.length) throw new ScaleError(`bitfield ${i} runs past the end (${bytes.length})`);
    } else {
      const bounds = fieldBoundaries(layout.bitfield, bytes, pos);
      [bitLength, bitsAt] = readCompactNumber(bytes, bounds[payloadAt]!);
      validatorOffset = bounds[validatorAt]!;
      pos = bounds[bounds.length - 1]!;
    }
    validatorsSeen = Math.max(validatorsSeen, readU32(bytes, validatorOffset) + 1);
    countVotes(votesPerCore, bytes, bitsAt, bitLength);
  }
  if (pos !== end) throw new ScaleError(`bitfields end at ${pos}, expected ${end}`);
  return { count, validatorsSeen, votesPerCore };
}

function walkBackedCandidates(
  layout: InherentLayout,
  bytes: Uint8Array,
  start: number,
  end: number,
): BackedCandidateBytes[] {
  const [count, first] = readCompactNumber(bytes, start);
  const candidateAt = layout.backedCandidate.indexOf('candidate');
  const descriptorAt = layout.committedReceipt.indexOf('descriptor');
  const commitmentsAt = layout.committedReceipt.indexOf('commitments');
  const candidates: BackedCandidateBytes[] = [];
  let pos = first;
  for (let i = 0; i < count; i++) {
    const outer = fieldBoundaries(layout.backedCandidate, bytes, pos);
    const inner = fieldBoundaries(layout.committedReceipt, bytes, outer[candidateAt]!);
    candidates.push({
      descriptor: bytes.subarray(inner[descriptorAt]!, inner[descriptorAt + 1]!),
      commitments: bytes.subarray(inner[commitmentsAt]!, inner[commitmentsAt + 1]!),
    });
    pos = outer[outer.length - 1]!;
  }
  if (pos !== end) throw new ScaleError(`backed candidates end at ${pos}, expected ${end}`);
  return candidates;
}

/** Walks `ParaInherent.enter` if the block has one; null when it does not (e.g. a genesis block). */
export function findParaInherent(
  layout: InherentLayout,
  extrinsics: readonly Uint8Array[],
): ParaInherentData | null {
  for (let index = 0; index < extrinsics.length; index++) {
    const call = bareCallBytes(extrinsics[index]!);
    if (!call || call[0] !== layout.palletIndex || call[1] !== layout.enterCallIndex) continue;
    try {
      const bounds = fieldBoundaries(layout.data, call, 2);
      const field = (name: string): [number, number] => {
        const at = layout.data.indexOf(name);
        return [bounds[at]!, bounds[at + 1]!];
      };
      const [bitfieldsStart, bitfieldsEnd] = field('bitfields');
      const [backedStart, backedEnd] = field('backed_candidates');
      const [disputesStart] = field('disputes');
      if (bounds[bounds.length - 1] !== call.length) {
        throw new ScaleError(`${call.length - bounds[bounds.length - 1]!} trailing bytes`);
      }
      return {
        extrinsicIndex: index,
        bitfields: walkBitfields(layout, call, bitfieldsStart, bitfieldsEnd),
        backedCandidates: walkBackedCandidates(layout, call, backedStart, backedEnd),
        disputeCount: readCompactNumber(call, disputesStart)[0],
      };
    } catch (error) {
      if (error instanceof ScaleError) {
        throw new ScaleError(
          `ParaInherent.enter (extrinsic ${index}) does not match the metadata: ${error.message}`,
        );
      }
      throw error;
    }
  }
  return null;
}
