/**
 * From (metadata, block, events) to a block observation: backed candidates with their commitments
 * and the commitments-binding check (DESIGN.md §3.1), the candidate events, availability votes per
 * core, and the horizontal messages of the block's backed candidates sliced per recipient. Pure.
 */
import { bytesEqual, fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { type CandidateCommitments, commitmentsHash, decodeCommitments } from '../protocol/commitments.ts';
import { type DescriptorVersion, descriptorParaId, descriptorVersion } from '../protocol/descriptor.ts';
import { blake2_256, candidateHash } from '../protocol/hash.ts';
import { blockHash, type HeaderJson, headerNumber } from '../protocol/header.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import { type CandidateEvent, type CandidateEvents, extractCandidateEvents } from './events.ts';
import { findParaInherent } from './inherent.ts';
import { relayLayout } from './layout.ts';

export interface BlockInput {
  readonly header: HeaderJson;
  /** Extrinsics as blocks carry them (with their compact length prefix). */
  readonly extrinsics: readonly Uint8Array[];
  /** Raw `System.Events` value at this block; null when not available. */
  readonly events: Uint8Array | null;
  /** The block hash when already known (saves re-hashing the header). */
  readonly hash?: Hex;
}

export interface ObservedCandidate {
  readonly paraId: number;
  readonly descriptorVersion: DescriptorVersion;
  readonly descriptorBytes: Uint8Array;
  readonly commitments: CandidateCommitments;
  readonly commitmentsBytes: Uint8Array;
  /** blake2_256 of the commitments bytes as found in the inherent. */
  readonly commitmentsHash: Hex;
  /** blake2_256(descriptor ‖ commitmentsHash). */
  readonly candidateHash: Hex;
  /** True only when a `CandidateBacked` event of this block carries the same descriptor and hash. */
  readonly commitmentsVerified: boolean;
  /** Why the check failed; null when verified. */
  readonly verificationError: string | null;
  /** The `CandidateBacked` event with this descriptor; its candidate hash is the runtime's. */
  readonly backedEvent: CandidateEvent | null;
  /**
   * In the inherent, but the block's events have no CandidateBacked with this descriptor: the
   * runtime's own checks dropped it. It is never pending and its messages are never enacted.
   */
  readonly droppedByRuntime: boolean;
}

export interface SliceEntry {
  readonly sender: number;
  readonly recipient: number;
  /** Position among the candidate's horizontal messages. */
  readonly index: number;
  readonly size: number;
  /** blake2_256 of the data. */
  readonly hash: Hex;
  readonly data: Uint8Array;
  readonly candidateHash: Hex;
  readonly commitmentsVerified: boolean;
}

export interface Availability {
  /** Validators counted for the threshold (the caller's figure, else those seen in bitfields). */
  readonly validators: number;
  /** `n - (n-1)/3`, integer division. */
  readonly threshold: number;
  /** Votes for each availability core, by core index. */
  readonly votesPerCore: readonly number[];
}

export interface BlockObservation {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly hasParaInherent: boolean;
  readonly bitfieldCount: number;
  readonly disputeCount: number;
  readonly candidates: readonly ObservedCandidate[];
  /** Null when the events were not supplied. */
  readonly events: CandidateEvents | null;
  readonly availability: Availability;
  /** Horizontal messages of this block's backed candidates by recipient, in candidate order. */
  readonly slices: ReadonlyMap<number, readonly SliceEntry[]>;
}

export interface ObserveOptions {
  /** Size of the active validator set, when known; bitfields alone give a lower bound. */
  readonly validatorCount?: number;
}

export function availabilityThreshold(validators: number): number {
  return validators - Math.floor((validators - 1) / 3);
}

function backedEventsByPara(events: CandidateEvents | null): Map<number, CandidateEvent[]> | null {
  if (events === null) return null;
  const byPara = new Map<number, CandidateEvent[]>();
  for (const event of events.backed) {
    const list = byPara.get(event.paraId);
    if (list) list.push(event);
    else byPara.set(event.paraId, [event]);
  }
  return byPara;
}

function bind(
  paraId: number,
  descriptorBytes: Uint8Array,
  hash: Uint8Array,
  backedByPara: ReadonlyMap<number, readonly CandidateEvent[]> | null,
): { event: CandidateEvent | null; error: string | null } {
  if (backedByPara === null) return { event: null, error: 'events not supplied: commitments not checked' };
  const event = backedByPara.get(paraId)?.find((e) => bytesEqual(e.descriptor, descriptorBytes)) ?? null;
  if (!event) return { event, error: 'no CandidateBacked event with this descriptor in the block' };
  if (!bytesEqual(event.commitmentsHash, hash)) {
    return {
      event,
      error: `commitments hash ${toHex(hash)} differs from CandidateBacked ${toHex(event.commitmentsHash)}`,
    };
  }
  return { event, error: null };
}

export function observeBlock(
  metadata: RuntimeMetadata,
  block: BlockInput,
  options: ObserveOptions = {},
): BlockObservation {
  const layout = relayLayout(metadata);
  const inherent = findParaInherent(layout.inherent, block.extrinsics);
  const events = block.events === null ? null : extractCandidateEvents(layout.events, block.events);
  const candidates: ObservedCandidate[] = [];
  const slices = new Map<number, SliceEntry[]>();
  const backedByPara = backedEventsByPara(events);
  for (const backed of inherent?.backedCandidates ?? []) {
    const paraId = descriptorParaId(backed.descriptor);
    const [commitments] = decodeCommitments(backed.commitments);
    const ownCommitmentsHash = commitmentsHash(backed.commitments);
    const { event: backedEvent, error: verificationError } = bind(
      paraId,
      backed.descriptor,
      ownCommitmentsHash,
      backedByPara,
    );
    // Bound to its CandidateBacked event, the candidate hashes to the event's: same descriptor and
    // commitments hash, both compared byte for byte.
    const hash = toHex(
      backedEvent && verificationError === null
        ? backedEvent.candidateHash
        : candidateHash(backed.descriptor, ownCommitmentsHash),
    );
    candidates.push({
      paraId,
      descriptorVersion: descriptorVersion(backed.descriptor),
      descriptorBytes: backed.descriptor,
      commitments,
      commitmentsBytes: backed.commitments,
      commitmentsHash: toHex(ownCommitmentsHash),
      candidateHash: hash,
      commitmentsVerified: verificationError === null,
      verificationError,
      backedEvent,
      droppedByRuntime: backedByPara !== null && backedEvent === null,
    });
    commitments.horizontalMessages.forEach((message, index) => {
      const entry: SliceEntry = {
        sender: paraId,
        recipient: message.recipient,
        index,
        size: message.data.length,
        hash: toHex(blake2_256(message.data)),
        data: message.data,
        candidateHash: hash,
        commitmentsVerified: verificationError === null,
      };
      const slice = slices.get(message.recipient);
      if (slice) slice.push(entry);
      else slices.set(message.recipient, [entry]);
    });
  }
  const bitfields = inherent?.bitfields ?? { count: 0, validatorsSeen: 0, votesPerCore: [] };
  const validators = options.validatorCount ?? bitfields.validatorsSeen;
  return {
    number: headerNumber(block.header),
    hash: block.hash ?? blockHash(block.header),
    parentHash: toHex(fromHex(block.header.parentHash, 'parentHash')),
    hasParaInherent: inherent !== null,
    bitfieldCount: bitfields.count,
    disputeCount: inherent?.disputeCount ?? 0,
    candidates,
    events,
    availability: {
      validators,
      threshold: availabilityThreshold(validators),
      votesPerCore: bitfields.votesPerCore,
    },
    slices,
  };
}
