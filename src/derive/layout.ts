/**
 * What a runtime's metadata says about where relay-chain facts sit in blocks and events. Built once
 * per runtime version from the metadata (field and variant names, never type names, which change
 * across versions), then reused by the byte walkers for every block.
 */
import { ScaleError } from '../protocol/bytes.ts';
import { CodecRegistry, type FieldWalker, fieldWalker, type TypeCodec } from '../protocol/codec.ts';
import { DESCRIPTOR_SIZE } from '../protocol/descriptor.ts';
import {
  fieldsOf,
  type PortableVariant,
  type RuntimeMetadata,
  requirePallet,
  typeById,
  variantsOf,
} from '../protocol/metadata.ts';
import { versionedXcmCodec } from '../protocol/xcmp.ts';

export interface InherentLayout {
  readonly palletIndex: number;
  readonly enterCallIndex: number;
  /** Codec of the whole call argument list of `enter` (one field, `data`). */
  readonly data: FieldWalker;
  readonly bitfield: FieldWalker;
  readonly backedCandidate: FieldWalker;
  readonly committedReceipt: FieldWalker;
}

export interface CandidateEventLayout {
  readonly variantIndex: number;
  /** Positional fields: receipt, head data, core index[, group index]. */
  readonly fields: readonly TypeCodec[];
}

export interface EventsLayout {
  readonly record: FieldWalker;
  readonly runtimeEvent: TypeCodec;
  readonly paraInclusionIndex: number;
  readonly paraInclusionEvent: TypeCodec;
  readonly backed: CandidateEventLayout;
  readonly included: CandidateEventLayout;
  readonly timedOut: CandidateEventLayout;
  readonly receipt: FieldWalker;
  /**
   * `ParasDisputes.DisputeConcluded(candidate_hash, result)`: a dispute concluded against a
   * candidate pending availability frees it (the runtime drops it without a ParaInclusion event).
   * Null on a runtime without it.
   */
  readonly disputeConcluded: DisputeConcludedLayout | null;
}

export interface DisputeConcludedLayout {
  readonly palletIndex: number;
  readonly variantIndex: number;
  /** The `DisputeResult` variant index of `Invalid`. */
  readonly invalidIndex: number;
}

export interface RelayLayout {
  readonly metadata: RuntimeMetadata;
  readonly codecs: CodecRegistry;
  readonly inherent: InherentLayout;
  readonly events: EventsLayout;
  /** Null when the runtime has no XCM types (messages are then reported undecoded). */
  readonly versionedXcm: TypeCodec | null;
}

/** Follows single-field wrapper structs (`AvailabilityBitfield(BitVec)`) to the wrapped type. */
export function unwrapNewtype(metadata: RuntimeMetadata, id: number): number {
  let current = id;
  for (;;) {
    const def = typeById(metadata, current).def;
    if ('composite' in def && def.composite.fields.length === 1) current = def.composite.fields[0]!.type;
    else return current;
  }
}

function structWalker(metadata: RuntimeMetadata, codecs: CodecRegistry, id: number): FieldWalker {
  const type = typeById(metadata, id);
  return fieldWalker(codecs, fieldsOf(metadata, id), type.path.join('::') || `type ${id}`);
}

function sequenceElement(metadata: RuntimeMetadata, id: number, what: string): number {
  const def = typeById(metadata, unwrapNewtype(metadata, id)).def;
  if (!('sequence' in def)) throw new ScaleError(`${what} is not a sequence in this runtime`);
  return def.sequence.type;
}

function findVariant(variants: readonly PortableVariant[], name: string, where: string): PortableVariant {
  const variant = variants.find((v) => v.name === name);
  if (!variant) throw new ScaleError(`${where} has no ${name}`);
  return variant;
}

function inherentLayout(metadata: RuntimeMetadata, codecs: CodecRegistry): InherentLayout {
  const pallet = requirePallet(metadata, 'ParaInherent');
  if (pallet.callType === null) throw new ScaleError('ParaInherent has no calls');
  const enter = findVariant(variantsOf(metadata, pallet.callType), 'enter', 'ParaInherent calls');
  const dataField = enter.fields[0];
  if (!dataField) throw new ScaleError('ParaInherent.enter has no data argument');
  const data = structWalker(metadata, codecs, dataField.type);
  const bitfieldsType = data.codecs[data.indexOf('bitfields')]!.id;
  const backedType = data.codecs[data.indexOf('backed_candidates')]!.id;
  const backedCandidate = structWalker(
    metadata,
    codecs,
    sequenceElement(metadata, backedType, 'backed_candidates'),
  );
  const receiptType = backedCandidate.codecs[backedCandidate.indexOf('candidate')]!.id;
  const committedReceipt = structWalker(metadata, codecs, receiptType);
  const descriptor = committedReceipt.codecs[committedReceipt.indexOf('descriptor')]!;
  if (descriptor.fixedSize !== DESCRIPTOR_SIZE) {
    throw new ScaleError(
      `candidate descriptor is ${descriptor.fixedSize ?? 'variable'} bytes, expected ${DESCRIPTOR_SIZE}`,
    );
  }
  return {
    palletIndex: pallet.index,
    enterCallIndex: enter.index,
    data,
    bitfield: structWalker(metadata, codecs, sequenceElement(metadata, bitfieldsType, 'bitfields')),
    backedCandidate,
    committedReceipt,
  };
}

function eventsLayout(metadata: RuntimeMetadata, codecs: CodecRegistry): EventsLayout {
  const events = requirePallet(metadata, 'System').storage.get('Events');
  if (!events) throw new ScaleError('System.Events is missing from the metadata');
  const record = structWalker(metadata, codecs, sequenceElement(metadata, events.valueType, 'System.Events'));
  const runtimeEventType = record.codecs[record.indexOf('event')]!.id;
  const pallet = requirePallet(metadata, 'ParaInclusion');
  const palletVariant = variantsOf(metadata, runtimeEventType).find((v) => v.name === 'ParaInclusion');
  if (!palletVariant || pallet.eventType === null) throw new ScaleError('ParaInclusion has no events');
  const eventVariants = variantsOf(metadata, pallet.eventType);
  const candidateEvent = (name: string): CandidateEventLayout => {
    const variant = findVariant(eventVariants, name, 'ParaInclusion events');
    return { variantIndex: variant.index, fields: variant.fields.map((field) => codecs.codec(field.type)) };
  };
  const backed = candidateEvent('CandidateBacked');
  return {
    disputeConcluded: disputeConcludedLayout(metadata, codecs, runtimeEventType),
    record,
    runtimeEvent: codecs.codec(runtimeEventType),
    paraInclusionIndex: palletVariant.index,
    paraInclusionEvent: codecs.codec(pallet.eventType),
    backed,
    included: candidateEvent('CandidateIncluded'),
    timedOut: candidateEvent('CandidateTimedOut'),
    receipt: structWalker(metadata, codecs, backed.fields[0]!.id),
  };
}

function disputeConcludedLayout(
  metadata: RuntimeMetadata,
  codecs: CodecRegistry,
  runtimeEventType: number,
): DisputeConcludedLayout | null {
  const palletVariant = variantsOf(metadata, runtimeEventType).find((v) => v.name === 'ParasDisputes');
  const eventType = metadata.palletsByName.get('ParasDisputes')?.eventType ?? null;
  if (!palletVariant || eventType === null) return null;
  const concluded = variantsOf(metadata, eventType).find((v) => v.name === 'DisputeConcluded');
  const [hash, result] = concluded?.fields ?? [];
  // The byte offsets events.ts reads: a 32-byte hash, then a one-byte result.
  if (!concluded || !hash || !result) return null;
  if (codecs.codec(hash.type).fixedSize !== 32 || codecs.codec(result.type).fixedSize !== 1) return null;
  const resultType = result.type;
  const invalid = variantsOf(metadata, resultType).find((v) => v.name === 'Invalid');
  if (!invalid) return null;
  return { palletIndex: palletVariant.index, variantIndex: concluded.index, invalidIndex: invalid.index };
}

const layouts = new WeakMap<RuntimeMetadata, RelayLayout>();

/** The layout for a runtime; computed once per metadata object. */
export function relayLayout(metadata: RuntimeMetadata): RelayLayout {
  const cached = layouts.get(metadata);
  if (cached) return cached;
  const codecs = new CodecRegistry(metadata);
  let versionedXcm: TypeCodec | null = null;
  try {
    versionedXcm = versionedXcmCodec(metadata, codecs);
  } catch {
    versionedXcm = null;
  }
  const layout: RelayLayout = {
    metadata,
    codecs,
    inherent: inherentLayout(metadata, codecs),
    events: eventsLayout(metadata, codecs),
    versionedXcm,
  };
  layouts.set(metadata, layout);
  return layout;
}
