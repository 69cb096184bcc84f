/**
 * The devnet's relay runtime model: paras back candidates, availability bitfields enact them, and
 * HRMP bookkeeping follows the runtime (DESIGN.md §2): at enactment prune the para's inbound
 * channels to its watermark, then queue its outbound messages with `sent_at` = the enacting block,
 * extending each channel's MQC head. Its own code: it shares nothing with the sidecar's verifier.
 */
// Note: @polkadot/types reads a Uint8Array given for `Bytes` as already length-prefixed, so byte
// vectors are passed as hex.
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { DevnetConfig } from './config.ts';
import { type DevnetEncoder, EncodedBitVec } from './encoder.ts';
import { Rng } from './rng.ts';

export interface HrmpMessage {
  readonly sentAt: number;
  readonly data: Uint8Array;
}

export interface Channel {
  readonly sender: number;
  readonly recipient: number;
  readonly maxCapacity: number;
  readonly maxTotalSize: number;
  readonly maxMessageSize: number;
  readonly msgCount: number;
  readonly totalSize: number;
  readonly mqcHead: Uint8Array | null;
  readonly contents: readonly HrmpMessage[];
}

export interface Commitments {
  readonly upwardMessages: readonly Uint8Array[];
  readonly horizontalMessages: readonly { readonly recipient: number; readonly data: Uint8Array }[];
  readonly newValidationCode: null;
  readonly headData: Uint8Array;
  readonly processedDownwardMessages: number;
  readonly hrmpWatermark: number;
}

export interface Candidate {
  readonly paraId: number;
  readonly coreIndex: number;
  readonly groupIndex: number;
  /** The descriptor as a @polkadot/types value for this runtime's layout. */
  readonly descriptor: Record<string, unknown>;
  readonly descriptorBytes: Uint8Array;
  readonly commitments: Commitments;
  readonly commitmentsHash: Uint8Array;
  readonly candidateHash: Uint8Array;
  readonly relayParentNumber: number;
  readonly backedIn: number;
  /** Block in which availability is reached; null if it never is (it will time out). */
  readonly availableAt: number | null;
  readonly timesOutAt: number;
  /** Commitments as carried in the inherent when a fault alters them (the event keeps the true hash). */
  readonly inherentCommitments: Commitments | null;
}

export type CandidateEventKind = 'CandidateBacked' | 'CandidateIncluded' | 'CandidateTimedOut';

export interface CandidateEventRecord {
  readonly kind: CandidateEventKind;
  readonly candidate: Candidate;
}

export interface RuntimeState {
  readonly number: number;
  readonly channels: ReadonlyMap<string, Channel>;
  readonly watermarks: ReadonlyMap<number, number>;
  /** Candidates pending availability, by para. */
  readonly pending: ReadonlyMap<number, Candidate>;
  readonly paraHeads: ReadonlyMap<number, Uint8Array>;
  /** `HrmpChannelDigests`: per recipient, (block, senders) for blocks with messages. */
  readonly digests: ReadonlyMap<number, readonly (readonly [number, readonly number[]])[]>;
}

export interface BlockFaults {
  /** Paras whose candidate backed in this block will never become available. */
  readonly timeOut?: ReadonlySet<number>;
  /** Paras whose candidate backed in this block carries altered commitments in the inherent. */
  readonly tamperCommitments?: ReadonlySet<number>;
  /**
   * Paras whose candidate is in this block's inherent but dropped by the runtime's own checks: no
   * CandidateBacked event, never pending availability, its messages never enacted.
   */
  readonly dropBacked?: ReadonlySet<number>;
  /**
   * Paras whose candidate pending availability is freed at this block because a dispute concluded
   * against it: `ParasDisputes.DisputeConcluded(hash, Invalid)`, no ParaInclusion event, never
   * enacted, and its core taken by the next one.
   */
  readonly dispute?: ReadonlySet<number>;
  /**
   * Paras whose candidate pending availability is freed at this block without any event at all (as
   * a runtime that clears its cores does): only the next candidate on the core tells.
   */
  readonly free?: ReadonlySet<number>;
  /**
   * Para nodes: paras whose collation for this block is lost (never backed); the para node then
   * builds another block at the same height for the next one (a para fork).
   */
  readonly withhold?: ReadonlySet<number>;
  /** Para nodes: paras whose node misreports the outbound messages of the block it builds after this one. */
  readonly lie?: ReadonlySet<number>;
  /** Para nodes: paras whose node builds two blocks at the next height after this one; the first is backed. */
  readonly paraFork?: ReadonlySet<number>;
}

/** A seed from the first four bytes of a hash. */
const seedOf = (hash: Uint8Array) => (hash[0]! | (hash[1]! << 8) | (hash[2]! << 16) | (hash[3]! << 24)) >>> 0;

/** A para block offered for backing: its SCALE header (the head data) and what it sends. */
export interface Collation {
  readonly headData: Uint8Array;
  readonly messages: readonly { readonly recipient: number; readonly data: Uint8Array }[];
}

export interface SignedBitfieldValue {
  readonly validatorIndex: number;
  readonly payload: EncodedBitVec;
  readonly signature: Uint8Array;
}

export interface ProducedBlock {
  readonly state: RuntimeState;
  readonly bitfields: readonly SignedBitfieldValue[];
  readonly backed: readonly Candidate[];
  readonly events: readonly CandidateEventRecord[];
  /** Candidates a dispute concluded against in this block (freed from pending availability). */
  readonly disputed: readonly Candidate[];
  /** Channels and paras whose storage changed. */
  readonly touchedChannels: ReadonlySet<string>;
  readonly touchedParas: ReadonlySet<number>;
}

export function channelKey(sender: number, recipient: number): string {
  return `${sender}:${recipient}`;
}

function compactLength(length: number): Uint8Array {
  if (length < 64) return Uint8Array.of(length << 2);
  if (length < 16384) return Uint8Array.of(((length << 2) | 1) & 0xff, length >>> 6);
  const v = ((length << 2) | 2) >>> 0;
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}

/** The runtime's MQC step: blake2_256(head ‖ u32_le(sent_at) ‖ blake2_256(SCALE(data))). */
export function runtimeMqcStep(head: Uint8Array, sentAt: number, data: Uint8Array): Uint8Array {
  const sentAtLe = new Uint8Array(4);
  new DataView(sentAtLe.buffer).setUint32(0, sentAt, true);
  return blake2AsU8a(
    u8aConcat(head, sentAtLe, blake2AsU8a(u8aConcat(compactLength(data.length), data), 256)),
    256,
  );
}

export function bitvec(bits: readonly boolean[]): EncodedBitVec {
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    if (bit) bytes[i >>> 3]! |= 1 << (i & 7);
  });
  return new EncodedBitVec(u8aConcat(compactLength(bits.length), bytes));
}

export class RelayRuntimeModel {
  readonly config: DevnetConfig;
  readonly encoder: DevnetEncoder;
  readonly #xcmTemplates: Uint8Array[];
  readonly #coreOf: Map<number, number>;
  readonly #groups: number;

  constructor(config: DevnetConfig, encoder: DevnetEncoder) {
    this.config = config;
    this.encoder = encoder;
    this.#coreOf = new Map(config.paras.map((para, core) => [para, core]));
    this.#groups = Math.max(1, Math.min(config.paras.length, Math.floor(config.validators / 3) || 1));
    this.#xcmTemplates = this.#buildXcmTemplates();
  }

  genesis(): RuntimeState {
    const channels = new Map<string, Channel>();
    for (const [sender, recipient] of this.config.channels) {
      channels.set(channelKey(sender, recipient), {
        sender,
        recipient,
        ...this.config.channelLimits,
        msgCount: 0,
        totalSize: 0,
        mqcHead: null,
        contents: [],
      });
    }
    return {
      number: 0,
      channels,
      watermarks: new Map(this.config.paras.map((para) => [para, 0])),
      pending: new Map(),
      paraHeads: new Map(this.config.paras.map((para) => [para, this.#headData(para, 0)])),
      digests: new Map(),
    };
  }

  ingress(state: RuntimeState, recipient: number): number[] {
    return [...state.channels.values()]
      .filter((c) => c.recipient === recipient)
      .map((c) => c.sender)
      .sort((a, b) => a - b);
  }

  egress(state: RuntimeState, sender: number): number[] {
    return [...state.channels.values()]
      .filter((c) => c.sender === sender)
      .map((c) => c.recipient)
      .sort((a, b) => a - b);
  }

  /**
   * Produces block `number` on top of `parent`. `seed` varies message contents between forks.
   */
  produce(
    parent: RuntimeState,
    number: number,
    seed: number,
    faults: BlockFaults = {},
    collations?: ReadonlyMap<number, Collation>,
  ): ProducedBlock {
    const rng = new Rng((this.config.seed * 1_000_003 + number * 7919 + seed * 104_729) >>> 0);
    const channels = new Map(parent.channels);
    const watermarks = new Map(parent.watermarks);
    const pending = new Map(parent.pending);
    const paraHeads = new Map(parent.paraHeads);
    const digests = new Map(parent.digests);
    const touchedChannels = new Set<string>();
    const touchedParas = new Set<number>();
    const events: CandidateEventRecord[] = [];

    const disputed: Candidate[] = [];
    for (const para of faults.dispute ?? []) {
      const candidate = pending.get(para);
      if (candidate && pending.delete(para)) disputed.push(candidate);
    }
    for (const candidate of disputed) touchedParas.add(candidate.paraId);
    for (const para of faults.free ?? []) if (pending.delete(para)) touchedParas.add(para);
    // Availability: validators vote for cores whose candidate becomes available now.
    const cores = this.config.paras.length;
    const threshold = this.config.validators - Math.floor((this.config.validators - 1) / 3);
    const occupied = [...pending.values()].sort((a, b) => a.coreIndex - b.coreIndex);
    const votes: boolean[][] = Array.from({ length: this.config.validators }, () =>
      new Array<boolean>(cores).fill(false),
    );
    for (const candidate of occupied) {
      // Due now: every validator votes. Otherwise a minority has the chunk (progress below threshold).
      const voters = candidate.availableAt === number ? this.config.validators : rng.int(0, threshold - 1);
      for (let v = 0; v < voters; v++) votes[v]![candidate.coreIndex] = true;
    }
    const bitfields: SignedBitfieldValue[] = votes.map((bits, validatorIndex) => ({
      validatorIndex,
      payload: bitvec(bits),
      signature: rng.bytes(64),
    }));

    // Enactment (and time-outs), in core order.
    for (const candidate of occupied) {
      if (candidate.availableAt === number) {
        this.#enact(candidate, number, { channels, watermarks, digests, touchedChannels });
        pending.delete(candidate.paraId);
        paraHeads.set(candidate.paraId, candidate.commitments.headData);
        touchedParas.add(candidate.paraId);
        events.push({ kind: 'CandidateIncluded', candidate });
      } else if (candidate.availableAt === null && candidate.timesOutAt <= number) {
        pending.delete(candidate.paraId);
        touchedParas.add(candidate.paraId);
        events.push({ kind: 'CandidateTimedOut', candidate });
      }
    }

    // Backing: every para whose core is free backs a new candidate built on the parent block.
    const backed: Candidate[] = [];
    for (const paraId of this.config.paras) {
      if (pending.has(paraId) || faults.withhold?.has(paraId)) continue;
      const collation = collations?.get(paraId);
      const candidate = this.#backCandidate(paraId, number, parent, channels, rng, faults, collation);
      backed.push(candidate);
      if (faults.dropBacked?.has(paraId)) continue;
      pending.set(paraId, candidate);
      touchedParas.add(paraId);
      events.push({ kind: 'CandidateBacked', candidate });
    }

    return {
      state: { number, channels, watermarks, pending, paraHeads, digests },
      bitfields,
      backed,
      events,
      disputed,
      touchedChannels,
      touchedParas,
    };
  }

  #enact(
    candidate: Candidate,
    number: number,
    out: {
      channels: Map<string, Channel>;
      watermarks: Map<number, number>;
      digests: Map<number, readonly (readonly [number, readonly number[]])[]>;
      touchedChannels: Set<string>;
    },
  ): void {
    const para = candidate.paraId;
    const watermark = candidate.commitments.hrmpWatermark;
    // 1. Prune the para's inbound channels up to its new watermark.
    for (const [key, channel] of out.channels) {
      if (channel.recipient !== para) continue;
      const kept = channel.contents.filter((m) => m.sentAt > watermark);
      if (kept.length === channel.contents.length) continue;
      out.channels.set(key, {
        ...channel,
        contents: kept,
        msgCount: kept.length,
        totalSize: kept.reduce((sum, m) => sum + m.data.length, 0),
      });
      out.touchedChannels.add(key);
    }
    out.watermarks.set(para, watermark);
    const digest = out.digests.get(para);
    if (digest)
      out.digests.set(
        para,
        digest.filter(([block]) => block > watermark),
      );
    // 2. Queue outbound messages with sent_at = this block, extending each channel's MQC head.
    for (const message of candidate.commitments.horizontalMessages) {
      const key = channelKey(para, message.recipient);
      const channel = out.channels.get(key);
      if (!channel) continue; // channel closed: the runtime drops the message
      out.channels.set(key, {
        ...channel,
        contents: [...channel.contents, { sentAt: number, data: message.data }],
        msgCount: channel.msgCount + 1,
        totalSize: channel.totalSize + message.data.length,
        mqcHead: runtimeMqcStep(channel.mqcHead ?? new Uint8Array(32), number, message.data),
      });
      out.touchedChannels.add(key);
      const recipientDigest = out.digests.get(message.recipient) ?? [];
      const last = recipientDigest[recipientDigest.length - 1];
      out.digests.set(
        message.recipient,
        last && last[0] === number
          ? [...recipientDigest.slice(0, -1), [number, [...last[1], para].sort((a, b) => a - b)]]
          : [...recipientDigest, [number, [para]]],
      );
    }
  }

  #backCandidate(
    paraId: number,
    number: number,
    parent: RuntimeState,
    channels: ReadonlyMap<string, Channel>,
    rng: Rng,
    faults: BlockFaults,
    collation?: Collation,
  ): Candidate {
    const horizontalMessages = collation
      ? [...collation.messages]
      : this.outboundMessages(paraId, parent, channels, rng);
    const headData = collation?.headData ?? this.#headData(paraId, number);
    const commitments: Commitments = {
      upwardMessages: [],
      horizontalMessages,
      newValidationCode: null,
      headData,
      processedDownwardMessages: 0,
      // The relay parent's number is always an acceptable watermark.
      hrmpWatermark: number - 1,
    };
    const coreIndex = this.#coreOf.get(paraId)!;
    // A para node's block backed again (a relay fork) is the same candidate: its descriptor's
    // free fields come from the block, not from this relay block.
    const descriptorRng = collation ? new Rng(seedOf(blake2AsU8a(headData, 256))) : rng;
    const descriptor = this.#descriptor(paraId, coreIndex, number - 1, headData, descriptorRng);
    const { commitments: commitmentsType, descriptor: descriptorType } = this.encoder.receiptTypes();
    const descriptorBytes = this.encoder.encodeType(descriptorType, descriptor);
    const commitmentsHash = blake2AsU8a(
      this.encoder.encodeType(commitmentsType, this.commitmentsValue(commitments)),
      256,
    );
    const timesOut = faults.timeOut?.has(paraId) ?? false;
    return {
      paraId,
      coreIndex,
      groupIndex: coreIndex % this.#groups,
      descriptor,
      descriptorBytes,
      commitments,
      commitmentsHash,
      candidateHash: blake2AsU8a(u8aConcat(descriptorBytes, commitmentsHash), 256),
      relayParentNumber: number - 1,
      backedIn: number,
      availableAt: timesOut ? null : number + this.config.enactmentDelay,
      timesOutAt: number + this.config.enactmentDelay,
      inherentCommitments: faults.tamperCommitments?.has(paraId) ? tamper(commitments) : null,
    };
  }

  /**
   * What a para sends in a block built on `parent`: a message on each egress channel with
   * probability `messageRate`, within the channel's limits (leaving room for what is in flight).
   */
  outboundMessages(
    paraId: number,
    parent: RuntimeState,
    channels: ReadonlyMap<string, Channel>,
    rng: Rng,
  ): { recipient: number; data: Uint8Array }[] {
    const messages: { recipient: number; data: Uint8Array }[] = [];
    for (const recipient of this.egress(parent, paraId)) {
      const channel = channels.get(channelKey(paraId, recipient))!;
      if (rng.next() >= this.config.messageRate) continue;
      const data = this.#message(rng);
      if (data.length > channel.maxMessageSize) continue;
      if (channel.msgCount + 2 > channel.maxCapacity) continue;
      if (channel.totalSize + 2 * data.length > channel.maxTotalSize) continue;
      messages.push({ recipient, data });
    }
    return messages;
  }

  /** Commitments as a @polkadot/types value. */
  commitmentsValue(commitments: Commitments): Record<string, unknown> {
    return {
      upwardMessages: commitments.upwardMessages.map((m) => u8aToHex(m)),
      horizontalMessages: commitments.horizontalMessages.map((m) => ({
        recipient: m.recipient,
        data: u8aToHex(m.data),
      })),
      newValidationCode: null,
      headData: u8aToHex(commitments.headData),
      processedDownwardMessages: commitments.processedDownwardMessages,
      hrmpWatermark: commitments.hrmpWatermark,
    };
  }

  #descriptor(
    paraId: number,
    coreIndex: number,
    relayParentNumber: number,
    headData: Uint8Array,
    rng: Rng,
  ): Record<string, unknown> {
    const common = {
      paraId,
      relayParent: blake2AsU8a(
        u8aConcat(Uint8Array.of(1), new Uint8Array(new Uint32Array([relayParentNumber]).buffer)),
        256,
      ),
      persistedValidationDataHash: rng.bytes(32),
      povHash: rng.bytes(32),
      erasureRoot: rng.bytes(32),
      paraHead: blake2AsU8a(headData, 256),
      validationCodeHash: blake2AsU8a(new Uint8Array(new Uint32Array([paraId]).buffer), 256),
    };
    if (this.encoder.descriptorVersion === 'v1') {
      return { ...common, collator: rng.bytes(32), signature: rng.bytes(64) };
    }
    return {
      ...common,
      version: 0,
      coreIndex,
      sessionIndex: 1,
      reserved1: new Uint8Array(25),
      reserved2: new Uint8Array(64),
    };
  }

  #headData(paraId: number, paraBlock: number): Uint8Array {
    // A parachain header-like blob: parent hash, number, state and extrinsics roots.
    const seed = new Uint8Array(new Uint32Array([paraId, paraBlock]).buffer);
    return u8aConcat(
      blake2AsU8a(seed, 256),
      compactLength(paraBlock),
      blake2AsU8a(u8aConcat(seed, seed), 256),
      new Uint8Array(36),
    );
  }

  #message(rng: Rng): Uint8Array {
    const template = this.#xcmTemplates[rng.int(0, this.#xcmTemplates.length - 1)]!;
    const message = template.slice();
    // Every template ends with SetTopic([u8; 32]): a fresh topic makes each message unique.
    message.set(rng.bytes(32), message.length - 32);
    return message;
  }

  /** XCMP format 0x00 messages (one VersionedXcm each), v3 and v4, of sizes across the configured range. */
  #buildXcmTemplates(): Uint8Array[] {
    const xcmType = this.encoder.metadata.types.find((t) => t.path[t.path.length - 1] === 'VersionedXcm');
    if (!xcmType) throw new Error('devnet: runtime has no VersionedXcm type');
    const versions = 'variant' in xcmType.def ? xcmType.def.variant.variants.map((v) => v.name) : [];
    const { min, max } = this.config.messageSize;
    const templates: Uint8Array[] = [];
    const steps = 12;
    for (let i = 0; i < steps; i++) {
      const target = Math.round(min + ((max - min) * i) / (steps - 1));
      const version = i % 2 === 0 && versions.includes('V3') ? 'V3' : 'V4';
      const build = (callLength: number) =>
        u8aConcat(
          Uint8Array.of(0),
          this.encoder.encodeType(xcmType.id, { [version]: xcmProgram(version, callLength) }),
        );
      const base = build(0).length;
      templates.push(build(Math.max(0, target - base - 2)));
    }
    return templates;
  }
}

function xcmProgram(version: 'V3' | 'V4', callLength: number): unknown[] {
  const here = { parents: 1, interior: 'Here' };
  const asset =
    version === 'V3'
      ? { id: { Concrete: here }, fun: { Fungible: 10n ** 12n } }
      : { id: here, fun: { Fungible: 10n ** 12n } };
  const beneficiary = {
    parents: 0,
    interior:
      version === 'V3'
        ? { X1: { AccountId32: { network: null, id: new Uint8Array(32).fill(7) } } }
        : { X1: [{ AccountId32: { network: null, id: new Uint8Array(32).fill(7) } }] },
  };
  const program: unknown[] = [
    { WithdrawAsset: [asset] },
    'ClearOrigin',
    { BuyExecution: { fees: asset, weightLimit: 'Unlimited' } },
  ];
  if (callLength > 0) {
    program.push({
      Transact: {
        originKind: 'SovereignAccount',
        requireWeightAtMost: { refTime: 1_000_000_000, proofSize: 65_536 },
        call: { encoded: u8aToHex(new Uint8Array(callLength).fill(0x2a)) },
      },
    });
  }
  program.push(
    { DepositAsset: { assets: { Wild: { AllCounted: 1 } }, beneficiary } },
    { SetTopic: new Uint8Array(32) },
  );
  return program;
}

/** A copy of `commitments` with one byte changed: a message's if there is one, else the head data's. */
function tamper(commitments: Commitments): Commitments {
  const [first, ...rest] = commitments.horizontalMessages;
  if (first) {
    const data = first.data.slice();
    data[data.length - 1]! ^= 0xff;
    return { ...commitments, horizontalMessages: [{ recipient: first.recipient, data }, ...rest] };
  }
  const headData = commitments.headData.slice();
  headData[0]! ^= 0xff;
  return { ...commitments, headData };
}
