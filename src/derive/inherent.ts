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

export interface SignedBitfield {
  readonly validatorIndex: number;
  /** Number of bits (one per availability core). */
  readonly bitLength: number;
  /** Lsb0-ordered bit storage. */
  readonly bits: Uint8Array;
}

export interface ParaInherentData {
  /** Index of the extrinsic in the block. */
  readonly extrinsicIndex: number;
  readonly bitfields: readonly SignedBitfield[];
  readonly backedCandidates: readonly BackedCandidateBytes[];
  readonly disputeCount: number;
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

function walkBitfields(
  layout: InherentLayout,
  bytes: Uint8Array,
  start: number,
  end: number,
): SignedBitfield[] {
  const [count, first] = readCompactNumber(bytes, start);
  const payloadAt = layout.bitfield.indexOf('payload');
  const validatorAt = layout.bitfield.indexOf('validator_index');
  const bitfields: SignedBitfield[] = [];
  let pos = first;
  for (let i = 0; i < count; i++) {
    const bounds = fieldBoundaries(layout.bitfield, bytes, pos);
    const [bitLength, bitsStart] = readCompactNumber(bytes, bounds[payloadAt]!);
    bitfields.push({
      validatorIndex: readU32(bytes, bounds[validatorAt]!),
      bitLength,
      bits: bytes.subarray(bitsStart, bounds[payloadAt + 1]!),
    });
    pos = bounds[bounds.length - 1]!;
  }
  if (pos !== end) throw new ScaleError(`bitfields end at ${pos}, expected ${end}`);
  return bitfields;
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
