/** What the store keeps, as plain values shared by ingest (writer) and the server (reader). */
import type { ChainChannel } from '../derive/storage.ts';
import type { Hex } from '../protocol/bytes.ts';

/** `freed`: dropped from pending availability without being enacted or timed out (a dispute concluded against it, or its core was given to another candidate). */
export type CandidateStatus = 'backed' | 'included' | 'timedOut' | 'freed';

export interface CandidateRecord {
  readonly candidateHash: Hex;
  readonly paraId: number;
  readonly descriptor: Uint8Array;
  /** SCALE commitments as the sidecar received them (from the inherent, or pending-availability storage). */
  readonly commitments: Uint8Array;
  readonly commitmentsHash: Hex;
  readonly relayParent: Hex;
  readonly backedIn: number;
  readonly coreIndex: number | null;
  readonly status: CandidateStatus;
  readonly enactedIn: number | null;
  /** Commitments binding (DESIGN.md §3.1) held. */
  readonly verified: boolean;
  readonly reason: string | null;
  readonly availabilityVotes: number;
  readonly availabilityThreshold: number;
  /** The commitments' `hrmp_watermark` (null for rows written before schema 2). */
  readonly hrmpWatermark: number | null;
  /** Block that included, timed out or freed it (stored candidates; null while pending or before schema 4). */
  readonly settledIn?: number | null;
}

export interface CandidateUpdate {
  readonly candidateHash: Hex;
  readonly status: CandidateStatus;
  readonly enactedIn: number | null;
  readonly availabilityVotes: number;
}

export interface MessageRecord {
  readonly sender: number;
  readonly recipient: number;
  readonly sentAt: number;
  /** Position among the messages of this channel with this `sentAt` (candidate order). */
  readonly index: number;
  readonly data: Uint8Array;
  readonly hash: Hex;
  readonly candidateHash: Hex;
  readonly blockHash: Hex;
  /** The channel's MQC head after this message. */
  readonly mqcHeadAfter: Hex;
  readonly verified: boolean;
  readonly reason: string | null;
  /** Set when the message came from a peer sidecar (federation): its URL. */
  readonly peer?: string | null;
  /** Position among the sending candidate's horizontal messages (unknown for peer history and stores before schema 4). */
  readonly position?: number;
}

/**
 * From which block the store holds every message of a channel, and the channel's MQC head just
 * before it (null: no message yet). `headKnown` is false for stores older than this record.
 */
export interface ChannelHistory {
  readonly sender: number;
  readonly recipient: number;
  readonly completeFrom: number;
  readonly headBefore: Hex | null;
  readonly headKnown: boolean;
  /** The peer the history before the store's own first block came from, if any. */
  readonly peer: string | null;
}

/** A channel as the chain holds it, plus what the sidecar knows of its verification. */
export interface ChannelRecord extends ChainChannel {
  readonly sender: number;
  readonly recipient: number;
  /** Last block at which the stored head was checked equal to the chain's. */
  readonly verifiedAt: number;
  readonly lastSentAt: number | null;
}

export interface VerificationFailure {
  readonly blockNumber: number;
  readonly kind: 'commitments' | 'mqc' | 'runtimeRules' | 'unknownCandidate';
  readonly reason: string;
  readonly paraId: number | null;
  readonly candidateHash: Hex | null;
}

/** Everything one finalized block changes, written in one transaction. */
export interface BlockWrite {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly newCandidates: readonly CandidateRecord[];
  readonly candidateUpdates: readonly CandidateUpdate[];
  readonly messages: readonly MessageRecord[];
  readonly channels: readonly ChannelRecord[];
  readonly watermarks: readonly (readonly [number, number])[];
  readonly failures: readonly VerificationFailure[];
  /** Candidates in the inherent that the runtime dropped (no CandidateBacked): reported, not kept. */
  readonly notBacked?: readonly { readonly paraId: number; readonly candidateHash: Hex }[];
  /**
   * From the block's active configuration: blocks after backing by which the runtime has enacted a
   * candidate or timed it out (null: the configuration does not say). Not kept in the store.
   */
  readonly availabilityTimeout?: number | null;
}

/** One XCM's journey as the store keeps it (DESIGN.md §14): what it is found by, and the journey as JSON. */
export interface JourneyRow {
  /** `<message id>/<xcm index>`. */
  readonly key: string;
  readonly id: Hex;
  readonly messageHash: Hex;
  readonly sender: number;
  readonly recipient: number;
  readonly sentAt: number;
  /** The journey in its wire form (rpc/schemas.ts Journey), as JSON. */
  readonly body: string;
}

export interface JourneyQuery {
  readonly fromBlock: number;
  readonly sender?: number;
  readonly recipient?: number;
  readonly id?: Hex;
  /** Resume after this key (of a journey sent at `fromBlock`), for paging. */
  readonly afterKey?: string;
  readonly limit: number;
}

export interface Cursor {
  readonly number: number;
  readonly hash: Hex;
}

export function messageId(message: Pick<MessageRecord, 'sentAt' | 'sender' | 'recipient' | 'index'>): string {
  return `${message.sentAt}-${message.sender}-${message.recipient}-${message.index}`;
}

export function parseMessageId(
  id: string,
): { sentAt: number; sender: number; recipient: number; index: number } | null {
  const parts = /^(\d+)-(\d+)-(\d+)-(\d+)$/.exec(id);
  if (!parts) return null;
  const [sentAt, sender, recipient, index] = parts.slice(1).map(Number) as [number, number, number, number];
  return { sentAt, sender, recipient, index };
}

/**
 * Blocks `from..to` the node had pruned when the store resumed: skipped, the store moved on to the
 * state at `to` (`channels`, `pending`), and channels filled from peers where they proved out.
 */
export interface GapBridge {
  readonly from: number;
  readonly to: Cursor;
  readonly channels: readonly ChannelRecord[];
  readonly pending: readonly CandidateRecord[];
  /** Every para's HRMP watermark at `to`. */
  readonly watermarks: readonly (readonly [number, number])[];
  /** Per filled channel ("sender:recipient"): the peer and its proven messages. */
  readonly filled: ReadonlyMap<
    string,
    { readonly peer: string; readonly messages: readonly MessageRecord[] }
  >;
}
