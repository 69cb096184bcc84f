/**
 * Extracts the ParaInclusion candidate events from a raw `System.Events` value, skipping every other
 * event by its metadata-compiled length instead of decoding it.
 */
import { readCompactNumber, readU32, ScaleError } from '../protocol/bytes.ts';
import { descriptorParaId } from '../protocol/descriptor.ts';
import { candidateHash } from '../protocol/hash.ts';
import { fieldBoundaries, fixedOffsets } from './inherent.ts';
import type { CandidateEventLayout, EventsLayout } from './layout.ts';

export type CandidateEventKind = 'backed' | 'included' | 'timedOut';

export interface CandidateEvent {
  readonly kind: CandidateEventKind;
  /** Position of the event record in the block's events. */
  readonly eventIndex: number;
  readonly paraId: number;
  readonly descriptor: Uint8Array;
  readonly commitmentsHash: Uint8Array;
  readonly candidateHash: Uint8Array;
  readonly headData: Uint8Array;
  readonly coreIndex: number;
  /** Absent from `CandidateTimedOut`. */
  readonly groupIndex: number | null;
}

export interface CandidateEvents {
  readonly backed: readonly CandidateEvent[];
  readonly included: readonly CandidateEvent[];
  readonly timedOut: readonly CandidateEvent[];
  /** Candidates a dispute concluded against in this block (`ParasDisputes.DisputeConcluded`, Invalid). */
  readonly disputedInvalid: readonly Uint8Array[];
  readonly eventCount: number;
}

function readCandidateEvent(
  layout: EventsLayout,
  kind: CandidateEventKind,
  eventLayout: CandidateEventLayout,
  eventIndex: number,
  bytes: Uint8Array,
  offset: number,
): [CandidateEvent, number] {
  const fields = eventLayout.fields;
  // A receipt is all fixed-size fields on every runtime so far: then no walk is needed.
  const fixed = fixedOffsets(layout.receipt);
  const receipt = fixed ? fixed.map((at) => offset + at) : fieldBoundaries(layout.receipt, bytes, offset);
  if (receipt[receipt.length - 1]! > bytes.length)
    throw new ScaleError(`candidate receipt at ${offset} runs past the end (${bytes.length})`);
  const descriptorAt = layout.receipt.indexOf('descriptor');
  const hashAt = layout.receipt.indexOf('commitments_hash');
  const descriptor = bytes.subarray(receipt[descriptorAt]!, receipt[descriptorAt + 1]!);
  const commitmentsHash = bytes.subarray(receipt[hashAt]!, receipt[hashAt + 1]!);
  let pos = receipt[receipt.length - 1]!;
  const [headLength, headStart] = readCompactNumber(bytes, pos);
  const headData = bytes.subarray(headStart, headStart + headLength);
  pos = fields[1]!.skip(bytes, pos);
  const coreIndex = readU32(bytes, pos);
  pos = fields[2]!.skip(bytes, pos);
  let groupIndex: number | null = null;
  if (fields[3]) {
    groupIndex = readU32(bytes, pos);
    pos = fields[3].skip(bytes, pos);
  }
  for (const extra of fields.slice(4)) pos = extra.skip(bytes, pos);
  return [
    {
      kind,
      eventIndex,
      paraId: descriptorParaId(descriptor),
      descriptor,
      commitmentsHash,
      candidateHash: candidateHash(descriptor, commitmentsHash),
      headData,
      coreIndex,
      groupIndex,
    },
    pos,
  ];
}

export function extractCandidateEvents(layout: EventsLayout, events: Uint8Array): CandidateEvents {
  try {
    return walkEvents(layout, events);
  } catch (error) {
    if (error instanceof ScaleError) {
      throw new ScaleError(`System.Events does not match the metadata: ${error.message}`);
    }
    throw error;
  }
}

function walkEvents(layout: EventsLayout, events: Uint8Array): CandidateEvents {
  const backed: CandidateEvent[] = [];
  const included: CandidateEvent[] = [];
  const timedOut: CandidateEvent[] = [];
  const disputedInvalid: Uint8Array[] = [];
  const disputes = layout.disputeConcluded;
  const phaseAt = layout.record.indexOf('phase');
  const eventAt = layout.record.indexOf('event');
  const phase = layout.record.codecs[phaseAt]!;
  const tail = layout.record.codecs.slice(eventAt + 1);
  if (phaseAt !== 0 || eventAt !== 1) throw new ScaleError('EventRecord fields are not (phase, event, …)');
  const [count, first] = readCompactNumber(events, 0);
  let pos = first;
  for (let index = 0; index < count; index++) {
    pos = phase.skip(events, pos);
    const palletIndex = events[pos];
    if (palletIndex === layout.paraInclusionIndex) {
      const variant = events[pos + 1];
      const which =
        variant === layout.backed.variantIndex
          ? (['backed', layout.backed, backed] as const)
          : variant === layout.included.variantIndex
            ? (['included', layout.included, included] as const)
            : variant === layout.timedOut.variantIndex
              ? (['timedOut', layout.timedOut, timedOut] as const)
              : null;
      if (which) {
        const [event, next] = readCandidateEvent(layout, which[0], which[1], index, events, pos + 2);
        which[2].push(event);
        pos = next;
      } else {
        pos = layout.paraInclusionEvent.skip(events, pos + 1);
      }
    } else {
      // DisputeConcluded(candidate_hash: [u8; 32], result): the hash first, the result after it.
      if (disputes && palletIndex === disputes.palletIndex && events[pos + 1] === disputes.variantIndex)
        if (events[pos + 34] === disputes.invalidIndex)
          disputedInvalid.push(events.subarray(pos + 2, pos + 34));
      pos = layout.runtimeEvent.skip(events, pos);
    }
    for (const codec of tail) pos = codec.skip(events, pos);
  }
  if (pos !== events.length) throw new ScaleError(`events end at ${pos} of ${events.length} bytes`);
  return { backed, included, timedOut, disputedInvalid, eventCount: count };
}
