/**
 * Seeding (DESIGN.md §3.2): an empty store starts from the state before its first block, so that
 * block is verified like any other: every channel's MQC head then, and the candidates pending
 * availability then, each checked against the CandidateBacked event of the block that backed it.
 */
import { listKeys, readStorage } from '../chain/blocks.ts';
import { type NodeClient, SYSTEM_EVENTS_KEY } from '../chain/node.ts';
import { extractCandidateEvents } from '../derive/events.ts';
import { relayLayout } from '../derive/layout.ts';
import {
  channelIdFromKey,
  decodeChannel,
  decodePendingAvailability,
  HRMP_CHANNELS_PREFIX,
  HRMP_WATERMARKS_PREFIX,
  paraFromMapKey,
  paraMapKey,
  pendingLayout,
} from '../derive/storage.ts';
import { fromHex, type Hex, readU32, toHex } from '../protocol/bytes.ts';
import { decodeCommitments } from '../protocol/commitments.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import type { CandidateRecord, ChannelRecord } from '../store/types.ts';
import { backedCandidateRecord } from './enact.ts';

export interface Seed {
  readonly channels: ChannelRecord[];
  readonly pending: CandidateRecord[];
  /**
   * Every para's `Hrmp::HrmpWatermarks` value then; 0 for a recipient of a channel that has none
   * (it never enacted a candidate, so the runtime never pruned its queue: as a watermark of 0).
   */
  readonly watermarks: (readonly [number, number])[];
}

/** Channel heads and pending candidates as of the block before `first`. */
export async function seedBefore(node: NodeClient, first: number): Promise<Seed> {
  const parentHash = await node.resolve(first - 1);
  const metadata = await node.metadata(parentHash);
  const channelKeys = await listKeys(node, HRMP_CHANNELS_PREFIX, parentHash);
  const values = await readStorage(node, channelKeys, parentHash);
  const channels: ChannelRecord[] = [];
  for (const [key, value] of values) {
    if (!value) continue;
    const { sender, recipient } = channelIdFromKey(key);
    const chain = decodeChannel(metadata, value);
    channels.push({ sender, recipient, ...chain, verifiedAt: first - 1, lastSentAt: null });
  }
  const watermarks = await watermarksAt(node, parentHash);
  const known = new Set(watermarks.map(([para]) => para));
  for (const recipient of new Set(channels.map((c) => c.recipient)))
    if (!known.has(recipient)) watermarks.push([recipient, 0]);
  return { channels, pending: await pendingAt(node, parentHash, metadata), watermarks };
}

/** `Hrmp::HrmpWatermarks` of every para at `at`. */
async function watermarksAt(node: NodeClient, at: Hex): Promise<[number, number][]> {
  const keys = await listKeys(node, HRMP_WATERMARKS_PREFIX, at);
  const values = await readStorage(node, keys, at);
  const out: [number, number][] = [];
  for (const [key, value] of values)
    if (value && value.length === 4) out.push([paraFromMapKey(key), readU32(value, 0)]);
  return out;
}

/** Candidates pending availability at `at`, each checked against its CandidateBacked event. */
async function pendingAt(node: NodeClient, at: Hex, metadata: RuntimeMetadata): Promise<CandidateRecord[]> {
  const layout = pendingLayout(metadata);
  const keys = await listKeys(node, layout.prefix, at);
  const values = await readStorage(node, keys, at);
  const commitmentsKey = (key: Hex) =>
    paraMapKey((layout as { commitmentsPrefix: Hex }).commitmentsPrefix, paraFromMapKey(key));
  const commitments = layout.kind === 'split' ? await readStorage(node, keys.map(commitmentsKey), at) : null;
  const out: CandidateRecord[] = [];
  for (const [key, value] of values) {
    if (!value) continue;
    const split = commitments?.get(commitmentsKey(key)) ?? null;
    for (const pending of decodePendingAvailability(metadata, value, split)) {
      const reason = pending.hashMatches
        ? await backedEventMismatch(node, pending.backedIn, pending.candidateHash, pending.commitmentsHash)
        : 'pending-availability commitments do not hash to the stored candidate hash';
      out.push(
        backedCandidateRecord({
          ...{ candidateHash: pending.candidateHash, paraId: pending.paraId, descriptor: pending.descriptor },
          ...{ commitments: pending.commitments, commitmentsHash: pending.commitmentsHash },
          ...{ backedIn: pending.backedIn, coreIndex: pending.coreIndex, verified: reason === null, reason },
          availabilityThreshold: 0,
          hrmpWatermark: decodeCommitments(pending.commitments)[0].hrmpWatermark,
        }),
      );
    }
  }
  return out;
}

/** Null when block `backedIn` has a CandidateBacked event with this hash and commitments hash; else why not. */
async function backedEventMismatch(
  node: NodeClient,
  backedIn: number,
  candidateHash: Hex,
  commitmentsHash: Hex,
): Promise<string | null> {
  const hash = await node.resolve(backedIn);
  const [metadata, events] = await Promise.all([node.metadata(hash), node.storage(SYSTEM_EVENTS_KEY, hash)]);
  if (!events) return `no events at #${backedIn}`;
  const backed = extractCandidateEvents(relayLayout(metadata).events, fromHex(events)).backed;
  const event = backed.find((e) => toHex(e.candidateHash) === candidateHash);
  if (!event) return `no CandidateBacked event for ${candidateHash} at #${backedIn}`;
  return toHex(event.commitmentsHash) === commitmentsHash
    ? null
    : `commitments hash differs from CandidateBacked at #${backedIn}`;
}
