/**
 * The devnet's chain: blocks assembled from the runtime model (extrinsics, events and storage all
 * SCALE-encoded through the metadata), a block tree with forks, a best head, finality that trails it,
 * and a retention window so memory stays bounded however long it runs.
 */
import { EventEmitter } from 'node:events';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { repointCanonical } from './canonical.ts';
import { DevnetCollators } from './collators.ts';
import type { DevnetConfig } from './config.ts';
import type { DevnetEncoder, EncodedBitVec } from './encoder.ts';
import { DevnetGrandpa } from './grandpa.ts';
import { paraRuntime } from './para-runtime.ts';
import {
  type BlockFaults,
  bitvec,
  type Candidate,
  type CandidateEventRecord,
  type Channel,
  channelKey,
  type ProducedBlock,
  RelayRuntimeModel,
  type RuntimeState,
} from './runtime.ts';
import { buildTrie, stateRoot, type TrieNodes } from './trie.ts';

export type Hex = `0x${string}`;

export interface HeaderJson {
  readonly parentHash: Hex;
  readonly number: Hex;
  readonly stateRoot: Hex;
  readonly extrinsicsRoot: Hex;
  readonly digest: { readonly logs: readonly Hex[] };
}

export interface DevnetBlock {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly header: HeaderJson;
  readonly extrinsics: readonly Hex[];
  readonly state: RuntimeState;
  readonly storage: ReadonlyMap<string, Hex>;
  readonly candidateEvents: readonly CandidateEventRecord[];
  readonly bitfieldVotes: readonly EncodedBitVec[];
  readonly timestamp: number;
}

export interface ChainEvents {
  /** Every imported block, on any fork. */
  block: [DevnetBlock];
  /** The best block changed (a new block on top, or a reorg). */
  best: [DevnetBlock];
  /** A block became final (emitted once per block, in order). */
  finalized: [DevnetBlock];
}

/** `:code`, the well-known key of the runtime code. */
const CODE_KEY = '0x3a636f6465';

/** Tries kept for `state_getReadProof`: clients ask about recent blocks. */
const TRIES_KEPT = 16;

const u32 = (value: number) => new Uint8Array(new Uint32Array([value]).buffer);

export class DevnetChain extends EventEmitter<ChainEvents> {
  readonly config: DevnetConfig;
  readonly encoder: DevnetEncoder;
  readonly runtime: RelayRuntimeModel;
  readonly #blocks = new Map<Hex, DevnetBlock>();
  readonly #canonical = new Map<number, Hex>();
  #best: DevnetBlock;
  #finalized: DevnetBlock;
  readonly genesis: DevnetBlock;
  #forkSeed = 0;
  /**
   * Fault: channels ("sender:recipient") whose inbound contents the runtime API misreports (the
   * last byte of the last message flipped), as a lying or broken node would.
   */
  readonly tamperedInbound = new Set<string>();
  readonly #keys: StorageKeys;
  /** The para nodes (`paraNodes`): their blocks are the candidates this chain backs. */
  readonly collators: DevnetCollators | null;
  /** GRANDPA (`grandpaAuthorities` > 0), and each finalized block's justification (SCALE). */
  readonly grandpa: DevnetGrandpa | null;
  readonly justifications = new Map<Hex, Uint8Array>();

  /** Block production, one at a time: each block's state root is computed asynchronously. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #tries = new Map<Hex, Promise<TrieNodes>>();

  private constructor(
    config: DevnetConfig,
    encoder: DevnetEncoder,
    genesis: DevnetBlock,
    runtime: RelayRuntimeModel,
    collators: DevnetCollators | null,
  ) {
    super();
    // One listener per head subscription of every client: many is normal, not a leak.
    this.setMaxListeners(0);
    this.config = config;
    this.encoder = encoder;
    this.runtime = runtime;
    this.collators = collators;
    this.#keys = new StorageKeys(encoder, this.runtime);
    this.genesis = genesis;
    this.#blocks.set(genesis.hash, genesis);
    this.#canonical.set(0, genesis.hash);
    this.#best = genesis;
    this.#finalized = genesis;
    this.grandpa =
      config.grandpaAuthorities > 0
        ? new DevnetGrandpa(config.grandpaAuthorities, config.grandpaSetEvery)
        : null;
  }

  static async create(config: DevnetConfig, encoder: DevnetEncoder): Promise<DevnetChain> {
    const runtime = new RelayRuntimeModel(config, encoder);
    const genesis = await assembleGenesis(config, encoder, runtime);
    let collators: DevnetCollators | null = null;
    if (config.paraNodes) {
      const para = await paraRuntime(config.paraMetadata);
      collators = await DevnetCollators.create(config, para.encoder, runtime);
      await collators.afterBlock(genesis, undefined, 0);
    }
    const chain = new DevnetChain(config, encoder, genesis, runtime, collators);
    if (collators) chain.on('finalized', (block) => collators.onFinalized(block));
    return chain;
  }

  get best(): DevnetBlock {
    return this.#best;
  }

  get finalized(): DevnetBlock {
    return this.#finalized;
  }

  get retainedBlocks(): number {
    return this.#blocks.size;
  }

  block(hash: string): DevnetBlock | undefined {
    return this.#blocks.get(hash.toLowerCase() as Hex);
  }

  /** Retained blocks above the finalized one that descend from it, on every fork, parents first. */
  unfinalized(): DevnetBlock[] {
    const above = [...this.#blocks.values()]
      .filter((block) => block.number > this.#finalized.number)
      .sort((a, b) => a.number - b.number);
    const known = new Set<Hex>([this.#finalized.hash]);
    return above.filter((block) => known.has(block.parentHash) && known.add(block.hash));
  }

  /** The block at `number` on the best chain (if retained). */
  blockAt(number: number): DevnetBlock | undefined {
    const hash = this.#canonical.get(number);
    return hash ? this.#blocks.get(hash) : undefined;
  }

  /** Produces one block on top of `parent` (default: the best block when its turn comes). */
  produce(options: { parent?: DevnetBlock; faults?: BlockFaults } = {}): Promise<DevnetBlock> {
    return this.#inTurn(async () => {
      const parent = options.parent ?? this.#best;
      const number = parent.number + 1;
      const seed = this.#forkSeedFor(parent);
      const collations = this.collators?.collationsFor(parent);
      const produced = this.runtime.produce(parent.state, number, seed, options.faults, collations);
      const block = await this.#assemble(parent, produced);
      this.#blocks.set(block.hash, block);
      this.emit('block', block);
      if (block.number > this.#best.number) this.#setBest(block);
      await this.collators?.afterBlock(block, parent, seed, options.faults);
      return block;
    });
  }

  #inTurn<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The version-1 trie of a block's state, built on first use and kept for the last few blocks. */
  trie(block: DevnetBlock): Promise<TrieNodes> {
    let trie = this.#tries.get(block.hash);
    if (!trie) {
      trie = buildTrie(block.storage, block.header.stateRoot);
      this.#tries.set(block.hash, trie);
      trie.catch(() => this.#tries.delete(block.hash));
      for (const hash of this.#tries.keys()) {
        if (this.#tries.size <= TRIES_KEPT) break;
        this.#tries.delete(hash);
      }
    }
    return trie;
  }

  /**
   * Builds a competing branch from the block `depth` blocks below the best head, one block longer
   * than the current branch, so it becomes best: blocks on the old branch are retracted.
   */
  fork(depth: number, faults?: BlockFaults): Promise<DevnetBlock[]> {
    return this.#inTurn(async () => {
      const base = this.blockAt(this.#best.number - depth);
      if (!base || depth < 1)
        throw new Error(`devnet: cannot fork ${depth} blocks below #${this.#best.number}`);
      if (base.number < this.#finalized.number) {
        throw new Error(
          `devnet: fork base #${base.number} is below the finalized block #${this.#finalized.number}`,
        );
      }
      this.#forkSeed += 1;
      const seed = this.#forkSeed;
      const made: DevnetBlock[] = [];
      let parent = base;
      for (let i = 0; i <= depth; i++) {
        const blockFaults = i === 0 ? faults : undefined;
        const collations = this.collators?.collationsFor(parent);
        const produced = this.runtime.produce(parent.state, parent.number + 1, seed, blockFaults, collations);
        const block = await this.#assemble(parent, produced, seed);
        this.#blocks.set(block.hash, block);
        this.emit('block', block);
        made.push(block);
        await this.collators?.afterBlock(block, parent, seed, blockFaults);
        parent = block;
      }
      this.#setBest(parent);
      return made;
    });
  }

  #forkSeedFor(parent: DevnetBlock): number {
    return this.#seedOf.get(parent.hash) ?? 0;
  }

  readonly #seedOf = new Map<Hex, number>();

  #setBest(block: DevnetBlock): void {
    repointCanonical(this.#canonical, this.#blocks, block);
    this.#best = block;
    this.emit('best', block);
    this.#advanceFinality();
    this.#prune();
  }

  #advanceFinality(): void {
    const target = this.#best.number - this.config.finalityLag;
    while (this.#finalized.number < target) {
      const next = this.blockAt(this.#finalized.number + 1);
      if (!next) break;
      this.#finalized = next;
      if (this.grandpa) this.justifications.set(next.hash, this.grandpa.justify(next));
      this.emit('finalized', next);
    }
  }

  #prune(): void {
    const oldest = this.#best.number - this.config.retainBlocks;
    for (const [hash, block] of this.#blocks) {
      const stale = block.number <= this.#finalized.number && this.#canonical.get(block.number) !== hash;
      if ((block.number < oldest && block.number > 0) || stale) {
        this.#blocks.delete(hash);
        this.#seedOf.delete(hash);
        this.justifications.delete(hash);
        if (this.#canonical.get(block.number) === hash) this.#canonical.delete(block.number);
      }
    }
  }

  async #assemble(parent: DevnetBlock, produced: ProducedBlock, seed?: number): Promise<DevnetBlock> {
    const number = produced.state.number;
    const timestamp = 1_700_000_000_000 + number * 6000;
    const extrinsics = [this.#timestampExtrinsic(timestamp), this.#inherentExtrinsic(parent, produced)];
    const eventsBytes = this.#eventsValue(produced.events, produced.disputed);
    const storage = new Map(parent.storage);
    storage.set(this.#keys.systemEvents, u8aToHex(eventsBytes) as Hex);
    storage.set(this.#keys.systemNumber, u8aToHex(u32(number)) as Hex);
    storage.set(this.#keys.systemParentHash, parent.hash);
    storage.set(this.#keys.timestampNow, u8aToHex(this.encoder.encode('u64', timestamp)) as Hex);
    for (const key of produced.touchedChannels)
      this.#keys.writeChannel(storage, produced.state.channels.get(key)!);
    for (const para of this.config.paras) {
      if (
        produced.touchedParas.has(para) ||
        produced.state.digests.get(para) !== parent.state.digests.get(para)
      ) {
        this.#keys.writePara(storage, para, produced.state);
      }
    }
    const extrinsicsBytes = extrinsics.map((hex) => hex);
    const header: HeaderJson = {
      parentHash: parent.hash,
      number: `0x${number.toString(16)}`,
      stateRoot: await stateRoot(storage),
      extrinsicsRoot: u8aToHex(blake2AsU8a(new TextEncoder().encode(extrinsicsBytes.join('')), 256)) as Hex,
      digest: { logs: [this.grandpa?.changeLog(number)].filter((log): log is Hex => !!log) },
    };
    const hash = headerHash(this.encoder, header);
    if (seed !== undefined) this.#seedOf.set(hash, seed);
    else if (this.#seedOf.has(parent.hash)) this.#seedOf.set(hash, this.#seedOf.get(parent.hash)!);
    return {
      number,
      hash,
      parentHash: parent.hash,
      header,
      extrinsics,
      state: produced.state,
      storage,
      candidateEvents: produced.events,
      bitfieldVotes: produced.bitfields.map((b) => b.payload),
      timestamp,
    };
  }

  #timestampExtrinsic(timestamp: number): Hex {
    const pallet = this.encoder.metadata.palletsByName.get('Timestamp')!;
    const set = this.encoder.variant(pallet.callType!, 'set');
    const call = u8aConcat(
      Uint8Array.of(pallet.index, set.index),
      this.encoder.encode('Compact<u64>', timestamp),
    );
    return u8aToHex(this.encoder.encode('Bytes', u8aConcat(Uint8Array.of(0x04), call))) as Hex;
  }

  #inherentExtrinsic(parent: DevnetBlock, produced: ProducedBlock): Hex {
    const { palletIndex, callIndex, dataType } = this.encoder.paraInherentCall();
    const data = {
      bitfields: produced.bitfields.map((b) => ({
        payload: b.payload,
        validatorIndex: b.validatorIndex,
        signature: b.signature,
      })),
      backedCandidates: produced.backed.map((candidate) => ({
        candidate: {
          descriptor: candidate.descriptor,
          commitments: this.runtime.commitmentsValue(candidate.inherentCommitments ?? candidate.commitments),
        },
        validityVotes: [{ Explicit: new Uint8Array(64).fill(1) }, { Explicit: new Uint8Array(64).fill(2) }],
        validatorIndices: bitvec([true, true, false]),
      })),
      disputes: [],
      parentHeader: parent.header,
    };
    const call = u8aConcat(Uint8Array.of(palletIndex, callIndex), this.encoder.encodeType(dataType, data));
    return u8aToHex(this.encoder.encode('Bytes', u8aConcat(Uint8Array.of(0x04), call))) as Hex;
  }

  /**
   * `System.Events`: ExtrinsicSuccess for the timestamp; the inherent's events, disputes concluded
   * first (the runtime processes them before availability and backing), then the candidate events;
   * ExtrinsicSuccess for the inherent.
   */
  #eventsValue(events: readonly CandidateEventRecord[], disputed: readonly Candidate[]): Uint8Array {
    const records: Uint8Array[] = [this.#keys.extrinsicSuccess(0)];
    for (const candidate of disputed) records.push(this.#keys.disputeConcludedRecord(candidate));
    for (const event of events) records.push(this.#keys.candidateEventRecord(event));
    records.push(this.#keys.extrinsicSuccess(1));
    return u8aConcat(this.encoder.encode('Compact<u32>', records.length), ...records);
  }

  /** Encodes a candidate receipt (descriptor + commitments hash) as this runtime does. */
  receiptBytes(candidate: Candidate): Uint8Array {
    return this.#keys.receipt(candidate);
  }

  committedReceiptBytes(candidate: Candidate): Uint8Array {
    const { committedReceipt } = this.encoder.receiptTypes();
    return this.encoder.encodeType(committedReceipt, {
      descriptor: candidate.descriptor,
      commitments: this.runtime.commitmentsValue(candidate.commitments),
    });
  }

  channelContentsBytes(channel: Channel | undefined): Uint8Array {
    return this.#keys.contents(channel);
  }
}

async function assembleGenesis(
  config: DevnetConfig,
  encoder: DevnetEncoder,
  runtime: RelayRuntimeModel,
): Promise<DevnetBlock> {
  const keys = new StorageKeys(encoder, runtime);
  const state = runtime.genesis();
  const storage = new Map<string, Hex>();
  for (const channel of state.channels.values()) keys.writeChannel(storage, channel);
  // Channels may reach paras that back no candidates (receivers only): they have indexes too.
  const channelParas = config.channels.flat();
  for (const para of new Set([...config.paras, ...channelParas]))
    keys.writeParaIndexes(storage, para, runtime.ingress(state, para), runtime.egress(state, para));
  for (const para of config.paras) keys.writePara(storage, para, state);
  keys.writeActiveConfig(storage, config);
  // The seed makes devnets with different seeds different chains, as genesis hashes are.
  storage.set(keys.systemNumber, u8aToHex(u32(0)) as Hex);
  storage.set(keys.systemParentHash, u8aToHex(blake2AsU8a(u32(config.seed), 256)) as Hex);
  // `:code`: a node keeps the runtime's wasm here and chainHead clients tell runtimes apart by its
  // hash. The devnet runs no wasm; a placeholder naming the runtime stands in for it.
  const { specName, specVersion } = encoder.version;
  storage.set(
    CODE_KEY,
    u8aToHex(new TextEncoder().encode(`devnet runtime ${specName} ${specVersion}`)) as Hex,
  );
  const header: HeaderJson = {
    parentHash: u8aToHex(new Uint8Array(32)) as Hex,
    number: '0x0',
    stateRoot: await stateRoot(storage),
    extrinsicsRoot: u8aToHex(blake2AsU8a(new Uint8Array(), 256)) as Hex,
    digest: { logs: [] },
  };
  return {
    number: 0,
    hash: headerHash(encoder, header),
    parentHash: header.parentHash,
    header,
    extrinsics: [],
    state,
    storage,
    candidateEvents: [],
    bitfieldVotes: [],
    timestamp: 0,
  };
}

function headerHash(encoder: DevnetEncoder, header: HeaderJson): Hex {
  return u8aToHex(blake2AsU8a(encoder.encode('Header', header), 256)) as Hex;
}

/** Storage keys and values, encoded through the metadata. */
class StorageKeys {
  readonly systemEvents: string;
  readonly systemNumber: string;
  readonly systemParentHash: string;
  readonly timestampNow: string;
  readonly #encoder: DevnetEncoder;
  readonly #pendingV1: boolean;
  readonly #validators: number;
  readonly #commitmentsValue: (commitments: Candidate['commitments']) => Record<string, unknown>;

  constructor(encoder: DevnetEncoder, runtime: RelayRuntimeModel) {
    this.#encoder = encoder;
    this.#commitmentsValue = (commitments) => runtime.commitmentsValue(commitments);
    this.#validators = runtime.config.validators;
    this.systemEvents = encoder.storageKey('System', 'Events');
    this.systemNumber = encoder.storageKey('System', 'Number');
    this.systemParentHash = encoder.storageKey('System', 'ParentHash');
    this.timestampNow = encoder.storageKey('Timestamp', 'Now');
    this.#pendingV1 = encoder.hasStorage('ParaInclusion', 'V1');
  }

  #value(pallet: string, item: string, value: unknown): Hex {
    return u8aToHex(
      this.#encoder.encodeType(this.#encoder.storageEntry(pallet, item).valueType, value),
    ) as Hex;
  }

  writeChannel(storage: Map<string, Hex>, channel: Channel): void {
    const id = u8aConcat(u32(channel.sender), u32(channel.recipient));
    storage.set(
      this.#encoder.storageKey('Hrmp', 'HrmpChannels', id),
      this.#value('Hrmp', 'HrmpChannels', {
        maxCapacity: channel.maxCapacity,
        maxTotalSize: channel.maxTotalSize,
        maxMessageSize: channel.maxMessageSize,
        msgCount: channel.msgCount,
        totalSize: channel.totalSize,
        mqcHead: channel.mqcHead,
        senderDeposit: 0,
        recipientDeposit: 0,
      }),
    );
    storage.set(
      this.#encoder.storageKey('Hrmp', 'HrmpChannelContents', id),
      u8aToHex(this.contents(channel)) as Hex,
    );
  }

  contents(channel: Channel | undefined): Uint8Array {
    return this.#encoder.encodeType(
      this.#encoder.storageEntry('Hrmp', 'HrmpChannelContents').valueType,
      (channel?.contents ?? []).map((m) => ({ sentAt: m.sentAt, data: u8aToHex(m.data) })),
    );
  }

  /**
   * `Configuration::ActiveConfig`: the runtime's type, zero but for the periods the sidecar reads
   * (in `scheduler_params` where the runtime has it, else at the top level).
   */
  writeActiveConfig(storage: Map<string, Hex>, config: DevnetConfig): void {
    const entry = this.#encoder.storageEntry('Configuration', 'ActiveConfig');
    const periods = {
      groupRotationFrequency: config.groupRotationFrequency,
      parasAvailabilityPeriod: config.parasAvailabilityPeriod,
    };
    const nested = this.#encoder.fieldNames(entry.valueType).includes('scheduler_params');
    const value = nested ? { schedulerParams: periods } : periods;
    storage.set(
      this.#encoder.storageKey('Configuration', 'ActiveConfig'),
      u8aToHex(this.#encoder.encodeType(entry.valueType, value)) as Hex,
    );
  }

  writeParaIndexes(storage: Map<string, Hex>, para: number, ingress: number[], egress: number[]): void {
    storage.set(
      this.#encoder.storageKey('Hrmp', 'HrmpIngressChannelsIndex', u32(para)),
      this.#value('Hrmp', 'HrmpIngressChannelsIndex', ingress),
    );
    storage.set(
      this.#encoder.storageKey('Hrmp', 'HrmpEgressChannelsIndex', u32(para)),
      this.#value('Hrmp', 'HrmpEgressChannelsIndex', egress),
    );
  }

  writePara(storage: Map<string, Hex>, para: number, state: RuntimeState): void {
    const key = u32(para);
    storage.set(
      this.#encoder.storageKey('Hrmp', 'HrmpWatermarks', key),
      this.#value('Hrmp', 'HrmpWatermarks', state.watermarks.get(para) ?? 0),
    );
    storage.set(
      this.#encoder.storageKey('Hrmp', 'HrmpChannelDigests', key),
      this.#value(
        'Hrmp',
        'HrmpChannelDigests',
        (state.digests.get(para) ?? []).map(([block, senders]) => [block, senders]),
      ),
    );
    const head = state.paraHeads.get(para);
    if (head)
      storage.set(
        this.#encoder.storageKey('Paras', 'Heads', key),
        this.#value('Paras', 'Heads', u8aToHex(head)),
      );
    const pending = state.pending.get(para);
    const availability = {
      availabilityVotes: bitvec(new Array<boolean>(this.#validators).fill(false)),
      backers: bitvec([true, true, false]),
    };
    if (this.#pendingV1) {
      const k = this.#encoder.storageKey('ParaInclusion', 'V1', key);
      if (!pending) storage.delete(k);
      else {
        storage.set(
          k,
          this.#value('ParaInclusion', 'V1', [
            {
              core: pending.coreIndex,
              hash: pending.candidateHash,
              descriptor: pending.descriptor,
              commitments: this.#commitments(pending),
              ...availability,
              relayParentNumber: pending.relayParentNumber,
              backedInNumber: pending.backedIn,
              backingGroup: pending.groupIndex,
            },
          ]),
        );
      }
      return;
    }
    const k1 = this.#encoder.storageKey('ParaInclusion', 'PendingAvailability', key);
    const k2 = this.#encoder.storageKey('ParaInclusion', 'PendingAvailabilityCommitments', key);
    if (!pending) {
      storage.delete(k1);
      storage.delete(k2);
      return;
    }
    storage.set(
      k1,
      this.#value('ParaInclusion', 'PendingAvailability', {
        core: pending.coreIndex,
        hash: pending.candidateHash,
        descriptor: pending.descriptor,
        ...availability,
        relayParentNumber: pending.relayParentNumber,
        backedInNumber: pending.backedIn,
        backingGroup: pending.groupIndex,
      }),
    );
    storage.set(
      k2,
      this.#value('ParaInclusion', 'PendingAvailabilityCommitments', this.#commitments(pending)),
    );
  }

  #commitments(candidate: Candidate): Record<string, unknown> {
    return this.#commitmentsValue(candidate.commitments);
  }

  receipt(candidate: Candidate): Uint8Array {
    const backed = this.#candidateEventVariant('CandidateBacked');
    return this.#encoder.encodeType(backed.fields[0]!.type, {
      descriptor: candidate.descriptor,
      commitmentsHash: candidate.commitmentsHash,
    });
  }

  #candidateEventVariant(name: string) {
    const pallet = this.#encoder.metadata.palletsByName.get('ParaInclusion')!;
    return this.#encoder.variant(pallet.eventType!, name);
  }

  #runtimeEventType(): number {
    const events = this.#encoder.storageEntry('System', 'Events');
    const def = this.#encoder.metadata.types[events.valueType]!.def;
    if (!('sequence' in def)) throw new Error('devnet: System.Events is not a Vec');
    return def.sequence.type;
  }

  #record(phase: number, pallet: string, variantName: string, fields: readonly unknown[]): Uint8Array {
    const recordType = this.#runtimeEventType();
    const phaseType = this.#encoder.fieldType(recordType, 'phase');
    const eventType = this.#encoder.fieldType(recordType, 'event');
    const palletVariant = this.#encoder.variant(eventType, pallet);
    const palletEventType = palletVariant.fields[0]!.type;
    const variant = this.#encoder.variant(palletEventType, variantName);
    return u8aConcat(
      this.#encoder.encodeType(phaseType, { ApplyExtrinsic: phase }),
      Uint8Array.of(palletVariant.index, variant.index),
      ...variant.fields.map((field, i) => this.#encoder.encodeType(field.type, fields[i])),
      Uint8Array.of(0), // no topics
    );
  }

  extrinsicSuccess(extrinsicIndex: number): Uint8Array {
    return this.#record(extrinsicIndex, 'System', 'ExtrinsicSuccess', [
      { weight: { refTime: 1_000_000, proofSize: 1_000 }, class: 'Mandatory', paysFee: 'Yes' },
    ]);
  }

  /** `ParasDisputes.DisputeConcluded(candidate_hash, Invalid)`. */
  disputeConcludedRecord(candidate: Candidate): Uint8Array {
    return this.#record(1, 'ParasDisputes', 'DisputeConcluded', [
      u8aToHex(candidate.candidateHash),
      'Invalid',
    ]);
  }

  candidateEventRecord(event: CandidateEventRecord): Uint8Array {
    const c = event.candidate;
    const receipt = { descriptor: c.descriptor, commitmentsHash: c.commitmentsHash };
    const fields =
      event.kind === 'CandidateTimedOut'
        ? [receipt, u8aToHex(c.commitments.headData), c.coreIndex]
        : [receipt, u8aToHex(c.commitments.headData), c.coreIndex, c.groupIndex];
    return this.#record(1, 'ParaInclusion', event.kind, fields);
  }
}

export { channelKey };
