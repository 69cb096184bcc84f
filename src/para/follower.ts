/**
 * A sending parachain's node (DESIGN.md §13), as the sidecar follows it: the only module that talks
 * to para nodes. It reads the para id (`ParachainInfo::ParachainId`), follows every imported block
 * and the best and finalized heads, and reads each block's `ParachainSystem::HrmpOutboundMessages`
 * at its hash. Nothing a para node says is verified: the speculative lifecycle checks it against
 * the candidates the relay chain backs.
 */
import { EventEmitter } from 'node:events';
import { NodeClient, SYSTEM_EVENTS_KEY } from '../chain/node.ts';
import type { UpstreamSubscription } from '../chain/upstream.ts';
import {
  type ParaBlockVerdicts,
  type ParaEventsDecoder,
  paraEventsDecoder,
} from '../derive/para-verdicts.ts';
import type { InboundReport, ParaBlockSeen, ParaHeadSeen } from '../derive/speculative.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import { blockHash, type HeaderJson, headerNumber } from '../protocol/header.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import {
  decodeMqcHeads,
  decodeOutboundMessages,
  decodeParaId,
  decodeRelayParentNumber,
  decodeU32Value,
  HRMP_OUTBOUND_MESSAGES_KEY,
  HRMP_WATERMARK_KEY,
  LAST_HRMP_MQC_HEADS_KEY,
  LAST_RELAY_CHAIN_BLOCK_NUMBER_KEY,
  PARACHAIN_ID_KEY,
} from '../protocol/para.ts';

/** A block as announced: with when its head reached the sidecar (performance.now()). */
export interface ParaBlockImported extends ParaBlockSeen {
  readonly importedAt: number;
}

export interface ParaFollowerEvents {
  block: [ParaBlockImported];
  best: [ParaHeadSeen];
  finalized: [ParaHeadSeen];
  /** The para id was read: the registry decides whether this node may be followed. */
  identified: [number];
}

export type ParaNodeState = 'connecting' | 'following' | 'refused' | 'stopped';

export interface ParaNodeStatus {
  readonly url: string;
  readonly paraId: number | null;
  readonly state: ParaNodeState;
  readonly connected: boolean;
  readonly best: number | null;
  readonly finalized: number | null;
  readonly blocks: number;
  readonly lastError: string | null;
}

export interface ParaFollowerOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Between connection attempts while the node cannot be reached. */
  readonly retryMs?: number;
  /** Largest `HrmpOutboundMessages` value read for one block; larger ones are not announced. */
  readonly maxBlockBytes?: number;
  /** Ancestors fetched when a block's parent was never seen (after a reconnect). */
  readonly maxGap?: number;
}

/** A block's outgoing messages past this are not a real block's (HRMP pages are 100 KiB on Polkadot). */
const MAX_BLOCK_BYTES = 4 * 1024 * 1024;
const MAX_GAP = 16;
/** Block hashes remembered, to tell a gap from a start. */
const KEEP_SEEN = 4096;

export class ParaRefusedError extends Error {
  override readonly name = 'ParaRefusedError';
}

export class ParaFollower extends EventEmitter<ParaFollowerEvents> {
  readonly url: string;
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #maxBlockBytes: number;
  readonly #maxGap: number;
  #node: NodeClient | null = null;
  #paraId: number | null = null;
  #state: ParaNodeState = 'connecting';
  #best: number | null = null;
  #finalized: number | null = null;
  #blocks = 0;
  #lastError: string | null = null;
  readonly #seen = new Set<Hex>();
  #heard = -1;
  /** Blocks being read now (to be announced once). */
  readonly #announcing = new Map<Hex, Promise<void>>();
  /** Events decoders, one per runtime the node has run. */
  readonly #decoders = new WeakMap<RuntimeMetadata, ParaEventsDecoder>();
  readonly #subscriptions: UpstreamSubscription[] = [];
  /** Heads are handled one at a time, in the order the node sent them. */
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: ParaFollowerOptions) {
    super();
    this.url = options.url;
    this.#log = options.logger.child({ paraNode: options.url });
    this.#retryMs = options.retryMs ?? 2_000;
    this.#maxBlockBytes = options.maxBlockBytes ?? MAX_BLOCK_BYTES;
    this.#maxGap = options.maxGap ?? MAX_GAP;
  }

  get paraId(): number | null {
    return this.#paraId;
  }

  get status(): ParaNodeStatus {
    return {
      url: this.url,
      paraId: this.#paraId,
      state: this.#state,
      connected: this.#node?.isConnected ?? false,
      best: this.#best,
      finalized: this.#finalized,
      blocks: this.#blocks,
      lastError: this.#lastError,
    };
  }

  /** Marks it refused (a configuration error such as a second node of one para): it is not followed. */
  refuse(reason: string): void {
    this.#state = 'refused';
    this.#lastError = reason;
    this.#log.error({ para: this.#paraId, reason }, `para node refused: ${reason}`);
    void this.stop('refused');
  }

  /** Connects (retrying while unreachable), identifies the para and follows its heads. Never throws. */
  async start(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped && !this.#node) {
      attempt++;
      try {
        this.#node = await NodeClient.connect(this.url, { reconnectMs: 1_000, timeoutMs: 0 });
      } catch (error) {
        this.#lastError = (error as Error).message;
        if (attempt === 1) this.#log.warn({ err: this.#lastError }, 'cannot reach the para node: retrying');
        await new Promise((resolve) => setTimeout(resolve, this.#retryMs).unref());
      }
    }
    if (this.#stopped || !this.#node) return;
    try {
      await this.#identify(this.#node);
      if (this.#stopped) return;
      await this.#follow(this.#node);
      this.#state = 'following';
      this.#lastError = null;
      this.#log.info({ para: this.#paraId }, 'following the para node');
    } catch (error) {
      if (error instanceof ParaRefusedError) this.refuse(error.message);
      else {
        this.#lastError = (error as Error).message;
        this.#log.error({ err: this.#lastError }, 'cannot follow the para node');
      }
    }
  }

  async #identify(node: NodeClient): Promise<void> {
    const value = await node.send<Hex | null>('state_getStorage', [PARACHAIN_ID_KEY]);
    if (value === null)
      throw new ParaRefusedError(
        `${this.url} is not a parachain's node: it has no ParachainInfo::ParachainId (a relay chain or a solo chain?)`,
      );
    try {
      this.#paraId = decodeParaId(value);
    } catch (error) {
      throw new ParaRefusedError(`${this.url}: ${(error as Error).message}`);
    }
    this.emit('identified', this.#paraId);
  }

  async #follow(node: NodeClient): Promise<void> {
    const follow = async (method: string, unsubscribe: string, kind: 'all' | 'best' | 'finalized') => {
      const subscription = await node.subscribe(
        { method, params: [], unsubscribe },
        {
          onEvent: (result) => {
            const arrivedAt = performance.now();
            const number = (result as HeaderJson | null)?.number;
            if (typeof number === 'string')
              this.#heard = Math.max(this.#heard, Number.parseInt(number, 16) || 0);
            this.#enqueue(() => this.#onHead(kind, result as HeaderJson, arrivedAt));
          },
          onEnd: (error) => {
            this.#lastError = `${method} ended: ${error.message}`;
            this.#log.warn({ err: error.message, method }, 'the para node ended a head subscription');
          },
        },
      );
      this.#subscriptions.push(subscription);
    };
    await follow('chain_subscribeAllHeads', 'chain_unsubscribeAllHeads', 'all');
    await follow('chain_subscribeNewHeads', 'chain_unsubscribeNewHeads', 'best');
    await follow('chain_subscribeFinalizedHeads', 'chain_unsubscribeFinalizedHeads', 'finalized');
  }

  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((error: Error) => {
      this.#lastError = error.message;
      this.#log.warn({ err: error.message, para: this.#paraId }, 'could not read a para block');
    });
  }

  /** The highest block number the node has told of (heard, read or not): how far the node itself is. */
  get heard(): number {
    return this.#heard;
  }

  async #onHead(
    kind: 'all' | 'best' | 'finalized',
    header: HeaderJson | null,
    arrivedAt: number,
  ): Promise<void> {
    if (this.#stopped || !header || typeof header.parentHash !== 'string') return;
    const head: ParaHeadSeen = {
      paraId: this.#paraId!,
      number: headerNumber(header),
      hash: blockHash(header),
      parentHash: header.parentHash.toLowerCase() as Hex,
    };
    if (!this.#seen.has(head.hash) && kind !== 'finalized') await this.#imported(head, arrivedAt);
    if (kind === 'best') {
      this.#best = head.number;
      this.emit('best', head);
    } else if (kind === 'finalized') {
      this.#finalized = head.number;
      this.emit('finalized', head);
    }
  }

  /** Reads a new block's messages (and those of unseen ancestors, after a gap) and announces them, oldest first. */
  async #imported(head: ParaHeadSeen, arrivedAt: number): Promise<void> {
    const missing: ParaHeadSeen[] = [head];
    while (this.#seen.size > 0 && missing.length <= this.#maxGap) {
      const oldest = missing.at(-1)!;
      if (this.#seen.has(oldest.parentHash) || oldest.number === 0) break;
      const parent = await this.#node!.header(oldest.parentHash);
      missing.push({
        paraId: head.paraId,
        number: parent.number,
        hash: oldest.parentHash,
        parentHash: parent.parentHash,
      });
    }
    for (const block of missing.reverse()) await this.#announce(block, arrivedAt);
  }

  /**
   * Reads and announces a block the relay chain backs before its head reached us (a relay branch
   * seen all at once): what the node says of it still comes before its `pending`.
   */
  async readBacked(head: ParaHeadSeen): Promise<void> {
    if (this.#state !== 'following' || head.paraId !== this.#paraId) return;
    await this.#announce(head, performance.now());
  }

  /** Announces a block once, however many paths (its head, a gap, a relay backing) ask for it at once. */
  #announce(head: ParaHeadSeen, arrivedAt: number): Promise<void> {
    if (this.#seen.has(head.hash)) return Promise.resolve();
    const inFlight = this.#announcing.get(head.hash);
    if (inFlight !== undefined) return inFlight;
    const announced = this.#read(head, arrivedAt).finally(() => this.#announcing.delete(head.hash));
    this.#announcing.set(head.hash, announced);
    return announced;
  }

  async #read(head: ParaHeadSeen, arrivedAt: number): Promise<void> {
    const read = (key: Hex) => this.#node!.send<Hex | null>('state_getStorage', [key, head.hash]);
    const [value, relayParent, watermark, mqcHeads, events] = await Promise.all([
      read(HRMP_OUTBOUND_MESSAGES_KEY),
      read(LAST_RELAY_CHAIN_BLOCK_NUMBER_KEY),
      read(HRMP_WATERMARK_KEY),
      read(LAST_HRMP_MQC_HEADS_KEY),
      read(SYSTEM_EVENTS_KEY),
    ]);
    this.#remember(head.hash);
    for (const [what, v] of [
      ['sends', value],
      ['has events of', events],
    ] as const)
      if (v !== null && v.length > 2 + 2 * this.#maxBlockBytes) {
        this.#lastError = `block #${head.number} (${head.hash}) ${what} ${(v.length - 2) / 2} bytes: not announced`;
        this.#log.warn({ para: head.paraId, block: head.number }, this.#lastError);
        return;
      }
    const messages = decodeOutboundMessages(value);
    const relayParentNumber = decodeRelayParentNumber(relayParent);
    const inbound = this.#inbound(head, watermark, mqcHeads);
    const verdicts = await this.#verdicts(head, events);
    this.#blocks++;
    this.emit('block', { ...head, messages, relayParentNumber, inbound, verdicts, importedAt: arrivedAt });
  }

  /** A block's `HrmpWatermark`, as the node says (null when it does not). */
  async watermarkAt(hash: Hex): Promise<number | null> {
    const value = await this.#node?.send<Hex | null>('state_getStorage', [HRMP_WATERMARK_KEY, hash]);
    return value ? decodeU32Value(value, 'HrmpWatermark') : null;
  }

  /** A read proof of `keys` at para block `at` (`state_getReadProof`): the trie nodes, unchecked. */
  async readProof(keys: readonly Hex[], at: Hex): Promise<readonly Hex[]> {
    if (!this.#node) throw new Error(`para node ${this.url} is not connected`);
    const answer = await this.#node.send<{ at: Hex; proof: Hex[] } | null>('state_getReadProof', [keys, at]);
    if (!answer || !Array.isArray(answer.proof))
      throw new Error(`para node ${this.url} gave no read proof at ${at}`);
    return answer.proof;
  }

  /** What events of para block `head` say of XCMs, decoded with its runtime's metadata (throws when they do not decode). */
  async decodeVerdicts(at: Hex, events: Hex | null): Promise<ParaBlockVerdicts> {
    const metadata = await this.#node!.metadata(at);
    let decode = this.#decoders.get(metadata);
    if (!decode) {
      decode = paraEventsDecoder(metadata);
      this.#decoders.set(metadata, decode);
    }
    return decode(events);
  }

  /** What a block's events say of XCMs; null when they do not decode with its runtime's metadata (logged). */
  async #verdicts(head: ParaHeadSeen, events: Hex | null): Promise<ParaBlockVerdicts | null> {
    try {
      return await this.decodeVerdicts(head.hash, events);
    } catch (error) {
      this.#lastError = `block #${head.number} (${head.hash}) events: ${(error as Error).message}`;
      this.#log.error({ para: head.paraId, block: head.number }, this.#lastError);
      return null;
    }
  }

  /** What the block says it consumed; null when it does not say, or says it in a form that does not decode (logged). */
  #inbound(head: ParaHeadSeen, watermark: Hex | null, mqcHeads: Hex | null): InboundReport | null {
    if (watermark === null) return null;
    try {
      return {
        hrmpWatermark: decodeU32Value(watermark, 'HrmpWatermark'),
        mqcHeads: decodeMqcHeads(mqcHeads),
      };
    } catch (error) {
      this.#lastError = `block #${head.number} (${head.hash}): ${(error as Error).message}`;
      this.#log.error({ para: head.paraId, block: head.number }, this.#lastError);
      return null;
    }
  }

  #remember(hash: Hex): void {
    this.#seen.add(hash);
    if (this.#seen.size > KEEP_SEEN) this.#seen.delete(this.#seen.values().next().value!);
  }

  async stop(state: ParaNodeState = 'stopped'): Promise<void> {
    this.#stopped = true;
    if (this.#state !== 'refused') this.#state = state;
    await Promise.all(this.#subscriptions.splice(0).map((s) => s.unsubscribe().catch(() => undefined)));
    await this.#node?.disconnect();
  }
}
