/**
 * The receiving side of each XCM (DESIGN.md §14). For a para whose node is attached, each block the
 * node imports is followed in order: when it moves its `HrmpWatermark`, the verified messages sent
 * to it in between are `delivered` there (once the store holds them), its `LastHrmpMqcHeads` are
 * checked against their heads (`deliveryMismatch`), and its `MessageQueue` verdicts are matched to
 * the XCMs delivered on its chain (`executed` / `failed` / `overweight`). Blocks its node finalizes
 * past on another branch are `retracted`. Nothing a para node says is believed: once a relay block
 * in the store includes the block's candidate, its header's state root (the candidate's head data)
 * is relay-committed, and the block's events, watermark and heads are read again with
 * `state_getReadProof` and checked under that root; only stages that agree are marked verified, the
 * others are `unverifiable`, counted and logged.
 */

import { SYSTEM_EVENTS_KEY } from '../chain/node.ts';
import { expectedMqcHeads, mqcHeadMismatches } from '../derive/delivery.ts';
import { matchVerdicts, sameVerdict, xcmsOfMessage } from '../derive/journey.ts';
import type { ParaBlockVerdicts, XcmOutcome, XcmVerdict } from '../derive/para-verdicts.ts';
import { provenEntries } from '../derive/proof.ts';
import type { ParaBlockSeen, ParaHeadSeen } from '../derive/speculative.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { TypeCodec } from '../protocol/codec.ts';
import { decodeCommitments } from '../protocol/commitments.ts';
import {
  decodeMqcHeads,
  decodeU32Value,
  HRMP_WATERMARK_KEY,
  LAST_HRMP_MQC_HEADS_KEY,
  paraHeadOf,
} from '../protocol/para.ts';
import type { StoreReader } from '../store/interface.ts';
import type { BlockWrite } from '../store/types.ts';
import { FinalChains } from './final-chains.ts';
import type { Journey, JourneyBook, JourneyStage, ParaBlockRef } from './journey-book.ts';
import { SendingSide } from './sending-side.ts';
import { StuckWatch } from './stuck.ts';

/** Para blocks remembered (their watermark, parent, and what they did to journeys). */
const KEEP_BLOCKS = 4096;
/** Blocks a para may have waiting for the store; past it the oldest is given up (logged). */
const MAX_WAITING = 512;

interface Touched {
  readonly journey: Journey;
  readonly stage: JourneyStage;
  /** For verdicts: what the node's plain answer said, compared with the proven events. */
  readonly verdict?: XcmVerdict;
  /** For `sent`: the XcmpMessageSent event its node said the block has. */
  readonly sent?: { readonly eventIndex: number; readonly messageHash: Hex };
  /** Proven or found unverifiable already (a block is proven again when a late `sent` stage joins it). */
  judged?: boolean;
}

interface BlockRecord {
  readonly paraId: number;
  readonly ref: ParaBlockRef;
  readonly parentHash: Hex;
  readonly watermark: number | null;
  readonly touched: Touched[];
  /** The heads the relay chain says it must report after consuming (only senders it consumed from). */
  expectedHeads: Map<number, Hex>;
  final: boolean;
  /** Its node's plain `LastHrmpMqcHeads` differed from the relay chain's. */
  plainMismatch: boolean;
  processed: boolean;
  checked: boolean;
}

export interface JourneyCounts {
  readonly delivered: number;
  readonly executed: number;
  readonly failed: number;
  readonly overweight: number;
  readonly retracted: number;
  readonly unverifiable: number;
  readonly deliveryMismatches: number;
  readonly stuck: number;
  readonly verifiedBlocks: number;
  /** Blocks its node announced whose relay blocks the store holds, that the sidecar has yet to follow (it is behind). */
  readonly waiting: number;
}

/** What the tracker needs of an attached para node: a read proof and its runtime's events decoder. */
export interface ReceivingNode {
  /** The highest block number it has told of (read or not). */
  readonly heard: number;
  /** The block's `HrmpWatermark`, as the node says (null when it does not). */
  watermarkAt(hash: Hex): Promise<number | null>;
  readProof(keys: readonly Hex[], at: Hex): Promise<readonly Hex[]>;
  decodeVerdicts(at: Hex, events: Hex | null): Promise<ParaBlockVerdicts>;
}

export interface JourneyTrackerOptions {
  readonly store: StoreReader;
  readonly book: JourneyBook;
  readonly logger: Logger;
  readonly xcm: () => TypeCodec | null;
  readonly node: (paraId: number) => ReceivingNode | null;
  /** Receiving blocks included after an enactment without its delivery, after which a journey is stuck. */
  readonly stuckAfter: number;
  /** Each receiving stage added, for metrics. */
  readonly onStage?: (journey: Journey, stage: JourneyStage['stage']) => void;
}

/** The stages that are a receiving runtime's verdict. */
function isVerdict(stage: JourneyStage['stage']): stage is XcmOutcome {
  return stage === 'executed' || stage === 'failed' || stage === 'overweight';
}

/** Counts of a para nothing has happened to yet. */
export function noJourneys(): { -readonly [K in keyof JourneyCounts]: number } {
  return {
    delivered: 0,
    executed: 0,
    failed: 0,
    overweight: 0,
    retracted: 0,
    unverifiable: 0,
    deliveryMismatches: 0,
    stuck: 0,
    verifiedBlocks: 0,
    waiting: 0,
  };
}

export class JourneyTracker {
  readonly #o: JourneyTrackerOptions;
  readonly #blocks = new Map<Hex, BlockRecord>();
  readonly #waiting = new Map<number, ParaBlockSeen[]>();
  readonly #pumping = new Set<number>();
  /** Candidates of followed paras the store holds: candidate hash → the para block and its state root. */
  readonly #candidates = new Map<
    Hex,
    { paraId: number; hash: Hex; number: number; stateRoot: Hex; backedIn: number }
  >();
  readonly #sending = new SendingSide();
  /** `sent` stages of blocks not followed yet, and the journeys whose `sent` stage is to be proven. */
  readonly #stashed = new Map<Hex, Touched[]>();
  readonly #sentProofs = new Set<string>();
  /** Included blocks its node told of, counted toward stuck journeys once followed. */
  readonly #countWhenFollowed = new Set<Hex>();
  /** Para blocks included in a stored (finalized) relay block: hash → state root. */
  readonly #included = new Map<Hex, Hex>();
  readonly #final = new FinalChains();
  readonly #counts = new Map<number, { -readonly [K in keyof JourneyCounts]: number }>();
  #stored = -1;

  readonly #stuck: StuckWatch;

  constructor(options: JourneyTrackerOptions) {
    this.#o = options;
    this.#stuck = new StuckWatch(options.stuckAfter, options.book);
  }

  counts(paraId: number): JourneyCounts {
    const ready = (this.#waiting.get(paraId) ?? []).filter((b) => this.#ready(b)).length;
    const waiting = ready + (this.#pumping.has(paraId) ? 1 : 0);
    return { ...this.#count(paraId), stuck: this.#stuck.stuckTo(paraId), waiting };
  }

  /** Stuck journeys now, per channel ("sender-recipient"). */
  stuck(): Map<string, number> {
    return this.#stuck.stuck();
  }

  #count(paraId: number): { -readonly [K in keyof JourneyCounts]: number } {
    let counts = this.#counts.get(paraId);
    if (!counts) {
      counts = noJourneys();
      this.#counts.set(paraId, counts);
    }
    return counts;
  }

  /** A para node imported a block: followed in import order, once the store holds what it consumed. */
  paraBlock(block: ParaBlockSeen): void {
    this.#sending.seen(block);
    if (!block.inbound && !block.verdicts) return;
    const queue = this.#waiting.get(block.paraId) ?? [];
    if (this.#blocks.has(block.hash) || queue.some((b) => b.hash === block.hash)) return;
    this.#waiting.set(block.paraId, queue);
    // In number order: a relay branch can make the sidecar read a backed block before its parent.
    let at = queue.length;
    while (at > 0 && queue[at - 1]!.number > block.number) at--;
    queue.splice(at, 0, block);
    if (queue.length > MAX_WAITING) {
      const dropped = queue.shift()!;
      this.#o.logger.warn(
        { para: dropped.paraId, paraBlock: dropped.number },
        'journeys not followed into a para block: the store is too far behind the para node',
      );
    }
    void this.#pump(block.paraId);
  }

  /** The store wrote a relay block: waiting blocks may go on, included para blocks can be proven. */
  stored(write: BlockWrite): void {
    this.#stored = Math.max(this.#stored, write.number);
    for (const candidate of write.newCandidates) {
      if (!candidate.verified) continue;
      const head = paraHeadOf(decodeCommitments(candidate.commitments)[0].headData);
      if (!head) continue;
      this.#candidates.set(candidate.candidateHash, {
        paraId: candidate.paraId,
        ...head,
        backedIn: candidate.backedIn,
      });
      if (this.#candidates.size > KEEP_BLOCKS) this.#candidates.delete(this.#candidates.keys().next().value!);
    }
    // Journeys first: a sending block's `sent` stages are then proven with the rest of it at inclusion.
    this.#enacted(write);
    for (const candidate of write.newCandidates)
      if (candidate.status === 'included') this.#include(candidate.candidateHash);
    for (const update of write.candidateUpdates)
      if (update.status === 'included') this.#include(update.candidateHash);
    for (const paraId of this.#waiting.keys()) void this.#pump(paraId);
  }

  /** A `sent` stage is proven with its block: now if the block is followed, else when it is. */
  #proveSent(paraBlock: Hex, journey: Journey, stage: JourneyStage): void {
    this.#sentProofs.add(journey.key);
    if (this.#sentProofs.size > KEEP_BLOCKS * 16)
      this.#sentProofs.delete(this.#sentProofs.values().next().value!);
    const touched: Touched = {
      journey,
      stage,
      sent: { eventIndex: stage.eventIndex!, messageHash: journey.messageHash },
    };
    const record = this.#blocks.get(paraBlock);
    if (record) {
      record.touched.push(touched);
      return;
    }
    const stashed = this.#stashed.get(paraBlock) ?? [];
    stashed.push(touched);
    this.#stashed.set(paraBlock, stashed);
    if (this.#stashed.size > KEEP_BLOCKS) this.#stashed.delete(this.#stashed.keys().next().value!);
  }

  /** Journeys begin at enactment, for XCMs to paras whose node is attached: they wait for their delivery. */
  #enacted(write: BlockWrite): void {
    const codec = this.#o.xcm();
    if (!codec) return;
    const now = Date.now();
    for (const message of write.messages) {
      if (!message.verified || !this.#o.node(message.recipient)) continue;
      const xcms = xcmsOfMessage(message.data, codec);
      if (xcms.kind !== 'xcms') continue;
      const carrier = this.#candidates.get(message.candidateHash);
      const candidate = carrier && {
        candidateHash: message.candidateHash,
        paraBlock: carrier.hash,
        backedIn: carrier.backedIn,
      };
      for (const xcm of xcms.xcms) {
        let journey: Journey | null = null;
        // A sending block announced after the enactment (its node lags) adds its stages then.
        const late = (stages: readonly JourneyStage[]) => {
          if (journey && stages.length > 0 && candidate) this.#sentLate(journey, stages, candidate.paraBlock);
        };
        const before = () => this.#sending.stagesBefore(xcm.messageHash, candidate, now, late);
        journey = this.#o.book.journeyOf(message, xcm, now, before);
        this.#stuck.undelivered(journey);
        const sent = journey.stages.find((s) => s.stage === 'sent');
        if (sent && candidate && !this.#sentProofs.has(journey.key))
          this.#proveSent(candidate.paraBlock, journey, sent);
      }
    }
  }

  /** `sent` and `speculative` learned after the enactment: put before `backed`, said, and proven with their block. */
  #sentLate(journey: Journey, stages: readonly JourneyStage[], paraBlock: Hex): void {
    const at = journey.stages.findIndex((s) => s.stage === 'backed');
    journey.stages.splice(Math.max(at, 0), 0, ...stages);
    this.#o.book.emit('update', { stage: 'sent', journey });
    this.#proveSent(paraBlock, journey, stages[0]!);
    const record = this.#blocks.get(paraBlock);
    if (record?.checked && this.#included.has(paraBlock)) {
      record.checked = false;
      void this.#prove(record);
    }
  }

  /** A para node finalized `head`: its chain is final, and what blocks beside it at those heights did is retracted. */
  paraFinalized(head: ParaHeadSeen): void {
    this.#becameFinal(head.paraId, this.#final.final(head.paraId, head.hash, this.#followedBlock));
  }

  readonly #followedBlock = (hash: Hex) => {
    const record = this.#blocks.get(hash);
    return record && { number: record.ref.number, parentHash: record.parentHash };
  };

  /** Blocks now known final: the others at their heights left the para's chain. */
  #becameFinal(paraId: number, final: readonly { number: number; hash: Hex }[]): void {
    if (final.length === 0) return;
    const heights = new Map(final.map((b) => [b.number, b.hash]));
    for (const [hash, record] of this.#blocks) {
      if (record.paraId !== paraId) continue;
      const there = heights.get(record.ref.number);
      if (there === undefined) continue;
      if (there === hash) record.final = true;
      else {
        this.#retract(record);
        this.#blocks.delete(hash);
      }
    }
  }

  /**
   * An included receiving block counts toward stuck journeys at once when its node has not told of
   * it (the node lags), else once the sidecar has followed it: the sidecar's own pace is not the
   * receiver's.
   */
  #countIncluded(paraId: number, hash: Hex, number: number): void {
    if (number <= (this.#o.node(paraId)?.heard ?? -1) && !this.#blocks.get(hash)?.processed) {
      this.#countWhenFollowed.add(hash);
      if (this.#countWhenFollowed.size > KEEP_BLOCKS)
        this.#countWhenFollowed.delete(this.#countWhenFollowed.values().next().value!);
      return;
    }
    this.#stuck.included(paraId);
    this.#stuck.check(paraId);
  }

  #include(candidateHash: Hex): void {
    const candidate = this.#candidates.get(candidateHash);
    if (!candidate) return;
    this.#countIncluded(candidate.paraId, candidate.hash, candidate.number);
    this.#included.set(candidate.hash, candidate.stateRoot);
    if (this.#included.size > KEEP_BLOCKS) this.#included.delete(this.#included.keys().next().value!);
    const record = this.#blocks.get(candidate.hash);
    if (record?.processed) void this.#prove(record);
  }

  async #pump(paraId: number): Promise<void> {
    if (this.#pumping.has(paraId)) return;
    this.#pumping.add(paraId);
    try {
      const queue = this.#waiting.get(paraId) ?? [];
      while (queue.length > 0 && this.#ready(queue[0]!)) await this.#follow(queue.shift()!);
    } catch (error) {
      this.#o.logger.error(
        { para: paraId, err: (error as Error).message },
        'journeys: a para block could not be followed',
      );
    } finally {
      this.#pumping.delete(paraId);
    }
  }

  /** Whether the store holds every relay block up to the block's watermark. */
  #ready(block: ParaBlockSeen): boolean {
    return !block.inbound || block.inbound.hrmpWatermark <= this.#stored;
  }

  async #follow(block: ParaBlockSeen): Promise<void> {
    const final = this.#final.at(block.paraId, block.number);
    if (final !== undefined && final !== block.hash) return; // a fork its node finalized past: nothing to follow
    const ref = { number: block.number, hash: block.hash };
    const record: BlockRecord = {
      paraId: block.paraId,
      ref,
      parentHash: block.parentHash,
      watermark: block.inbound?.hrmpWatermark ?? null,
      touched: [],
      expectedHeads: new Map(),
      final: false,
      plainMismatch: false,
      processed: false,
      checked: false,
    };
    this.#blocks.set(block.hash, record);
    record.touched.push(...(this.#stashed.get(block.hash) ?? []));
    this.#stashed.delete(block.hash);
    if (this.#blocks.size > KEEP_BLOCKS) this.#blocks.delete(this.#blocks.keys().next().value!);
    await this.#deliver(block, record);
    this.#judge(block, record);
    record.processed = true;
    record.final = final === block.hash;
    this.#becameFinal(block.paraId, this.#final.followed(block.paraId, block.hash, this.#followedBlock));
    if (this.#countWhenFollowed.delete(block.hash)) {
      this.#stuck.included(block.paraId);
      this.#stuck.check(block.paraId);
    }
    if (this.#included.has(block.hash)) await this.#prove(record);
  }

  /** The verified messages the block consumed since its parent's watermark: `delivered`, and the heads it must report. */
  async #deliver(block: ParaBlockSeen, record: BlockRecord): Promise<void> {
    const watermark = record.watermark;
    const parent = this.#blocks.has(block.parentHash)
      ? this.#blocks.get(block.parentHash)!.watermark
      : await this.#o.node(block.paraId)?.watermarkAt(block.parentHash);
    if (parent === undefined || parent === null || watermark === null) return;
    this.#stuck.consumedBefore(block.paraId, parent);
    if (watermark <= parent) return;
    const codec = this.#o.xcm();
    if (!codec) return;
    const messages = await this.#o.store.inbox(block.paraId, { fromBlock: parent + 1, toBlock: watermark });
    const now = Date.now();
    for (const message of messages) {
      if (!message.verified) continue;
      const xcms = xcmsOfMessage(message.data, codec);
      if (xcms.kind !== 'xcms') continue;
      for (const xcm of xcms.xcms) {
        const journey = this.#o.book.journeyOf(message, xcm, now);
        this.#stuck.delivered(journey);
        const stage: JourneyStage = {
          stage: 'delivered',
          at: now,
          verified: false,
          paraBlock: record.ref,
          watermark,
        };
        journey.deliveredIn = record.ref;
        this.#addStage(journey, stage, record);
      }
    }
    record.expectedHeads = expectedMqcHeads(messages, watermark);
    record.plainMismatch = !this.#checkHeads(block.inbound!.mqcHeads, record, 'as its node says');
  }

  /** Heads the block reports against those of the messages it consumed: a difference is a `deliveryMismatch`. */
  #checkHeads(reported: ReadonlyMap<number, Hex>, record: BlockRecord, how: string): boolean {
    const mismatches = mqcHeadMismatches(reported, record.expectedHeads);
    if (mismatches.length === 0) return true;
    this.#count(record.paraId).deliveryMismatches++;
    const senders = new Set(mismatches.map((m) => m.sender));
    const reason = `LastHrmpMqcHeads ${how} differ from the relay chain's for sender(s) ${[...senders].join(', ')}`;
    this.#o.logger.error(
      { para: record.paraId, paraBlock: record.ref, mismatches },
      `delivery mismatch: ${reason}`,
    );
    for (const { journey } of record.touched.filter((t) => t.stage.stage === 'delivered'))
      if (senders.has(journey.sender))
        this.#addStage(
          journey,
          { stage: 'deliveryMismatch', at: Date.now(), verified: false, paraBlock: record.ref, reason },
          record,
        );
    return false;
  }

  /** The block's `MessageQueue` verdicts, matched to XCMs delivered on its chain and not judged there yet. */
  #judge(block: ParaBlockSeen, record: BlockRecord): void {
    const verdicts = block.verdicts?.verdicts ?? [];
    if (verdicts.length === 0) return;
    const ancestry = this.#ancestry(record);
    const awaiting = this.#awaiting(record.paraId, ancestry);
    const { matched, unmatched } = matchVerdicts(awaiting, verdicts);
    for (const { xcm, verdict } of matched) {
      const stage: JourneyStage = {
        stage: verdict.outcome,
        at: Date.now(),
        verified: false,
        paraBlock: record.ref,
        eventIndex: verdict.eventIndex,
        event: verdict.event,
        weightUsed: verdict.weightUsed,
        error: verdict.error,
      };
      xcm.outcome = verdict.outcome;
      this.#addStage(xcm, stage, record, verdict);
    }
    if (unmatched.length > 0)
      this.#o.logger.debug(
        { para: record.paraId, paraBlock: record.ref, unmatched: unmatched.length },
        'verdicts on XCMs the sidecar did not see delivered (sent before it followed the para, or not over HRMP)',
      );
  }

  /** The block and its remembered ancestors. */
  #ancestry(record: BlockRecord): Set<Hex> {
    const hashes = new Set<Hex>();
    for (let b: BlockRecord | undefined = record; b && hashes.size < 256; b = this.#blocks.get(b.parentHash))
      hashes.add(b.ref.hash);
    return hashes;
  }

  /** XCMs delivered in `ancestry` to the para and judged nowhere in it, oldest first. */
  #awaiting(paraId: number, ancestry: Set<Hex>): Journey[] {
    const judged = new Set<string>();
    const delivered: Journey[] = [];
    for (const hash of [...ancestry].reverse()) {
      const record = this.#blocks.get(hash);
      if (!record || record.paraId !== paraId) continue;
      for (const { journey, stage } of record.touched) {
        if (stage.stage === 'delivered' && !judged.has(journey.key)) delivered.push(journey);
        if (isVerdict(stage.stage)) judged.add(journey.key);
      }
    }
    return delivered.filter((journey) => !judged.has(journey.key));
  }

  #addStage(journey: Journey, stage: JourneyStage, record: BlockRecord, verdict?: XcmVerdict): void {
    record.touched.push({ journey, stage, verdict });
    if (stage.stage === 'delivered' || isVerdict(stage.stage)) this.#count(record.paraId)[stage.stage]++;
    this.#o.book.add(journey, stage);
    this.#o.onStage?.(journey, stage.stage);
  }

  /** What a block that left its para's chain did no longer holds. */
  #retract(record: BlockRecord): void {
    for (const { journey, stage } of record.touched) {
      if (stage.stage !== 'delivered' && !isVerdict(stage.stage)) continue;
      if (stage.stage === 'delivered' && journey.deliveredIn?.hash === record.ref.hash) {
        journey.deliveredIn = this.#held(journey, record, (s) => s === 'delivered')?.paraBlock ?? null;
        this.#stuck.undelivered(journey);
      } else if (isVerdict(stage.stage) && journey.outcome === stage.stage) {
        const held = this.#held(journey, record, isVerdict)?.stage;
        journey.outcome = held && isVerdict(held) ? held : null;
      }
      this.#count(record.paraId).retracted++;
      this.#o.book.add(journey, {
        stage: 'retracted',
        at: Date.now(),
        verified: false,
        paraBlock: record.ref,
        of: stage.stage,
      });
    }
  }

  /** The latest stage of a kind in another block still held (not retracted), if any. */
  #held(
    journey: Journey,
    retracted: BlockRecord,
    kind: (stage: JourneyStage['stage']) => boolean,
  ): JourneyStage | undefined {
    return journey.stages.findLast(
      (s) =>
        kind(s.stage) &&
        s.paraBlock !== undefined &&
        s.paraBlock.hash !== retracted.ref.hash &&
        this.#blocks.has(s.paraBlock.hash),
    );
  }

  /** The block is included: read its events, watermark and heads again with a proof under its relay-committed state root. */
  async #prove(record: BlockRecord): Promise<void> {
    if (record.checked || record.touched.length === 0) return;
    record.checked = true;
    let problem: string | null;
    try {
      problem = await this.#provenProblem(record);
    } catch (error) {
      problem = (error as Error).message;
    }
    // One lie about a block, in plain answers or proven, and nothing its node said of it is taken.
    const fresh = record.touched.filter((t) => !t.judged);
    for (const touched of fresh) {
      touched.judged = true;
      if (problem) this.#unverifiable(record, touched, problem);
      else this.#o.book.verified(touched.journey, touched.stage);
    }
    if (!problem && fresh.length === record.touched.length) this.#count(record.paraId).verifiedBlocks++;
  }

  /** What the block's read proof under its relay-committed state root contradicts of what its node said, or null. */
  async #provenProblem(record: BlockRecord): Promise<string | null> {
    const node = this.#o.node(record.paraId);
    if (!node) return 'no node of the para is followed now';
    const stateRoot = this.#included.get(record.ref.hash)!;
    const keys = [SYSTEM_EVENTS_KEY, HRMP_WATERMARK_KEY, LAST_HRMP_MQC_HEADS_KEY] as Hex[];
    const entries = await provenEntries(stateRoot, await node.readProof(keys, record.ref.hash));
    const events = entries.get(SYSTEM_EVENTS_KEY as Hex);
    if (events === undefined)
      return 'the read proof does not prove System::Events under the included state root';
    if (record.plainMismatch) return "its node's LastHrmpMqcHeads differed from the relay chain's";
    if (record.touched.some((t) => t.stage.stage === 'delivered')) {
      const watermark = entries.get(HRMP_WATERMARK_KEY);
      if (watermark === undefined || decodeU32Value(watermark, 'HrmpWatermark') !== record.watermark)
        return `the proven HrmpWatermark is not ${record.watermark}`;
      const heads = entries.get(LAST_HRMP_MQC_HEADS_KEY);
      if (heads === undefined || !this.#checkHeads(decodeMqcHeads(heads), record, 'as proven'))
        return "the proven LastHrmpMqcHeads differ from the relay chain's";
    }
    const proven = (await node.decodeVerdicts(record.ref.hash, events)).verdicts;
    const sentEvents = (await node.decodeVerdicts(record.ref.hash, events)).sent;
    for (const { sent } of record.touched)
      if (
        sent &&
        !sentEvents.some((e) => e.eventIndex === sent.eventIndex && e.messageHash === sent.messageHash)
      )
        return `its node said event #${sent.eventIndex} is XcmpMessageSent(${sent.messageHash}); the proven events do not`;
    for (const { verdict } of record.touched) {
      if (!verdict) continue;
      const same = proven.find((v) => v.eventIndex === verdict.eventIndex);
      if (!same || !sameVerdict(same, verdict))
        return `its node said of event #${verdict.eventIndex} what the proven events do not`;
    }
    return null;
  }

  #unverifiable(record: BlockRecord, touched: Touched, reason: string): void {
    if (touched.stage.verified || touched.stage.stage === 'deliveryMismatch') return;
    this.#count(record.paraId).unverifiable++;
    this.#o.logger.error(
      {
        para: record.paraId,
        paraBlock: record.ref,
        journey: touched.journey.key,
        stage: touched.stage.stage,
      },
      `journey stage not verified: ${reason}`,
    );
    this.#o.book.add(touched.journey, {
      stage: 'unverifiable',
      at: Date.now(),
      verified: false,
      paraBlock: record.ref,
      of: touched.stage.stage,
      reason,
    });
  }
}
