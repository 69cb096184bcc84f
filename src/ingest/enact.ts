/**
 * One finalized block → one store write (DESIGN.md §2, §3). Pure: the orchestrator fetches the
 * observation, the ledger entries and the relay storage this needs (`storageNeeds`), then
 * `enactBlock` computes the messages with their `sent_at`, the three checks, and the new state.
 */

import type { BlockObservation } from '../derive/observe.ts';
import type { ChainChannel, InboundMessage } from '../derive/storage.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { decodeCommitments } from '../protocol/commitments.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { extendMqcHead, ZERO_HEAD } from '../protocol/mqc.ts';
import type {
  BlockWrite,
  CandidateRecord,
  CandidateUpdate,
  ChannelRecord,
  MessageRecord,
  VerificationFailure,
} from '../store/types.ts';

export const channelKeyOf = (sender: number, recipient: number) => `${sender}:${recipient}`;

export interface EnactContext {
  /** A candidate backed earlier and not yet enacted (from the store or the seeding). */
  readonly candidate: (candidateHash: Hex) => CandidateRecord | null;
  /** The stored channel state before this block. */
  readonly channel: (sender: number, recipient: number) => ChannelRecord | null;
  /** Known channels of a sender (for deciding which channel states to fetch). */
  readonly egress: (sender: number) => readonly number[];
  /** Candidates pending availability before this block, for availability progress. */
  readonly pending: () => readonly CandidateRecord[];
}

export interface StorageNeeds {
  /** Channels whose `HrmpChannels` value at this block is needed. */
  readonly channels: readonly (readonly [number, number])[];
  /** Channels whose contents must be read from storage: their candidate's commitments are untrusted. */
  readonly contents: readonly (readonly [number, number])[];
}

interface Enactment {
  readonly candidate: CandidateRecord;
  readonly messages: readonly { readonly recipient: number; readonly data: Uint8Array }[];
  readonly watermark: number;
}

function enactments(
  observation: BlockObservation,
  context: EnactContext,
): { enacted: Enactment[]; unknown: Hex[] } {
  const enacted: Enactment[] = [];
  const unknown: Hex[] = [];
  for (const event of observation.events?.included ?? []) {
    const hash = toHex(event.candidateHash);
    const candidate = context.candidate(hash);
    if (!candidate) {
      unknown.push(hash);
      continue;
    }
    const [commitments] = decodeCommitments(candidate.commitments);
    enacted.push({
      candidate,
      messages: commitments.horizontalMessages.map((m) => ({ recipient: m.recipient, data: m.data })),
      watermark: commitments.hrmpWatermark,
    });
  }
  return { enacted, unknown };
}

/** Which relay storage at this block the enactment needs: one batched read. */
export function storageNeeds(observation: BlockObservation, context: EnactContext): StorageNeeds {
  const { enacted } = enactments(observation, context);
  const channels = new Map<string, [number, number]>();
  const contents = new Map<string, [number, number]>();
  for (const { candidate, messages } of enacted) {
    for (const recipient of context.egress(candidate.paraId))
      channels.set(channelKeyOf(candidate.paraId, recipient), [candidate.paraId, recipient]);
    for (const { recipient } of messages) {
      const key = channelKeyOf(candidate.paraId, recipient);
      channels.set(key, [candidate.paraId, recipient]);
      if (!candidate.verified) contents.set(key, [candidate.paraId, recipient]);
    }
  }
  return { channels: [...channels.values()], contents: [...contents.values()] };
}

export interface ChainState {
  /** `HrmpChannels` at this block for each needed channel; null when the channel does not exist. */
  readonly channels: ReadonlyMap<string, ChainChannel | null>;
  /** `HrmpChannelContents` at this block for channels whose candidate is untrusted. */
  readonly contents: ReadonlyMap<string, readonly InboundMessage[]>;
}

export function enactBlock(
  observation: BlockObservation,
  context: EnactContext,
  chain: ChainState,
): BlockWrite {
  const number = observation.number;
  const failures: VerificationFailure[] = [];
  const fail = (f: Omit<VerificationFailure, 'blockNumber'>) => failures.push({ blockNumber: number, ...f });

  // New candidates, keyed by the runtime's candidate hash (from CandidateBacked) when there is one.
  const threshold = observation.availability.threshold;
  const newCandidates: CandidateRecord[] = observation.candidates.map((c) => {
    if (!c.commitmentsVerified) {
      fail({
        kind: 'commitments',
        reason: c.verificationError ?? 'commitments not verified',
        paraId: c.paraId,
        candidateHash: c.candidateHash,
      });
    }
    return {
      candidateHash: c.backedEvent ? toHex(c.backedEvent.candidateHash) : c.candidateHash,
      paraId: c.paraId,
      descriptor: c.descriptorBytes,
      commitments: c.commitmentsBytes,
      commitmentsHash: c.commitmentsHash,
      relayParent: toHex(c.descriptorBytes.subarray(4, 36)),
      backedIn: number,
      coreIndex: c.backedEvent?.coreIndex ?? null,
      status: 'backed',
      enactedIn: null,
      verified: c.commitmentsVerified,
      reason: c.verificationError,
      availabilityVotes: 0,
      availabilityThreshold: threshold,
      hrmpWatermark: c.commitments.hrmpWatermark,
    };
  });

  const { enacted, unknown } = enactments(observation, context);
  for (const hash of unknown) {
    fail({
      kind: 'unknownCandidate',
      reason: `CandidateIncluded for ${hash}, which this sidecar never saw backed`,
      paraId: null,
      candidateHash: hash,
    });
  }

  const candidateUpdates: CandidateUpdate[] = [];
  const finished = new Set<Hex>();
  for (const { candidate } of enacted) {
    candidateUpdates.push({
      candidateHash: candidate.candidateHash,
      status: 'included',
      enactedIn: number,
      availabilityVotes: threshold,
    });
    finished.add(candidate.candidateHash);
  }
  for (const event of observation.events?.timedOut ?? []) {
    const hash = toHex(event.candidateHash);
    candidateUpdates.push({ candidateHash: hash, status: 'timedOut', enactedIn: null, availabilityVotes: 0 });
    finished.add(hash);
  }
  for (const pending of context.pending()) {
    if (finished.has(pending.candidateHash) || pending.coreIndex === null) continue;
    const votes = observation.availability.votesPerCore[pending.coreIndex] ?? 0;
    if (votes !== pending.availabilityVotes) {
      candidateUpdates.push({
        candidateHash: pending.candidateHash,
        status: 'backed',
        enactedIn: null,
        availabilityVotes: votes,
      });
    }
  }

  // Enactment: messages per channel in candidate (core) order, sent_at = this block.
  const perChannel = new Map<
    string,
    { sender: number; recipient: number; items: { candidate: CandidateRecord; data: Uint8Array }[] }
  >();
  const watermarks: [number, number][] = [];
  for (const { candidate, messages, watermark } of enacted) {
    watermarks.push([candidate.paraId, watermark]);
    for (const { recipient, data } of messages) {
      const key = channelKeyOf(candidate.paraId, recipient);
      const entry = perChannel.get(key) ?? { sender: candidate.paraId, recipient, items: [] };
      entry.items.push({ candidate, data });
      perChannel.set(key, entry);
    }
  }

  const messages: MessageRecord[] = [];
  const channels: ChannelRecord[] = [];
  for (const [key, { sender, recipient, items }] of perChannel) {
    const onChain = chain.channels.get(key);
    if (!onChain) {
      fail({
        kind: 'runtimeRules',
        reason: `channel ${sender}→${recipient} does not exist at #${number}: ${items.length} message(s) dropped by the runtime`,
        paraId: sender,
        candidateHash: items[0]!.candidate.candidateHash,
      });
      continue;
    }
    // Untrusted commitments: the message bytes come from relay storage instead.
    const recovered = chain.contents.get(key)?.filter((m) => m.sentAt === number);
    const untrusted = items.some((item) => !item.candidate.verified);
    const fromStorage = untrusted && recovered !== undefined && recovered.length === items.length;
    const datas = fromStorage ? recovered.map((m) => m.data) : items.map((i) => i.data);
    const before = context.channel(sender, recipient);
    let head = before?.mqcHead ? fromHex(before.mqcHead) : ZERO_HEAD;
    const heads: Hex[] = [];
    for (const data of datas) {
      head = extendMqcHead(head, number, data);
      heads.push(toHex(head));
    }
    const chainHead = onChain.mqcHead ?? toHex(ZERO_HEAD);
    const mqcOk = heads[heads.length - 1] === chainHead;
    if (!mqcOk) {
      fail({
        kind: 'mqc',
        reason: `MQC head of ${sender}→${recipient} at #${number} is ${chainHead}, extending the stored head with ${datas.length} message(s) gives ${heads.at(-1)}`,
        paraId: sender,
        candidateHash: items[0]!.candidate.candidateHash,
      });
    }
    datas.forEach((data, index) => {
      const { candidate } = items[index]!;
      const tooBig = data.length > onChain.maxMessageSize;
      if (tooBig) {
        fail({
          kind: 'runtimeRules',
          reason: `message ${index} on ${sender}→${recipient} at #${number} is ${data.length} bytes, over max_message_size ${onChain.maxMessageSize}`,
          paraId: sender,
          candidateHash: candidate.candidateHash,
        });
      }
      const reasons = [
        candidate.verified
          ? null
          : `commitments: ${candidate.reason ?? 'not verified'}${fromStorage ? '; data read from HrmpChannelContents' : ''}`,
        mqcOk ? null : 'MQC head mismatch',
        tooBig ? 'over max_message_size' : null,
      ].filter((r): r is string => r !== null);
      messages.push({
        sender,
        recipient,
        sentAt: number,
        index,
        data,
        hash: toHex(blake2_256(data)),
        candidateHash: candidate.candidateHash,
        blockHash: observation.hash,
        mqcHeadAfter: heads[index]!,
        verified: reasons.length === 0,
        reason: reasons.length === 0 ? null : reasons.join('; '),
      });
    });
    channels.push({
      sender,
      recipient,
      // After a mismatch the chain's head is adopted, so later blocks can verify again.
      ...onChain,
      verifiedAt: mqcOk ? number : (before?.verifiedAt ?? 0),
      lastSentAt: number,
    });
  }
  // Channels fetched without new messages: refresh counts and check the head did not move.
  for (const [key, onChain] of chain.channels) {
    if (perChannel.has(key) || !onChain) continue;
    const [sender, recipient] = key.split(':').map(Number) as [number, number];
    const before = context.channel(sender, recipient);
    const unchanged = (before?.mqcHead ?? null) === onChain.mqcHead;
    if (!unchanged) {
      fail({
        kind: 'mqc',
        reason: `MQC head of ${sender}→${recipient} moved at #${number} without a message this sidecar saw enacted`,
        paraId: sender,
        candidateHash: null,
      });
    }
    channels.push({
      sender,
      recipient,
      ...onChain,
      verifiedAt: unchanged ? number : (before?.verifiedAt ?? 0),
      lastSentAt: before?.lastSentAt ?? null,
    });
  }

  return {
    number,
    hash: observation.hash,
    parentHash: observation.parentHash,
    newCandidates,
    candidateUpdates,
    messages,
    channels,
    watermarks,
    failures,
  };
}
