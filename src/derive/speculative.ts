/**
 * The speculative lifecycle (DESIGN.md §13): a sending parachain's node announces a block's
 * outgoing messages when it imports the block, before any candidate carries them. Each announced
 * para block then ends exactly once: matched at backing (a candidate whose head data is the
 * block's header, so `para_head` is its hash, carries the same messages: from there the pending
 * lifecycle takes over), `contradicted` (that candidate carries other messages: the node lied), or
 * `withdrawn` (another block of the para at that height was backed, the node's own chain went past
 * it on another branch, or nothing backed it within the window). Pure: it is given the para nodes'
 * blocks and heads and the relay best chain, and returns what to announce.
 */
import { type Hex, toHex } from '../protocol/bytes.ts';
import { decodeCommitments, type OutboundHrmpMessage } from '../protocol/commitments.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { type ParaHead, paraHeadOf } from '../protocol/para.ts';
import type { CandidateRecord } from '../store/types.ts';
import type { ParaBlockVerdicts } from './para-verdicts.ts';
import { type BlockRef, type LifecycleBlock, type PendingMessage, pendingMessages } from './pending.ts';

/** A block a para node imported, with the outgoing messages it says the block holds. */
export interface ParaBlockSeen {
  readonly paraId: number;
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly messages: readonly OutboundHrmpMessage[];
  /** The number of its relay parent, as its node says (`LastRelayChainBlockNumber`); null if it does not. */
  readonly relayParentNumber: number | null;
  /** What it consumed of its inbound HRMP, as its node says (`HrmpWatermark`, `LastHrmpMqcHeads`); null if it does not say. */
  readonly inbound?: InboundReport | null;
  /** What its events say of XCMs (`MessageQueue` verdicts, `XcmpMessageSent`), as its node says; null if unread. */
  readonly verdicts?: ParaBlockVerdicts | null;
}

export interface InboundReport {
  readonly hrmpWatermark: number;
  readonly mqcHeads: ReadonlyMap<number, Hex>;
}

/** A para node's head (best or finalized). */
export interface ParaHeadSeen {
  readonly paraId: number;
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
}

/** An announced message: its para block and position there, the candidate's position once backed. */
export interface SpeculativeMessage {
  readonly sender: number;
  readonly recipient: number;
  readonly position: number;
  readonly data: Uint8Array;
  readonly hash: Hex;
}

/** A block's `XcmpMessageSent` events, when its node's events were read. */
function sentOf(block: ParaBlockSeen): { sent?: ParaBlockVerdicts['sent'] } {
  return block.verdicts ? { sent: block.verdicts.sent } : {};
}

export type WithdrawReason = 'paraFork' | 'leftBestChain' | 'notBacked';

interface Announced {
  readonly paraId: number;
  /** The relay best head when it was announced (or withdrawn, contradicted: then). */
  readonly block: BlockRef;
  readonly paraBlock: BlockRef;
  readonly messages: readonly SpeculativeMessage[];
  /** The block's `XcmpQueue.XcmpMessageSent` events as its node says (each XCM it sends, by message hash); absent when unread. */
  readonly sent?: ParaBlockVerdicts['sent'];
}

export type SpeculativeEvent =
  | ({ readonly type: 'speculative' } & Announced)
  | ({
      readonly type: 'withdrawn';
      readonly reason: WithdrawReason;
      readonly detail: string;
    } & Announced)
  | ({
      readonly type: 'contradicted';
      readonly candidateHash: Hex;
      readonly detail: string;
      /** What the backed candidate carries instead (announced as pending, as any backed candidate). */
      readonly backed: readonly PendingMessage[];
    } & Announced)
  /** Not for subscribers: the block's candidate was backed with the announced messages. */
  | ({ readonly type: 'matched'; readonly candidateHash: Hex } & Announced);

export interface SpeculativeOptions {
  /** Relay best-chain blocks after its relay parent (or its announcement) by which a para block must be backed. */
  readonly window?: number;
}

/**
 * The default window: on Polkadot a candidate's relay parent must be the backing block's parent or
 * one of the 2 before it (async backing's allowed_ancestry_len 2), so a block not backed by relay
 * parent + 3 never will be on that chain; one more block for a late backing vote.
 */
export const SPECULATIVE_WINDOW = 4;
/** A node cannot keep a block open by claiming a relay parent ahead of the relay chain: windows past the announcement. */
const MAX_WINDOWS_AHEAD = 4;
/** Para blocks one para may have open at once; past it the oldest is withdrawn (a node spamming forks). */
const MAX_OPEN_PER_PARA = 256;
/** Para headers kept per para for ancestry walks, below its newest. */
const KEEP_HEADERS = 512;
/** Resolved para blocks remembered, so a block announced again is not announced twice. */
const KEEP_RESOLVED = 8192;
/** Para blocks seen before the relay head was known, held until it is. */
const MAX_HELD = 1024;

interface OpenBlock {
  readonly seen: ParaBlockSeen;
  readonly messages: readonly SpeculativeMessage[];
  /** The relay best head's number when it was announced. */
  readonly seenAtRelay: number;
  /** The relay block number from which on, not yet backed, it is withdrawn. */
  readonly deadline: number;
}

export function speculativeMessages(block: ParaBlockSeen): SpeculativeMessage[] {
  return block.messages.map((m, position) => ({
    sender: block.paraId,
    recipient: m.recipient,
    position,
    data: m.data,
    hash: toHex(blake2_256(m.data)),
  }));
}

const sameMessages = (
  a: readonly { recipient: number; hash: Hex }[],
  b: readonly { recipient: number; hash: Hex }[],
) => a.length === b.length && a.every((m, i) => m.recipient === b[i]!.recipient && m.hash === b[i]!.hash);

const ref = (b: BlockRef): BlockRef => ({ number: b.number, hash: b.hash });

/** The para blocks a relay block's verified candidates back (cumulus head data only). */
export function backedParaHeads(block: LifecycleBlock): readonly BackedParaHead[] {
  // Asked twice per relay block with para nodes attached (which to read first, then the lifecycle): decoded once.
  const known = backedHeadsOf.get(block.write);
  if (known) return known;
  const heads: BackedParaHead[] = [];
  for (const candidate of block.write.newCandidates) {
    // A candidate whose commitments binding failed says nothing we can trust about its block.
    if (!candidate.verified) continue;
    const [commitments] = decodeCommitments(candidate.commitments);
    const head = paraHeadOf(commitments.headData);
    if (head) heads.push({ candidate, head: { paraId: candidate.paraId, ...head } });
  }
  backedHeadsOf.set(block.write, heads);
  return heads;
}

interface BackedParaHead {
  readonly candidate: CandidateRecord;
  readonly head: ParaHeadSeen;
}

const backedHeadsOf = new WeakMap<LifecycleBlock['write'], readonly BackedParaHead[]>();

export class SpeculativeLifecycle {
  readonly #window: number;
  /** Announced and not resolved, by para block hash (blocks without messages too: they can be contradicted). */
  readonly #open = new Map<Hex, OpenBlock>();
  /** Headers known per para (para block hash → number, parent), for ancestry walks. */
  readonly #headers = new Map<number, Map<Hex, { number: number; parentHash: Hex }>>();
  readonly #resolved = new Map<Hex, SpeculativeEvent['type']>();
  /** Each announced block's XcmpMessageSent events, for the pending updates of its candidate. */
  readonly #sentByBlock = new Map<Hex, ParaBlockVerdicts['sent']>();
  readonly #held: ParaBlockSeen[] = [];
  /** Para blocks candidates were backed for on the relay best chain lately (by relay block), for blocks their node announces late. */
  readonly #backedHeads = new Map<Hex, { readonly candidate: CandidateRecord; readonly at: BlockRef }>();
  #relay: BlockRef | null = null;

  constructor(options: SpeculativeOptions = {}) {
    this.#window = options.window ?? SPECULATIVE_WINDOW;
  }

  get window(): number {
    return this.#window;
  }

  /** The `XcmpMessageSent` events a para node said block `hash` has, if it was announced with them. */
  sentIn(hash: Hex): ParaBlockVerdicts['sent'] | undefined {
    return this.#sentByBlock.get(hash);
  }

  /** Open para blocks with messages, oldest first (for a replay). */
  open(): readonly Announced[] {
    const relay = this.#relay;
    if (!relay) return [];
    return [...this.#open.values()].filter((o) => o.messages.length > 0).map((o) => this.#at(o, relay));
  }

  /** What became of a para block: open, or how it ended (null when unknown or forgotten). */
  outcome(paraHash: Hex): SpeculativeEvent['type'] | 'open' | null {
    if (this.#open.has(paraHash)) return 'open';
    return this.#resolved.get(paraHash) ?? null;
  }

  /** A para node imported a block. */
  paraBlock(block: ParaBlockSeen): SpeculativeEvent[] {
    this.#know(block);
    if (block.verdicts?.sent.length) {
      this.#sentByBlock.set(block.hash, block.verdicts.sent);
      if (this.#sentByBlock.size > KEEP_RESOLVED)
        this.#sentByBlock.delete(this.#sentByBlock.keys().next().value!);
    }
    if (this.#open.has(block.hash) || this.#resolved.has(block.hash)) return [];
    if (!this.#relay) {
      if (this.#held.length >= MAX_HELD) this.#held.shift();
      this.#held.push(block);
      return [];
    }
    return this.#announce(block, this.#relay);
  }

  /** A para node's best head moved: open blocks below it on another branch left its best chain. */
  paraBest(head: ParaHeadSeen): SpeculativeEvent[] {
    this.#know(head);
    const events: SpeculativeEvent[] = [];
    const onChain = this.#ancestry(head);
    for (const [hash, open] of this.#open) {
      if (open.seen.paraId !== head.paraId || open.seen.number >= head.number) continue;
      const there = onChain.get(open.seen.number);
      if (there === undefined || there === hash) continue;
      const detail = `para ${head.paraId}'s node moved its best chain to #${head.number} (${head.hash}), whose block #${open.seen.number} is ${there}`;
      this.#withdraw(hash, 'leftBestChain', detail, events);
    }
    return events;
  }

  /** A para node finalized a block: open blocks at or below it on another branch are gone for good. */
  paraFinalized(head: ParaHeadSeen): SpeculativeEvent[] {
    this.#know(head);
    const events: SpeculativeEvent[] = [];
    const onChain = this.#ancestry(head);
    for (const [hash, open] of this.#open) {
      if (open.seen.paraId !== head.paraId || open.seen.number > head.number) continue;
      const there = onChain.get(open.seen.number);
      if (there === undefined || there === hash) continue;
      const detail = `para ${head.paraId}'s node finalized #${head.number} (${head.hash}), whose block #${open.seen.number} is ${there}`;
      this.#withdraw(hash, 'leftBestChain', detail, events);
    }
    this.#forgetHeaders(head.paraId, head.number);
    return events;
  }

  /**
   * A relay block joined the best chain (followed by the pending lifecycle): its backed candidates
   * match, contradict or withdraw the para blocks they name. Then the window is applied.
   */
  relayFollowed(block: LifecycleBlock): SpeculativeEvent[] {
    this.#relay = ref(block);
    const events: SpeculativeEvent[] = this.#flushHeld();
    for (const { candidate, head } of backedParaHeads(block))
      this.#backed(candidate, head, ref(block), events);
    this.#expire(events);
    return events;
  }

  /** A relay block left the best chain: what it backed no longer passes other blocks by. */
  relayLeft(block: BlockRef): void {
    for (const [hash, backed] of this.#backedHeads)
      if (backed.at.hash === block.hash) this.#backedHeads.delete(hash);
  }

  #backed(candidate: CandidateRecord, head: ParaHeadSeen, at: BlockRef, events: SpeculativeEvent[]): void {
    this.#know(head);
    this.#backedHeads.set(head.hash, { candidate, at });
    if (this.#backedHeads.size > KEEP_RESOLVED)
      this.#backedHeads.delete(this.#backedHeads.keys().next().value!);
    const open = this.#open.get(head.hash);
    if (open) this.#match(open, candidate, at, events);
    this.#withdrawForks(candidate.paraId, head, at, events);
  }

  /** Para blocks these relay blocks back that no para node has announced (nor were they resolved). */
  unannounced(blocks: readonly LifecycleBlock[], paras: ReadonlySet<number>): ParaHeadSeen[] {
    return blocks
      .flatMap((block) => backedParaHeads(block).map(({ head }) => head))
      .filter((head) => paras.has(head.paraId) && this.outcome(head.hash) === null);
  }

  /** The candidate backed for an announced block: the same messages, or a contradiction. */
  #match(open: OpenBlock, candidate: CandidateRecord, at: BlockRef, events: SpeculativeEvent[]): void {
    const backed = pendingMessages(candidate);
    const { candidateHash } = candidate;
    if (sameMessages(open.messages, backed)) {
      this.#resolve(open.seen.hash, { type: 'matched', candidateHash, ...this.#at(open, at) }, events);
      return;
    }
    const detail = `candidate ${candidateHash} backed at relay #${at.number} for para ${candidate.paraId}'s block #${open.seen.number} carries ${backed.length} messages other than the ${open.messages.length} its node announced`;
    this.#resolve(
      open.seen.hash,
      { type: 'contradicted', candidateHash, detail, backed, ...this.#at(open, at) },
      events,
    );
  }

  /** Open blocks of the para that the backed block's chain passes by at their height. */
  #withdrawForks(
    paraId: number,
    head: Pick<ParaHead, 'hash' | 'number' | 'parentHash'>,
    at: BlockRef,
    events: SpeculativeEvent[],
  ): void {
    const onChain = this.#ancestry({ paraId, ...head });
    for (const [hash, open] of this.#open) {
      if (open.seen.paraId !== paraId || open.seen.number > head.number) continue;
      const there = onChain.get(open.seen.number);
      if (there === undefined || there === hash) continue;
      const detail = `relay #${at.number} backed para ${paraId}'s block #${head.number} (${head.hash}), whose block #${open.seen.number} is ${there}: a para fork`;
      this.#withdraw(hash, 'paraFork', detail, events);
    }
  }

  #expire(events: SpeculativeEvent[]): void {
    const relay = this.#relay!;
    for (const [hash, open] of this.#open) {
      if (relay.number < open.deadline) continue;
      const since =
        open.seen.relayParentNumber === null
          ? `its announcement at relay #${open.seenAtRelay}`
          : `its relay parent #${open.seen.relayParentNumber}`;
      const detail = `not backed on the relay best chain by relay #${relay.number}, ${this.#window} blocks after ${since}`;
      this.#withdraw(hash, 'notBacked', detail, events);
    }
  }

  #announce(block: ParaBlockSeen, relay: BlockRef): SpeculativeEvent[] {
    const events: SpeculativeEvent[] = [];
    let ofPara = 0;
    let oldest: Hex | null = null;
    for (const [hash, open] of this.#open)
      if (open.seen.paraId === block.paraId) {
        ofPara++;
        oldest ??= hash;
      }
    if (ofPara >= MAX_OPEN_PER_PARA && oldest) {
      const detail = `para ${block.paraId}'s node has ${ofPara} blocks open: the oldest is given up`;
      this.#withdraw(oldest, 'notBacked', detail, events);
    }
    const messages = speculativeMessages(block);
    const open: OpenBlock = {
      seen: block,
      messages,
      seenAtRelay: relay.number,
      deadline: this.#deadline(block, relay),
    };
    this.#open.set(block.hash, open);
    // Imported after the relay chain backed it (a slow node, or a late sidecar): it is pending
    // already (or contradicted). One whose sibling was backed is announced all the same: a relay
    // reorg may yet back it; if not, the window or its node's best chain withdraws it.
    const backed = this.#backedHeads.get(block.hash);
    if (backed) {
      this.#match(open, backed.candidate, backed.at, events);
      return events;
    }
    if (messages.length > 0)
      events.push({
        type: 'speculative',
        paraId: block.paraId,
        block: relay,
        paraBlock: ref(block),
        messages,
        ...sentOf(block),
      });
    return events;
  }

  /**
   * Counted from the relay parent where the node names it: the sidecar's relay view may lag the
   * para node's (at start, or when the relay node is slow), and the relay parent is what bounds
   * when the block can be backed.
   */
  #deadline(block: ParaBlockSeen, relay: BlockRef): number {
    const latest = relay.number + MAX_WINDOWS_AHEAD * this.#window;
    if (block.relayParentNumber === null) return relay.number + this.#window;
    return Math.min(block.relayParentNumber + this.#window, latest);
  }

  #flushHeld(): SpeculativeEvent[] {
    const events: SpeculativeEvent[] = [];
    for (const block of this.#held.splice(0))
      if (!this.#open.has(block.hash) && !this.#resolved.has(block.hash))
        events.push(...this.#announce(block, this.#relay!));
    return events;
  }

  #at(open: OpenBlock, relay: BlockRef): Announced {
    return {
      paraId: open.seen.paraId,
      block: relay,
      paraBlock: ref(open.seen),
      messages: open.messages,
      ...sentOf(open.seen),
    };
  }

  #withdraw(hash: Hex, reason: WithdrawReason, detail: string, events: SpeculativeEvent[]): void {
    const open = this.#open.get(hash);
    if (!open) return;
    this.#resolve(hash, { type: 'withdrawn', reason, detail, ...this.#at(open, this.#relay!) }, events);
  }

  /** Ends an open block; blocks that announced nothing say so only when contradicted by backed messages. */
  #resolve(hash: Hex, event: SpeculativeEvent, events: SpeculativeEvent[]): void {
    this.#open.delete(hash);
    this.#resolved.set(hash, event.type);
    if (this.#resolved.size > KEEP_RESOLVED) this.#resolved.delete(this.#resolved.keys().next().value!);
    const backed = event.type === 'contradicted' ? event.backed.length : 0;
    if (event.messages.length > 0 || backed > 0) events.push(event);
  }

  #know(header: { paraId: number; number: number; hash: Hex; parentHash: Hex }): void {
    const headers = this.#headers.get(header.paraId) ?? new Map<Hex, { number: number; parentHash: Hex }>();
    this.#headers.set(header.paraId, headers);
    headers.set(header.hash, { number: header.number, parentHash: header.parentHash });
    // A para whose node never finalizes (or that has none) is forgotten from its newest block down.
    if (headers.size > 2 * KEEP_HEADERS) this.#forgetHeaders(header.paraId, header.number);
  }

  /** The hash at each height from `head` down through the headers known (stops at the first unknown parent). */
  #ancestry(head: ParaHeadSeen): Map<number, Hex> {
    const headers = this.#headers.get(head.paraId);
    const chain = new Map<number, Hex>([[head.number, head.hash]]);
    let parent = head.parentHash;
    for (let number = head.number - 1; number >= 0; number--) {
      chain.set(number, parent);
      const header = headers?.get(parent);
      if (!header) break;
      parent = header.parentHash;
    }
    return chain;
  }

  #forgetHeaders(paraId: number, finalized: number): void {
    const headers = this.#headers.get(paraId);
    if (!headers) return;
    const below = finalized - KEEP_HEADERS;
    for (const [hash, header] of headers) if (header.number < below) headers.delete(hash);
  }
}
