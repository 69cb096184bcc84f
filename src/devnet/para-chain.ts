/**
 * A parachain's node in the devnet (DESIGN.md §13): a simulated cumulus node of one para, its blocks,
 * storage and encodings those of a real cumulus runtime's metadata (Polkadot Asset Hub). Its blocks
 * are the candidates the relay runtime backs: a para block's SCALE header is the candidate's head
 * data (so the backed descriptor's `para_head` is the block's hash), and its
 * `ParachainSystem::HrmpOutboundMessages` are the candidate's horizontal messages.
 */
import { EventEmitter } from 'node:events';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { repointCanonical } from './canonical.ts';
import type { HeaderJson, Hex } from './chain.ts';
import type { DevnetEncoder } from './encoder.ts';
import {
  type ConsumedHrmp,
  type ExecutionFaults,
  paraBlockEvents,
  type XcmExecution,
} from './para-events.ts';
import { stateRoot } from './trie.ts';

export interface OutboundMessage {
  readonly recipient: number;
  readonly data: Uint8Array;
}

export interface ParaBlock {
  readonly paraId: number;
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly header: HeaderJson;
  /** SCALE header: the head data of the candidate that carries this block. */
  readonly headerBytes: Uint8Array;
  readonly extrinsics: readonly Hex[];
  readonly storage: ReadonlyMap<string, Hex>;
  /** What the block sends (its `HrmpOutboundMessages`), sorted by recipient. */
  readonly messages: readonly OutboundMessage[];
  /** The relay block it was built on. */
  readonly relayParent: { readonly number: number; readonly hash: Hex };
  readonly timestamp: number;
  /** What it consumed of its inbound HRMP. */
  readonly inbound: InboundConsumed;
  /** The receiving runtime's verdict on each XCM it consumed (the devnet's truth; its `System::Events` say it). */
  readonly executions: readonly XcmExecution[];
}

export interface ParaChainEvents {
  /** Every imported block, on any fork. */
  block: [ParaBlock];
  /** The best block changed. */
  best: [ParaBlock];
  /** A block became final. */
  finalized: [ParaBlock];
}

/** `:code`: a placeholder naming the runtime (the devnet runs no wasm). */
const CODE_KEY = '0x3a636f6465';

export class DevnetParaChain extends EventEmitter<ParaChainEvents> {
  readonly paraId: number;
  readonly encoder: DevnetEncoder;
  readonly genesis: ParaBlock;
  /** Fault: blocks whose outbound messages this node misreports (a lying or broken para node). */
  readonly lies = new Set<Hex>();
  readonly #blocks = new Map<Hex, ParaBlock>();
  readonly #canonical = new Map<number, Hex>();
  readonly #retain: number;
  readonly #executionFaults: ExecutionFaults;
  #best: ParaBlock;
  #finalized: ParaBlock;

  private constructor(
    paraId: number,
    encoder: DevnetEncoder,
    genesis: ParaBlock,
    retain: number,
    executionFaults: ExecutionFaults,
  ) {
    super();
    this.setMaxListeners(0);
    this.paraId = paraId;
    this.encoder = encoder;
    this.genesis = genesis;
    this.#retain = retain;
    this.#executionFaults = executionFaults;
    this.#blocks.set(genesis.hash, genesis);
    this.#canonical.set(0, genesis.hash);
    this.#best = genesis;
    this.#finalized = genesis;
  }

  static async create(
    paraId: number,
    encoder: DevnetEncoder,
    retain: number,
    executionFaults: ExecutionFaults,
  ): Promise<DevnetParaChain> {
    const relayParent = { number: 0, hash: `0x${'00'.repeat(32)}` as Hex };
    const genesis = await buildParaBlock(encoder, {
      paraId,
      parent: null,
      relayParent,
      messages: [],
      timestamp: 0,
      inbound: NOTHING_CONSUMED,
      executionFaults,
    });
    return new DevnetParaChain(paraId, encoder, genesis, retain, executionFaults);
  }

  get best(): ParaBlock {
    return this.#best;
  }

  get finalized(): ParaBlock {
    return this.#finalized;
  }

  block(hash: string): ParaBlock | undefined {
    return this.#blocks.get(hash.toLowerCase() as Hex);
  }

  /** The block at `number` on the best chain (if retained). */
  blockAt(number: number): ParaBlock | undefined {
    const hash = this.#canonical.get(number);
    return hash ? this.#blocks.get(hash) : undefined;
  }

  /** Builds a block on `parent` (not imported yet). */
  build(
    parent: ParaBlock,
    relayParent: { number: number; hash: Hex },
    messages: readonly OutboundMessage[],
    timestamp: number,
    inbound: InboundConsumed,
  ): Promise<ParaBlock> {
    const executionFaults = this.#executionFaults;
    return buildParaBlock(this.encoder, {
      paraId: this.paraId,
      parent,
      relayParent,
      messages,
      timestamp,
      inbound,
      executionFaults,
    });
  }

  /** Imports a block (announced to `block` subscribers) and makes it the best one. */
  import(block: ParaBlock): void {
    this.#blocks.set(block.hash, block);
    this.emit('block', block);
    this.setBest(block);
  }

  setBest(block: ParaBlock): void {
    if (this.#best.hash === block.hash) return;
    repointCanonical(this.#canonical, this.#blocks, block);
    this.#best = block;
    this.emit('best', block);
    this.#prune();
  }

  /** The block (and every one before it) is final: its candidate was included in a finalized relay block. */
  finalize(hash: Hex): void {
    const block = this.#blocks.get(hash);
    if (!block || block.number <= this.#finalized.number) return;
    const chain: ParaBlock[] = [];
    for (
      let b: ParaBlock | undefined = block;
      b && b.number > this.#finalized.number;
      b = this.#blocks.get(b.parentHash)
    )
      chain.push(b);
    for (const final of chain.reverse()) {
      this.#finalized = final;
      this.emit('finalized', final);
    }
  }

  /** A storage value at `block`, as this node reports it (misreported outbound messages for `lies`). */
  storageValue(key: string, block: ParaBlock): Hex | null {
    if (this.lies.has(block.hash) && key === outboundMessagesKey(this.encoder))
      return outboundMessagesValue(this.encoder, misreported(block.messages));
    return block.storage.get(key) ?? null;
  }

  #prune(): void {
    const oldest = this.#best.number - this.#retain;
    for (const [hash, block] of this.#blocks)
      if (block.number < oldest && block.number > 0) {
        this.#blocks.delete(hash);
        this.lies.delete(hash);
        if (this.#canonical.get(block.number) === hash) this.#canonical.delete(block.number);
      }
  }
}

/** What a lying node says a block sends: its first message's last byte flipped, or one made up. */
function misreported(messages: readonly OutboundMessage[]): OutboundMessage[] {
  if (messages.length === 0) return [{ recipient: 1, data: Uint8Array.of(0, 1, 2, 3) }];
  const [first, ...rest] = messages;
  const data = first!.data.slice();
  data[data.length - 1]! ^= 0xff;
  return [{ recipient: first!.recipient, data }, ...rest];
}

export function outboundMessagesKey(encoder: DevnetEncoder): string {
  return encoder.storageKey('ParachainSystem', 'HrmpOutboundMessages');
}

function outboundMessagesValue(encoder: DevnetEncoder, messages: readonly OutboundMessage[]): Hex {
  const type = encoder.storageEntry('ParachainSystem', 'HrmpOutboundMessages').valueType;
  const value = messages.map((m) => ({ recipient: m.recipient, data: u8aToHex(m.data) }));
  return u8aToHex(encoder.encodeType(type, value)) as Hex;
}

/**
 * What a para block consumed of its inbound HRMP (cumulus' `setValidationData`): every message sent
 * up to its relay parent, so its watermark is the relay parent's number and, for every inbound
 * channel, its running MQC head is the channel's head at the relay parent (zero for none).
 * `messages` are those sent after its parent's watermark, in cumulus' order (sentAt, then sender).
 */
export interface InboundConsumed {
  readonly hrmpWatermark: number;
  readonly mqcHeads: ReadonlyMap<number, Hex>;
  readonly messages: readonly ConsumedHrmp[];
}

const NOTHING_CONSUMED: InboundConsumed = { hrmpWatermark: 0, mqcHeads: new Map(), messages: [] };

interface ParaBlockFacts {
  readonly paraId: number;
  readonly number: number;
  readonly parentHash: Hex;
  readonly messages: readonly OutboundMessage[];
  readonly timestamp: number;
  readonly relayParentNumber: number;
  readonly inbound: InboundConsumed;
  readonly events: Hex;
}

function storageOf(encoder: DevnetEncoder, block: ParaBlockFacts): Map<string, Hex> {
  const { paraId, number, parentHash, messages, timestamp, relayParentNumber, inbound, events } = block;
  const value = (pallet: string, item: string, v: unknown) =>
    u8aToHex(encoder.encodeType(encoder.storageEntry(pallet, item).valueType, v)) as Hex;
  const { specName, specVersion } = encoder.version;
  return new Map<string, Hex>([
    [encoder.storageKey('System', 'Number'), value('System', 'Number', number)],
    [encoder.storageKey('System', 'ParentHash'), parentHash],
    [encoder.storageKey('System', 'Events'), events],
    [encoder.storageKey('ParachainInfo', 'ParachainId'), value('ParachainInfo', 'ParachainId', paraId)],
    [outboundMessagesKey(encoder), outboundMessagesValue(encoder, messages)],
    [
      encoder.storageKey('ParachainSystem', 'LastRelayChainBlockNumber'),
      value('ParachainSystem', 'LastRelayChainBlockNumber', relayParentNumber),
    ],
    [
      encoder.storageKey('ParachainSystem', 'HrmpWatermark'),
      value('ParachainSystem', 'HrmpWatermark', inbound.hrmpWatermark),
    ],
    [
      encoder.storageKey('ParachainSystem', 'LastHrmpMqcHeads'),
      value(
        'ParachainSystem',
        'LastHrmpMqcHeads',
        new Map([...inbound.mqcHeads].sort((a, b) => a[0] - b[0])),
      ),
    ],
    [encoder.storageKey('Timestamp', 'Now'), value('Timestamp', 'Now', timestamp)],
    [CODE_KEY, u8aToHex(new TextEncoder().encode(`devnet para ${paraId} ${specName} ${specVersion}`)) as Hex],
  ]);
}

/** `Timestamp.set`, the one inherent of a devnet para block, as an unsigned (bare) extrinsic. */
function timestampExtrinsic(encoder: DevnetEncoder, timestamp: number): Hex {
  const pallet = encoder.metadata.palletsByName.get('Timestamp')!;
  const set = encoder.variant(pallet.callType!, 'set');
  const call = u8aConcat(Uint8Array.of(pallet.index, set.index), encoder.encode('Compact<u64>', timestamp));
  return u8aToHex(encoder.encode('Bytes', u8aConcat(Uint8Array.of(0x04), call))) as Hex;
}

interface ParaBlockInputs {
  readonly paraId: number;
  readonly parent: ParaBlock | null;
  readonly relayParent: { number: number; hash: Hex };
  readonly messages: readonly OutboundMessage[];
  readonly timestamp: number;
  readonly inbound: InboundConsumed;
  readonly executionFaults: ExecutionFaults;
}

async function buildParaBlock(encoder: DevnetEncoder, inputs: ParaBlockInputs): Promise<ParaBlock> {
  const { paraId, parent, relayParent, timestamp, inbound } = inputs;
  const number = parent ? parent.number + 1 : 0;
  const parentHash = parent?.hash ?? (`0x${'00'.repeat(32)}` as Hex);
  const sorted = [...inputs.messages].sort((a, b) => a.recipient - b.recipient);
  const relayParentNumber = relayParent.number;
  const { value: events, executions } = paraBlockEvents(
    encoder,
    sorted,
    inbound.messages,
    inputs.executionFaults,
  );
  const facts = {
    paraId,
    number,
    parentHash,
    messages: sorted,
    timestamp,
    relayParentNumber,
    inbound,
    events,
  };
  const storage = storageOf(encoder, facts);
  const extrinsics = number === 0 ? [] : [timestampExtrinsic(encoder, timestamp)];
  const header: HeaderJson = {
    parentHash,
    number: `0x${number.toString(16)}`,
    stateRoot: await stateRoot(storage),
    extrinsicsRoot: u8aToHex(blake2AsU8a(u8aConcat(...extrinsics), 256)) as Hex,
    digest: { logs: [] },
  };
  const headerBytes = encoder.encode('Header', header);
  return {
    paraId,
    number,
    hash: u8aToHex(blake2AsU8a(headerBytes, 256)) as Hex,
    parentHash,
    header,
    headerBytes,
    extrinsics,
    storage,
    messages: sorted,
    relayParent,
    timestamp,
    inbound,
    executions,
  };
}
