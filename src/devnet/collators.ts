/**
 * The devnet's para nodes as collators (DESIGN.md §13): after each relay block, every para builds
 * its next block on that relay block (its relay parent) and on its tip on that relay branch (the
 * block of its last candidate backed there), and offers it for backing in the relay block's child.
 * A para whose core will be free then announces the block at once, about one relay block before
 * it is backed and two before it is enacted: the lead the speculative tier measures. Faults: a
 * lost collation (`withhold`: another block at that height follows), a node that misreports what a
 * block sends (`lie`), two blocks at one height (`paraFork`: the first is backed).
 */
import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { DevnetBlock, Hex } from './chain.ts';
import type { DevnetConfig } from './config.ts';
import type { DevnetEncoder } from './encoder.ts';
import { DevnetParaChain, type InboundConsumed, type ParaBlock } from './para-chain.ts';
import type { ConsumedHrmp } from './para-events.ts';
import { Rng } from './rng.ts';
import type { BlockFaults, Collation, RelayRuntimeModel } from './runtime.ts';

/** Blocks after which a para node's block is timestamped, after its relay parent's (half a slot). */
const PARA_BLOCK_DELAY_MS = 3000;

/** What a fault did to a para block: never backed, misreported by its node, or a fork's second block. */
export type ParaFault = 'withheld' | 'lied' | 'forked';

export class DevnetCollators {
  readonly chains: ReadonlyMap<number, DevnetParaChain>;
  /** Para blocks a fault touched, by hash (for tests to know what each outcome should be). */
  readonly faults = new Map<Hex, ParaFault>();
  readonly #runtime: RelayRuntimeModel;
  readonly #config: DevnetConfig;
  /** Blocks offered for backing in a child of each relay block, by relay parent hash and para. */
  readonly #offered = new Map<Hex, Map<number, ParaBlock>>();
  /** Each para's tip after each relay block: the block of its last candidate backed on that branch. */
  readonly #tips = new Map<Hex, Map<number, ParaBlock>>();
  /** The relay blocks those two are kept for, oldest first (forgotten past the retention window). */
  readonly #kept: { readonly hash: Hex; readonly number: number }[] = [];

  private constructor(
    config: DevnetConfig,
    runtime: RelayRuntimeModel,
    chains: Map<number, DevnetParaChain>,
  ) {
    this.#config = config;
    this.#runtime = runtime;
    this.chains = chains;
  }

  static async create(
    config: DevnetConfig,
    encoder: DevnetEncoder,
    runtime: RelayRuntimeModel,
  ): Promise<DevnetCollators> {
    const chains = new Map<number, DevnetParaChain>();
    for (const paraId of config.paras)
      chains.set(
        paraId,
        await DevnetParaChain.create(paraId, encoder, config.retainBlocks, {
          failRate: config.xcmFailRate,
          overweightRate: config.xcmOverweightRate,
        }),
      );
    return new DevnetCollators(config, runtime, chains);
  }

  /** What a child of `parent` backs: the block each para offered on it (announced now if it was not). */
  collationsFor(parent: DevnetBlock): Map<number, Collation> {
    const collations = new Map<number, Collation>();
    for (const [paraId, block] of this.#offered.get(parent.hash) ?? []) {
      const chain = this.chains.get(paraId)!;
      if (!chain.block(block.hash)) chain.import(block);
      collations.set(paraId, { headData: block.headerBytes, messages: block.messages });
    }
    return collations;
  }

  /**
   * After relay block `block`: each para's tip moves to the block of its candidate backed there
   * (now the para node's best), then each builds its next block on `block` and offers it.
   */
  async afterBlock(
    block: DevnetBlock,
    parent: DevnetBlock | undefined,
    seed: number,
    faults: BlockFaults = {},
  ) {
    const tips = new Map(parent ? (this.#tips.get(parent.hash) ?? []) : []);
    for (const event of block.candidateEvents) {
      if (event.kind !== 'CandidateBacked') continue;
      const chain = this.chains.get(event.candidate.paraId);
      const backed = chain?.block(paraHash(event.candidate.commitments.headData));
      if (!chain || !backed) continue;
      tips.set(chain.paraId, backed);
      chain.setBest(backed);
    }
    this.#tips.set(block.hash, tips);
    for (const paraId of faults.withhold ?? []) {
      const lost = parent && this.#offered.get(parent.hash)?.get(paraId);
      // Only a block its node announced (its core was free) is a block lost.
      if (lost && this.chains.get(paraId)?.block(lost.hash)) this.faults.set(lost.hash, 'withheld');
    }
    const offered = new Map<number, ParaBlock>();
    for (const [paraId, chain] of this.chains) {
      const built = await this.#build(chain, tips.get(paraId) ?? chain.genesis, block, seed, 0);
      offered.set(paraId, built);
      if (faults.lie?.has(paraId)) {
        chain.lies.add(built.hash);
        this.faults.set(built.hash, 'lied');
      }
      if (!this.#coreFreeAfter(block, paraId)) continue;
      const authored = [built];
      if (faults.paraFork?.has(paraId)) {
        // A second block at the same height, announced after the first (and best for a while).
        const sibling = await this.#build(chain, tips.get(paraId) ?? chain.genesis, block, seed, 1);
        this.faults.set(sibling.hash, 'forked');
        authored.push(sibling);
      }
      this.#announce(chain, authored);
    }
    this.#offered.set(block.hash, offered);
    this.#kept.push({ hash: block.hash, number: block.number });
    this.#forget(block.number);
  }

  /** A relay block was finalized: the para blocks it included are final. */
  onFinalized(block: DevnetBlock): void {
    for (const event of block.candidateEvents) {
      if (event.kind !== 'CandidateIncluded') continue;
      const chain = this.chains.get(event.candidate.paraId);
      if (chain) chain.finalize(paraHash(event.candidate.commitments.headData));
    }
  }

  /** Imports what a para authored, at once or after the authoring time (unless the next relay block backed it first). */
  #announce(chain: DevnetParaChain, blocks: readonly ParaBlock[]): void {
    const importAll = () => {
      for (const block of blocks) if (!chain.block(block.hash)) chain.import(block);
    };
    if (this.#config.paraAuthoringMs === 0) {
      importAll();
      return;
    }
    setTimeout(importAll, this.#config.paraAuthoringMs).unref();
  }

  /** Whether the para's core is free for backing in the child of `block` (as the runtime will find it). */
  #coreFreeAfter(block: DevnetBlock, paraId: number): boolean {
    const pending = block.state.pending.get(paraId);
    if (!pending) return true;
    const next = block.number + 1;
    return pending.availableAt === next || (pending.availableAt === null && pending.timesOutAt <= next);
  }

  #build(chain: DevnetParaChain, tip: ParaBlock, relayParent: DevnetBlock, seed: number, sibling: number) {
    const rng = new Rng(
      (this.#config.seed * 7_919 +
        chain.paraId * 104_729 +
        relayParent.number * 1_000_003 +
        seed * 31 +
        sibling) >>>
        0,
    );
    const state = relayParent.state;
    const messages = this.#runtime.outboundMessages(chain.paraId, state, state.channels, rng);
    const relay = { number: relayParent.number, hash: relayParent.hash };
    const timestamp = relayParent.timestamp + PARA_BLOCK_DELAY_MS;
    return chain.build(tip, relay, messages, timestamp, inboundAt(relayParent, tip, chain.paraId));
  }

  #forget(number: number): void {
    const oldest = number - this.#config.retainBlocks;
    while (this.#kept.length > 0 && this.#kept[0]!.number < oldest) {
      const { hash } = this.#kept.shift()!;
      this.#offered.delete(hash);
      this.#tips.delete(hash);
    }
    for (const hash of this.faults.keys()) {
      const known = [...this.chains.values()].some((chain) => chain.block(hash));
      if (!known) this.faults.delete(hash);
    }
  }
}

/**
 * What a para block built on `relayParent` and on `parent` consumes: everything its inbound channels
 * hold there, of which the messages sent after `parent`'s watermark are new (the relay chain keeps a
 * channel's messages until the recipient's enacted watermark passes them, and `parent`'s is at
 * least that). Cumulus hands them on sorted by sentAt, then sender.
 */
function inboundAt(relayParent: DevnetBlock, parent: ParaBlock, paraId: number): InboundConsumed {
  const mqcHeads = new Map<number, Hex>();
  const messages: ConsumedHrmp[] = [];
  for (const channel of relayParent.state.channels.values()) {
    if (channel.recipient !== paraId) continue;
    mqcHeads.set(channel.sender, channel.mqcHead ? (u8aToHex(channel.mqcHead) as Hex) : ZERO_HEAD);
    for (const message of channel.contents)
      if (message.sentAt > parent.inbound.hrmpWatermark)
        messages.push({ sender: channel.sender, sentAt: message.sentAt, data: message.data });
  }
  messages.sort((a, b) => a.sentAt - b.sentAt || a.sender - b.sender);
  return { hrmpWatermark: relayParent.number, mqcHeads, messages };
}

const ZERO_HEAD = `0x${'00'.repeat(32)}` as Hex;

/** A para block's hash from the head data that carries it (its SCALE header). */
function paraHash(headData: Uint8Array): Hex {
  return u8aToHex(blake2AsU8a(headData, 256)) as Hex;
}
