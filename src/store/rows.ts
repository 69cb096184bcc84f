/**
 * Database rows as both stores read them (same column names), their mapping to records, and the
 * rules both stores apply to what they read.
 */
import type { Hex } from '../protocol/bytes.ts';
import type {
  BlockWrite,
  CandidateRecord,
  CandidateStatus,
  ChannelHistory,
  ChannelRecord,
  Cursor,
  JourneyQuery,
  JourneyRow,
  MessageRecord,
  VerificationFailure,
} from './types.ts';

export const blob = (hex: Hex): Buffer => Buffer.from(hex.slice(2), 'hex');
export const hexOf = (value: Uint8Array): Hex =>
  `0x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;

export interface MessageRow {
  recipient: number;
  sent_at: number;
  sender: number;
  idx: number;
  data: Buffer;
  hash: Buffer;
  candidate_hash: Buffer;
  block_hash: Buffer;
  mqc_head_after: Buffer;
  verified: number;
  reason: string | null;
  peer: string | null;
  position: number | null;
}

export interface HistoryRow {
  sender: number;
  recipient: number;
  complete_from: number;
  head_before: Buffer | null;
  head_known: number;
  peer: string | null;
}

export interface CandidateRow {
  candidate_hash: Buffer;
  para_id: number;
  descriptor: Buffer;
  commitments: Buffer;
  commitments_hash: Buffer;
  relay_parent: Buffer;
  backed_in: number;
  core_index: number | null;
  status: CandidateStatus;
  enacted_in: number | null;
  verified: number;
  reason: string | null;
  availability_votes: number;
  availability_threshold: number;
  hrmp_watermark: number | null;
  settled_in: number | null;
}

export interface ChannelRow {
  sender: number;
  recipient: number;
  max_capacity: number;
  max_total_size: number;
  max_message_size: number;
  msg_count: number;
  total_size: number;
  mqc_head: Buffer | null;
  verified_at: number;
  last_sent_at: number | null;
}

/** A stored block's rows as a `BlockWrite` (see StoreReader.storedBlock). */
/** A block's candidate update as kept (schema 6 / PostgreSQL 2), in the order its write had them. */
export interface CandidateUpdateRow {
  candidate_hash: Buffer;
  status: string;
  availability_votes: number;
}

/**
 * A stored block as its write reads back. Its candidate updates come from the kept log (every
 * update, availability votes included, in write order); blocks written before it was kept give
 * the candidates they settled, as the store holds them now.
 */
export function storedBlockFrom(
  block: { number: number; hash: Buffer; parent_hash: Buffer },
  messages: readonly MessageRow[],
  candidates: readonly CandidateRow[],
  failures: readonly FailureRow[],
  updates: readonly CandidateUpdateRow[] = [],
): BlockWrite {
  const records = candidates.map(candidateFromRow);
  const logged = updates.map((u) => ({
    candidateHash: hexOf(u.candidate_hash),
    status: u.status as CandidateStatus,
    enactedIn: u.status === 'included' ? block.number : null,
    availabilityVotes: u.availability_votes,
  }));
  return {
    number: block.number,
    hash: hexOf(block.hash),
    parentHash: hexOf(block.parent_hash),
    // As they were when this block backed them.
    newCandidates: records
      .filter((c) => c.backedIn === block.number)
      .map((c) => ({ ...c, status: 'backed', enactedIn: null, availabilityVotes: 0, settledIn: null })),
    candidateUpdates:
      logged.length > 0
        ? logged
        : records
            .filter((c) => c.settledIn === block.number)
            .map((c) => ({
              candidateHash: c.candidateHash,
              status: c.status,
              enactedIn: c.enactedIn,
              availabilityVotes: c.availabilityVotes,
            })),
    messages: messages.map(messageFromRow),
    channels: [],
    watermarks: [],
    failures: failures.map((f) => ({
      blockNumber: f.block_number,
      kind: f.kind as VerificationFailure['kind'],
      reason: f.reason,
      paraId: f.para_id,
      candidateHash: f.candidate_hash ? hexOf(f.candidate_hash) : null,
    })),
  };
}

export interface FailureRow {
  block_number: number;
  kind: string;
  reason: string;
  para_id: number | null;
  candidate_hash: Buffer | null;
}

export function messageFromRow(row: MessageRow): MessageRecord {
  return {
    sender: row.sender,
    recipient: row.recipient,
    sentAt: row.sent_at,
    index: row.idx,
    data: new Uint8Array(row.data),
    hash: hexOf(row.hash),
    candidateHash: hexOf(row.candidate_hash),
    blockHash: hexOf(row.block_hash),
    mqcHeadAfter: hexOf(row.mqc_head_after),
    verified: row.verified === 1,
    reason: row.reason,
    ...(row.peer ? { peer: row.peer } : {}),
    ...(row.position !== null ? { position: row.position } : {}),
  };
}

export function historyFromRow(row: HistoryRow): ChannelHistory {
  return {
    sender: row.sender,
    recipient: row.recipient,
    completeFrom: row.complete_from,
    headBefore: row.head_before ? hexOf(row.head_before) : null,
    headKnown: row.head_known === 1,
    peer: row.peer,
  };
}

export function candidateFromRow(row: CandidateRow): CandidateRecord {
  return {
    candidateHash: hexOf(row.candidate_hash),
    paraId: row.para_id,
    descriptor: new Uint8Array(row.descriptor),
    commitments: new Uint8Array(row.commitments),
    commitmentsHash: hexOf(row.commitments_hash),
    relayParent: hexOf(row.relay_parent),
    backedIn: row.backed_in,
    coreIndex: row.core_index,
    status: row.status,
    enactedIn: row.enacted_in,
    verified: row.verified === 1,
    reason: row.reason,
    availabilityVotes: row.availability_votes,
    availabilityThreshold: row.availability_threshold,
    hrmpWatermark: row.hrmp_watermark,
    settledIn: row.settled_in,
  };
}

export function channelFromRow(row: ChannelRow): ChannelRecord {
  return {
    sender: row.sender,
    recipient: row.recipient,
    maxCapacity: row.max_capacity,
    maxTotalSize: row.max_total_size,
    maxMessageSize: row.max_message_size,
    msgCount: row.msg_count,
    totalSize: row.total_size,
    mqcHead: row.mqc_head ? hexOf(row.mqc_head) : null,
    verifiedAt: row.verified_at,
    lastSentAt: row.last_sent_at,
  };
}

/**
 * A channel with no history record opened after the store began: complete from the store's first
 * block, from an empty head. Null on an empty store.
 */
export function historyFromFirstBlock(
  sender: number,
  recipient: number,
  first: number | null,
): ChannelHistory | null {
  return first === null
    ? null
    : { sender, recipient, completeFrom: first, headBefore: null, headKnown: true, peer: null };
}

/**
 * The channel's head before a block the history covers: the head after the last message before
 * it, else the head the history starts from, when known.
 */
export function headBeforeFrom(
  history: ChannelHistory,
  last: { mqc_head_after: Buffer } | undefined,
): { head: Hex | null } | undefined {
  if (last) return { head: hexOf(last.mqc_head_after) };
  return history.headKnown ? { head: history.headBefore } : undefined;
}

/** Retention: the first block whose messages are kept, or null when nothing is old enough to go. */
export interface JourneyDbRow {
  key: string;
  id: Buffer;
  message_hash: Buffer;
  sender: number | string;
  recipient: number | string;
  sent_at: number | string;
  body: string;
}

export function journeyFromRow(row: JourneyDbRow): JourneyRow {
  return {
    key: row.key,
    id: hexOf(row.id),
    messageHash: hexOf(row.message_hash),
    sender: Number(row.sender),
    recipient: Number(row.recipient),
    sentAt: Number(row.sent_at),
    body: row.body,
  };
}

/** Journeys found by id or message hash, at most this many. */
export const JOURNEYS_PER_ID = 16;

/**
 * The page query both stores run for `journeysFrom` (named parameters: SQLite's `$name`; the
 * PostgreSQL store numbers them): sent at `from` or later, after `afterKey` at `from`, filtered.
 */
export const JOURNEYS_FROM_SQL = `SELECT * FROM journeys
  WHERE (sent_at > $from OR (sent_at = $from AND key > $afterKey))
    AND ($sender IS NULL OR sender = $sender) AND ($recipient IS NULL OR recipient = $recipient)
    AND ($id IS NULL OR id = $id OR message_hash = $id)
  ORDER BY sent_at, key LIMIT $limit`;

export function journeysFromParams(query: JourneyQuery): Record<string, unknown> {
  return {
    from: query.fromBlock,
    afterKey: query.afterKey ?? '',
    sender: query.sender ?? null,
    recipient: query.recipient ?? null,
    id: query.id ? blob(query.id) : null,
    limit: query.limit,
  };
}

export function pruneBefore(cursor: Cursor | null, keepBlocks: number): number | null {
  if (!cursor) return null;
  const before = cursor.number - keepBlocks;
  return before > 0 ? before : null;
}
