/**
 * One finalized block → one store write (DESIGN.md §2, §3). Pure: the orchestrator fetches the
 * observation, the ledger entries and the relay storage this needs (`storageNeeds`), then
 * `enactBlock` computes the messages with their `sent_at`, the three checks, and the new state.
 */

import type { BlockObservation } from '../derive/observe.ts';
import type { ChainChannel, InboundMessage } from '../derive/storage.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { decodeCommitments } from '../protocol/commitments.ts';
import { descriptorRelayParent } from '../protocol/descriptor.ts';
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

/** What a block enacts (found once) and the storage that needs: what `enactBlock` takes with the chain state. */
export interface EnactmentPlan extends StorageNeeds {
  readonly enacted: readonly Enactment[];
  /** CandidateIncluded events for candidates this sidecar never saw backed. */
  readonly unknown: readonly Hex[];
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

/** What the block enacts and which relay storage at this block that needs: one batched read. */
export function storageNeeds(observation: BlockObservation, context: EnactContext): EnactmentPlan {
  const { enacted, unknown } = enactments(observation, context);
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
  return { enacted, unknown, channels: [...channels.values()], contents: [...contents.values()] };
}

/** A candidate as the store keeps it from its backing on (also for candidates found pending at seeding). */
export function backedCandidateRecord(
  fields: Omit<CandidateRecord, 'relayParent' | 'status' | 'enactedIn' | 'availabilityVotes'>,
): CandidateRecord {
  return {
    ...fields,
    relayParent: descriptorRelayParent(fields.descriptor),
    status: 'backed',
    enactedIn: null,
    availabilityVotes: 0,
  };
}

export interface ChainState {
  /** `HrmpChannels` at this block for each needed channel; null when the channel does not exist. */
  readonly channels: ReadonlyMap<string, ChainChannel | null>;
  /** `HrmpChannelContents` at this block for channels whose candidate is untrusted. */
  readonly contents: ReadonlyMap<string, readonly InboundMessage[]>;
  /** Blocks after backing by which a candidate is enacted or timed out, from the active configuration. */
  readonly availabilityTimeout?: number | null;
}

type Fail = (failure: Omit<VerificationFailure, 'blockNumber'>) => void;

/** The candidates backed in this block, keyed by the runtime's candidate hash when CandidateBacked gives it. */
function backedIn(observation: BlockObservation, fail: Fail): CandidateRecord[] {
  return observation.candidates
    .filter((c) => !c.droppedByRuntime)
    .map((c) => {
      if (!c.commitmentsVerified) {
        const reason = c.verificationError ?? 'commitments not verified';
        fail({ kind: 'commitments', reason, paraId: c.paraId, candidateHash: c.candidateHash });
      }
      return backedCandidateRecord({
        candidateHash: c.backedEvent ? toHex(c.backedEvent.candidateHash) : c.candidateHash,
        paraId: c.paraId,
        descriptor: c.descriptorBytes,
        commitments: c.commitmentsBytes,
        commitmentsHash: c.commitmentsHash,
        backedIn: observation.number,
        coreIndex: c.backedEvent?.coreIndex ?? null,
        verified: c.commitmentsVerified,
        reason: c.verificationError,
        availabilityThreshold: observation.availability.threshold,
        hrmpWatermark: c.commitments.hrmpWatermark,
      });
    });
}

/**
 * Candidates freed at this block without being enacted or timed out: a dispute concluded against
 * them (`DisputeConcluded`, Invalid), or (no event at all) a new candidate was backed on their core.
 */
function freedCandidates(
  observation: BlockObservation,
  context: EnactContext,
  newCandidates: readonly CandidateRecord[],
  finished: ReadonlySet<Hex>,
): Hex[] {
  const disputed = new Set((observation.events?.disputedInvalid ?? []).map((hash) => toHex(hash)));
  const takenCores = new Set(newCandidates.map((c) => c.coreIndex).filter((core) => core !== null));
  const taken = (c: CandidateRecord) =>
    c.coreIndex !== null &&
    takenCores.has(c.coreIndex) &&
    !newCandidates.some((n) => n.candidateHash === c.candidateHash);
  return context
    .pending()
    .filter((c) => !finished.has(c.candidateHash) && (disputed.has(c.candidateHash) || taken(c)))
    .map((c) => c.candidateHash);
}

/** Candidate lifecycle: included, timed out, freed, or availability votes that moved. */
function candidateUpdates(
  observation: BlockObservation,
  context: EnactContext,
  enacted: readonly Enactment[],
  newCandidates: readonly CandidateRecord[],
): CandidateUpdate[] {
  const { number, availability } = observation;
  const updates: CandidateUpdate[] = [];
  const finished = new Set<Hex>();
  for (const { candidate } of enacted) {
    const { candidateHash, coreIndex } = candidate;
    // The votes counted in the bitfields that made it available (the threshold or more), not a cap.
    const counted = coreIndex === null ? undefined : availability.votesPerCore[coreIndex];
    updates.push({
      candidateHash,
      status: 'included',
      enactedIn: number,
      availabilityVotes: counted ?? Math.max(candidate.availabilityVotes, availability.threshold),
    });
    finished.add(candidateHash);
  }
  for (const event of observation.events?.timedOut ?? []) {
    const candidateHash = toHex(event.candidateHash);
    updates.push({ candidateHash, status: 'timedOut', enactedIn: null, availabilityVotes: 0 });
    finished.add(candidateHash);
  }
  for (const candidateHash of freedCandidates(observation, context, newCandidates, finished)) {
    updates.push({ candidateHash, status: 'freed', enactedIn: null, availabilityVotes: 0 });
    finished.add(candidateHash);
  }
  for (const pending of context.pending()) {
    if (finished.has(pending.candidateHash) || pending.coreIndex === null) continue;
    const votes = availability.votesPerCore[pending.coreIndex] ?? 0;
    if (votes !== pending.availabilityVotes) {
      const { candidateHash } = pending;
      updates.push({ candidateHash, status: 'backed', enactedIn: null, availabilityVotes: votes });
    }
  }
  return updates;
}

interface ChannelBatch {
  readonly sender: number;
  readonly recipient: number;
  readonly items: { candidate: CandidateRecord; data: Uint8Array; position: number }[];
}

/** Messages per channel in candidate (core) order; and the watermark each enacted para advanced to. */
function byChannel(enacted: readonly Enactment[]): {
  batches: Map<string, ChannelBatch>;
  watermarks: [number, number][];
} {
  const batches = new Map<string, ChannelBatch>();
  const watermarks: [number, number][] = [];
  for (const { candidate, messages, watermark } of enacted) {
    watermarks.push([candidate.paraId, watermark]);
    for (const [position, { recipient, data }] of messages.entries()) {
      const key = channelKeyOf(candidate.paraId, recipient);
      const batch = batches.get(key) ?? { sender: candidate.paraId, recipient, items: [] };
      batch.items.push({ candidate, data, position });
      batches.set(key, batch);
    }
  }
  return { batches, watermarks };
}

/** Why a message is not verified, or an empty list. */
function doubts(candidate: CandidateRecord, fromStorage: boolean, mqcOk: boolean, tooBig: boolean): string[] {
  const commitments = candidate.verified
    ? null
    : `commitments: ${candidate.reason ?? 'not verified'}${fromStorage ? '; data read from HrmpChannelContents' : ''}`;
  return [commitments, mqcOk ? null : 'MQC head mismatch', tooBig ? 'over max_message_size' : null].filter(
    (r): r is string => r !== null,
  );
}

/** One channel's messages enacted at this block: checked against the chain's MQC head and limits. */
function enactChannel(
  observation: BlockObservation,
  context: EnactContext,
  batch: ChannelBatch,
  onChain: ChainChannel,
  recovered: readonly InboundMessage[] | undefined,
  fail: Fail,
): { messages: MessageRecord[]; channel: ChannelRecord } {
  const { number } = observation;
  const { sender, recipient, items } = batch;
  // Untrusted commitments: the message bytes come from relay storage instead.
  const fromBlock = recovered?.filter((m) => m.sentAt === number);
  const untrusted = items.some((item) => !item.candidate.verified);
  const fromStorage = untrusted && fromBlock !== undefined && fromBlock.length === items.length;
  const datas = fromStorage ? fromBlock.map((m) => m.data) : items.map((i) => i.data);
  const before = context.channel(sender, recipient);
  let head = before?.mqcHead ? fromHex(before.mqcHead) : ZERO_HEAD;
  const heads = datas.map((data) => {
    head = extendMqcHead(head, number, data);
    return toHex(head);
  });
  const chainHead = onChain.mqcHead ?? toHex(ZERO_HEAD);
  const mqcOk = heads[heads.length - 1] === chainHead;
  const candidateHash = items[0]!.candidate.candidateHash;
  if (!mqcOk) {
    const reason = `MQC head of ${sender}→${recipient} at #${number} is ${chainHead}, extending the stored head with ${datas.length} message(s) gives ${heads.at(-1)}`;
    fail({ kind: 'mqc', reason, paraId: sender, candidateHash });
  }
  const messages = datas.map((data, index): MessageRecord => {
    const { candidate, position } = items[index]!;
    const tooBig = data.length > onChain.maxMessageSize;
    if (tooBig) {
      const reason = `message ${index} on ${sender}→${recipient} at #${number} is ${data.length} bytes, over max_message_size ${onChain.maxMessageSize}`;
      fail({ kind: 'runtimeRules', reason, paraId: sender, candidateHash: candidate.candidateHash });
    }
    const reasons = doubts(candidate, fromStorage, mqcOk, tooBig);
    return {
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
      position,
    };
  });
  // After a mismatch the chain's head is adopted, so later blocks can verify again.
  const verifiedAt = mqcOk ? number : (before?.verifiedAt ?? 0);
  return { messages, channel: { sender, recipient, ...onChain, verifiedAt, lastSentAt: number } };
}

/** A channel fetched without new messages: refresh its counts and check that its head did not move. */
function quietChannel(
  number: number,
  context: EnactContext,
  key: string,
  onChain: ChainChannel,
  fail: Fail,
): ChannelRecord {
  const [sender, recipient] = key.split(':').map(Number) as [number, number];
  const before = context.channel(sender, recipient);
  const unchanged = (before?.mqcHead ?? null) === onChain.mqcHead;
  if (!unchanged) {
    const reason = `MQC head of ${sender}→${recipient} moved at #${number} without a message this sidecar saw enacted`;
    fail({ kind: 'mqc', reason, paraId: sender, candidateHash: null });
  }
  const verifiedAt = unchanged ? number : (before?.verifiedAt ?? 0);
  return { sender, recipient, ...onChain, verifiedAt, lastSentAt: before?.lastSentAt ?? null };
}

/** One finalized (or best-chain) block as the store writes it: candidates, messages, channel heads, failures. */
export function enactBlock(
  observation: BlockObservation,
  context: EnactContext,
  chain: ChainState,
  plan: EnactmentPlan = storageNeeds(observation, context),
): BlockWrite {
  const { number } = observation;
  const failures: VerificationFailure[] = [];
  const fail: Fail = (failure) => failures.push({ blockNumber: number, ...failure });
  const newCandidates = backedIn(observation, fail);
  for (const hash of plan.unknown) {
    const reason = `CandidateIncluded for ${hash}, which this sidecar never saw backed`;
    fail({ kind: 'unknownCandidate', reason, paraId: null, candidateHash: hash });
  }
  const { batches, watermarks } = byChannel(plan.enacted);
  const messages: MessageRecord[] = [];
  const channels: ChannelRecord[] = [];
  for (const [key, batch] of batches) {
    const onChain = chain.channels.get(key);
    if (!onChain) {
      const reason = `channel ${batch.sender}→${batch.recipient} does not exist at #${number}: ${batch.items.length} message(s) dropped by the runtime`;
      fail({
        kind: 'runtimeRules',
        reason,
        paraId: batch.sender,
        candidateHash: batch.items[0]!.candidate.candidateHash,
      });
      continue;
    }
    const enacted = enactChannel(observation, context, batch, onChain, chain.contents.get(key), fail);
    messages.push(...enacted.messages);
    channels.push(enacted.channel);
  }
  for (const [key, onChain] of chain.channels)
    if (!batches.has(key) && onChain) channels.push(quietChannel(number, context, key, onChain, fail));
  return {
    number,
    hash: observation.hash,
    parentHash: observation.parentHash,
    newCandidates,
    candidateUpdates: candidateUpdates(observation, context, plan.enacted, newCandidates),
    messages,
    channels,
    watermarks,
    failures,
    notBacked: observation.candidates
      .filter((c) => c.droppedByRuntime)
      .map((c) => ({ paraId: c.paraId, candidateHash: c.candidateHash })),
    availabilityTimeout: chain.availabilityTimeout ?? null,
  };
}
