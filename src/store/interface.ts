/**
 * What the rest of the sidecar needs from a store, apart from how it is kept. Ingest writes through
 * `StoreWriter`, the API, hub and proxy read through `StoreReader`; `MessageStore` (SQLite) is the
 * implementation, and a PostgreSQL one goes behind the same interface.
 */

import type { Hex } from '../protocol/bytes.ts';
import type { MeshStore } from './mesh.ts';
import type {
  BlockWrite,
  CandidateRecord,
  ChannelHistory,
  ChannelRecord,
  Cursor,
  GapBridge,
  JourneyQuery,
  JourneyRow,
  MessageRecord,
} from './types.ts';

export interface MessageQuery {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly includeUnverified?: boolean;
  readonly limit?: number;
}

export interface StoreCounts {
  readonly blocks: number;
  readonly messages: number;
  readonly unverifiedMessages: number;
  readonly candidates: number;
  readonly failuresByKind: Readonly<Record<string, number>>;
}

export interface FailureSummary {
  readonly blockNumber: number;
  readonly kind: string;
  readonly reason: string;
  readonly paraId: number | null;
}

export interface StoreReader {
  /** The last block written, or null on an empty store. */
  cursor(): Promise<Cursor | null>;
  blockHash(number: number): Promise<Hex | null>;
  blockNumber(hash: Hex): Promise<number | null>;
  /** The oldest block still held (after retention). */
  firstBlock(): Promise<number | null>;
  candidate(candidateHash: Hex): Promise<CandidateRecord | null>;
  candidateMessages(candidateHash: Hex): Promise<MessageRecord[]>;
  /** Up to `limit` candidates backed or settled at `fromBlock` or later (of one para, or all), by backing block. */
  candidatesActive(fromBlock: number, paraId: number | null, limit: number): Promise<CandidateRecord[]>;
  /** Candidates backed and not yet included or timed out. */
  pendingCandidates(): Promise<CandidateRecord[]>;
  inbox(recipient: number, query?: MessageQuery): Promise<MessageRecord[]>;
  outbox(sender: number, query?: MessageQuery): Promise<MessageRecord[]>;
  /** A mailbox one message at a time (read in pages), so a caller with a byte budget stops reading when it is spent. */
  mailboxRows(kind: 'inbox' | 'outbox', paraId: number, query?: MessageQuery): AsyncIterable<MessageRecord>;
  message(id: string): Promise<MessageRecord | null>;
  channel(sender: number, recipient: number): Promise<ChannelRecord | null>;
  channels(filter?: { sender?: number; recipient?: number }): Promise<ChannelRecord[]>;
  /** Messages of one channel with `after < sentAt <= upTo`, in queue order. */
  channelMessages(sender: number, recipient: number, after: number, upTo: number): Promise<MessageRecord[]>;
  /** From which block the store holds every message of a channel (null on an empty store). */
  channelHistory(sender: number, recipient: number): Promise<ChannelHistory | null>;
  /** The channel's head before `block` when the store knows it (`head: null`: no message yet). */
  headBefore(sender: number, recipient: number, block: number): Promise<{ head: Hex | null } | undefined>;
  /** Up to `limit` messages of one channel with `from <= sentAt <= to`, in queue order. */
  channelPage(
    sender: number,
    recipient: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<MessageRecord[]>;
  watermark(paraId: number): Promise<number | null>;
  watermarks(): Promise<Map<number, number>>;
  /** Ranges skipped because the node had pruned them (bridged from peers where they proved out). */
  gaps(): Promise<{ from: number; to: number }[]>;
  /** A para's HRMP watermark as of block `number`. */
  watermarkAt(paraId: number, number: number): Promise<number | null>;
  counts(): Promise<StoreCounts>;
  /**
   * A stored block as its write reads back (for API replicas that follow a writer): its messages,
   * the candidates it backed (as backed) and settled, and its failures; channel states and
   * watermarks are not kept per block and come back empty. Null when the block is not held.
   */
  storedBlock(number: number): Promise<BlockWrite | null>;
  recentFailures(limit?: number): Promise<FailureSummary[]>;
  /** Stored journeys whose XCM id or message hash is `id` (at most 16). */
  journeys(id: Hex): Promise<JourneyRow[]>;
  /** Stored journeys sent at `fromBlock` or later, in (sentAt, key) order, one page. */
  journeysFrom(query: JourneyQuery): Promise<JourneyRow[]>;
}

export interface StoreWriter {
  cursor(): Promise<Cursor | null>;
  /** Writes one finalized block and moves the cursor to it, atomically. */
  writeBlock(write: BlockWrite): Promise<void>;
  /** Writes consecutive finalized blocks and moves the cursor to the last, atomically. */
  writeBlocks(writes: readonly BlockWrite[]): Promise<void>;
  /** Seeds an empty store with the state before its first block. */
  /** `watermarks`: every para's HRMP watermark at block `at` (the block before the first). */
  seed(
    channels: readonly ChannelRecord[],
    candidates: readonly CandidateRecord[],
    watermarks?: { readonly at: number; readonly values: readonly (readonly [number, number])[] },
  ): Promise<void>;
  pendingCandidates(): Promise<CandidateRecord[]>;
  candidate(candidateHash: Hex): Promise<CandidateRecord | null>;
  channel(sender: number, recipient: number): Promise<ChannelRecord | null>;
  channels(filter?: { sender?: number; recipient?: number }): Promise<ChannelRecord[]>;
  /** Stores a channel's earlier history accepted from a peer; the channel is then complete from `from`. */
  writePeerHistory(
    sender: number,
    recipient: number,
    history: { from: number; headBefore: Hex | null; peer: string; messages: readonly MessageRecord[] },
  ): Promise<void>;
  /** Moves the cursor over a range the node no longer serves (see MessageStore.bridgeGap). */
  bridgeGap(bridge: GapBridge): Promise<void>;
  /** Stores journeys (replacing what was stored of each). */
  writeJourneys(rows: readonly JourneyRow[]): Promise<void>;
  /** Retention: drops what the watermark passed more than `keepBlocks` ago (and journeys sent before it); returns how many messages went. */
  prune(keepBlocks: number): Promise<number>;
}

export interface Store extends StoreReader, StoreWriter {
  readonly path: string;
  /** The mesh's erasure-coded history (SQLite stores; null for PostgreSQL). */
  readonly mesh: MeshStore | null;
  /** True when this open created the database. */
  readonly created: boolean;
  /** Why the store's file is no longer the one opened (deleted, replaced), or null. */
  fileProblem(): string | null;
  close(): Promise<void>;
}
