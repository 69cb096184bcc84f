/**
 * Relay storage the sidecar reads (DESIGN.md §2): key construction and value decoding through the
 * runtime metadata. Pure: callers fetch the bytes.
 */
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import {
  fromHex,
  type Hex,
  readCompactNumber,
  readU32,
  ScaleError,
  toHex,
  u32le,
} from '../protocol/bytes.ts';
import { fieldWalker } from '../protocol/codec.ts';
import { commitmentsHash } from '../protocol/commitments.ts';
import { candidateHash as hashCandidate } from '../protocol/hash.ts';
import { fieldsOf, type RuntimeMetadata, typeById } from '../protocol/metadata.ts';
import { fieldBoundaries } from './inherent.ts';
import { relayLayout, unwrapNewtype } from './layout.ts';

function prefix(pallet: string, item: string): Uint8Array {
  return u8aConcat(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128));
}

const HRMP_CHANNELS = prefix('Hrmp', 'HrmpChannels');
/** Channel keys are asked for every block: hash each channel once (bounded; evicted oldest first). */
const channelKeys = new Map<string, Hex>();
const CHANNEL_KEYS_KEPT = 65_536;

function twox64Concat(key: Uint8Array): Uint8Array {
  return u8aConcat(xxhashAsU8a(key, 64), key);
}

export const HRMP_CHANNELS_PREFIX: Hex = u8aToHex(HRMP_CHANNELS) as Hex;

export function channelIdBytes(sender: number, recipient: number): Uint8Array {
  return u8aConcat(u32le(sender), u32le(recipient));
}

export function hrmpChannelsKey(sender: number, recipient: number): Hex {
  const id = `${sender}>${recipient}`;
  let key = channelKeys.get(id);
  if (key === undefined) {
    key = u8aToHex(u8aConcat(HRMP_CHANNELS, twox64Concat(channelIdBytes(sender, recipient)))) as Hex;
    if (channelKeys.size >= CHANNEL_KEYS_KEPT) channelKeys.delete(channelKeys.keys().next().value!);
    channelKeys.set(id, key);
  }
  return key;
}

export function hrmpChannelContentsKey(sender: number, recipient: number): Hex {
  return u8aToHex(
    u8aConcat(prefix('Hrmp', 'HrmpChannelContents'), twox64Concat(channelIdBytes(sender, recipient))),
  ) as Hex;
}

/** `Hrmp::HrmpIngressChannelsIndex(recipient)`: the senders of every open inbound channel, sorted. */
export function hrmpIngressIndexKey(recipient: number): Hex {
  return u8aToHex(
    u8aConcat(prefix('Hrmp', 'HrmpIngressChannelsIndex'), twox64Concat(u32le(recipient))),
  ) as Hex;
}

/** A SCALE `Vec<u32>` (the ingress index value). */
export function decodeParaIds(value: Uint8Array): number[] {
  const [count, start] = readCompactNumber(value, 0);
  if (value.length !== start + count * 4) throw new ScaleError(`not a Vec<u32> of ${count} para ids`);
  return Array.from({ length: count }, (_, i) => readU32(value, start + i * 4));
}

export const HRMP_WATERMARKS_PREFIX: Hex = u8aToHex(prefix('Hrmp', 'HrmpWatermarks')) as Hex;

/** `Configuration::ActiveConfig`, the host configuration in force (a plain value). */
export const ACTIVE_CONFIG_KEY: Hex = u8aToHex(prefix('Configuration', 'ActiveConfig')) as Hex;

/**
 * From the active host configuration: the blocks after its backing by which the runtime has
 * enacted a candidate or timed it out. The runtime times out a pending candidate only across a group
 * rotation boundary, `paras_availability_period` blocks after the rotation that follows its backing
 * (polkadot-sdk `scheduler::availability_timeout_predicate`), so `group_rotation_frequency +
 * paras_availability_period` bounds it. Both live in `scheduler_params` on newer runtimes, at the
 * top level on older ones. Null when the configuration has neither.
 */
export function decodeAvailabilityTimeout(metadata: RuntimeMetadata, value: Uint8Array): number | null {
  const type = metadata.palletsByName.get('Configuration')?.storage.get('ActiveConfig')?.valueType;
  if (type === undefined) return null;
  type Periods = { groupRotationFrequency?: number; parasAvailabilityPeriod?: number };
  const config = relayLayout(metadata).codecs.decodeAll(type, value) as Periods & {
    schedulerParams?: Periods;
  };
  const periods = config.schedulerParams ?? config;
  const { groupRotationFrequency, parasAvailabilityPeriod } = periods;
  if (typeof groupRotationFrequency !== 'number' || typeof parasAvailabilityPeriod !== 'number') return null;
  return groupRotationFrequency + parasAvailabilityPeriod;
}

export function hrmpWatermarkKey(para: number): Hex {
  return u8aToHex(u8aConcat(prefix('Hrmp', 'HrmpWatermarks'), twox64Concat(u32le(para)))) as Hex;
}

/** The channel id encoded at the end of an `HrmpChannels` key (Twox64Concat keeps it in clear). */
export function channelIdFromKey(key: string): { sender: number; recipient: number } {
  const bytes = fromHex(key, 'storage key');
  if (bytes.length !== 32 + 8 + 8) throw new ScaleError(`not an HrmpChannels key: ${key}`);
  return { sender: readU32(bytes, 40), recipient: readU32(bytes, 44) };
}

export interface ChainChannel {
  readonly maxCapacity: number;
  readonly maxTotalSize: number;
  readonly maxMessageSize: number;
  readonly msgCount: number;
  readonly totalSize: number;
  readonly mqcHead: Hex | null;
}

export function decodeChannel(metadata: RuntimeMetadata, value: Uint8Array): ChainChannel {
  const type = metadata.palletsByName.get('Hrmp')?.storage.get('HrmpChannels')?.valueType;
  if (type === undefined) throw new ScaleError('the runtime has no Hrmp.HrmpChannels');
  const decoded = relayLayout(metadata).codecs.decodeAll(type, value) as unknown as ChainChannel;
  return {
    maxCapacity: decoded.maxCapacity,
    maxTotalSize: decoded.maxTotalSize,
    maxMessageSize: decoded.maxMessageSize,
    msgCount: decoded.msgCount,
    totalSize: decoded.totalSize,
    mqcHead: decoded.mqcHead,
  };
}

export interface InboundMessage {
  readonly sentAt: number;
  readonly data: Uint8Array;
}

export function decodeChannelContents(metadata: RuntimeMetadata, value: Uint8Array): InboundMessage[] {
  const type = metadata.palletsByName.get('Hrmp')?.storage.get('HrmpChannelContents')?.valueType;
  if (type === undefined) throw new ScaleError('the runtime has no Hrmp.HrmpChannelContents');
  const decoded = relayLayout(metadata).codecs.decodeAll(type, value) as unknown as {
    sentAt: number;
    data: Hex;
  }[];
  return decoded.map((m) => ({ sentAt: m.sentAt, data: fromHex(m.data) }));
}

/** Where pending availability lives in this runtime (item names differ across versions, §2). */
export type PendingLayout =
  | { readonly kind: 'v1'; readonly prefix: Hex }
  | { readonly kind: 'split'; readonly prefix: Hex; readonly commitmentsPrefix: Hex };

export function pendingLayout(metadata: RuntimeMetadata): PendingLayout {
  const storage = metadata.palletsByName.get('ParaInclusion')?.storage;
  if (storage?.has('V1')) return { kind: 'v1', prefix: u8aToHex(prefix('ParaInclusion', 'V1')) as Hex };
  if (storage?.has('PendingAvailability') && storage.has('PendingAvailabilityCommitments')) {
    return {
      kind: 'split',
      prefix: u8aToHex(prefix('ParaInclusion', 'PendingAvailability')) as Hex,
      commitmentsPrefix: u8aToHex(prefix('ParaInclusion', 'PendingAvailabilityCommitments')) as Hex,
    };
  }
  throw new ScaleError('the runtime has no pending-availability storage this build knows');
}

export function paraFromMapKey(key: string): number {
  const bytes = fromHex(key, 'storage key');
  return readU32(bytes, bytes.length - 4);
}

export function paraMapKey(mapPrefix: Hex, para: number): Hex {
  return u8aToHex(u8aConcat(fromHex(mapPrefix), twox64Concat(u32le(para)))) as Hex;
}

export interface PendingCandidate {
  readonly paraId: number;
  /** The hash the runtime stored. */
  readonly candidateHash: Hex;
  readonly descriptor: Uint8Array;
  readonly commitments: Uint8Array;
  readonly commitmentsHash: Hex;
  /** True when blake2(descriptor ‖ blake2(commitments)) equals the stored hash. */
  readonly hashMatches: boolean;
  readonly coreIndex: number;
  readonly backedIn: number;
  readonly relayParentNumber: number;
}

function pendingType(metadata: RuntimeMetadata, item: string): number {
  const type = metadata.palletsByName.get('ParaInclusion')?.storage.get(item)?.valueType;
  if (type === undefined) throw new ScaleError(`the runtime has no ParaInclusion.${item}`);
  return type;
}

/**
 * Decodes pending-availability entries. `v1`: the value is a Vec of records with commitments;
 * `split`: one record per para plus its commitments from the second map.
 */
export function decodePendingAvailability(
  metadata: RuntimeMetadata,
  value: Uint8Array,
  splitCommitments: Uint8Array | null = null,
): PendingCandidate[] {
  const layout = relayLayout(metadata);
  const v1 = metadata.palletsByName.get('ParaInclusion')?.storage.has('V1') ?? false;
  const valueType = pendingType(metadata, v1 ? 'V1' : 'PendingAvailability');
  const seq = typeById(metadata, unwrapNewtype(metadata, valueType)).def;
  const recordType = v1 && 'sequence' in seq ? seq.sequence.type : valueType;
  const walker = fieldWalker(layout.codecs, fieldsOf(metadata, recordType), 'CandidatePendingAvailability');
  const records: PendingCandidate[] = [];
  let offset = 0;
  let count = 1;
  if (v1) {
    [count, offset] = readCompactNumber(value, 0);
  }
  const at = (name: string) => walker.indexOf(name);
  for (let i = 0; i < count; i++) {
    const bounds = fieldBoundaries(walker, value, offset);
    const slice = (name: string) => value.subarray(bounds[at(name)]!, bounds[at(name) + 1]!);
    const descriptor = slice('descriptor');
    const commitments = v1 ? slice('commitments') : splitCommitments;
    if (!commitments) throw new ScaleError('pending candidate without commitments');
    const ownCommitmentsHash = commitmentsHash(commitments);
    const storedHash = toHex(slice('hash'));
    records.push({
      paraId: readU32(descriptor, 0),
      candidateHash: storedHash,
      descriptor,
      commitments,
      commitmentsHash: toHex(ownCommitmentsHash),
      hashMatches: toHex(hashCandidate(descriptor, ownCommitmentsHash)) === storedHash,
      coreIndex: readU32(slice('core'), 0),
      backedIn: readU32(slice('backed_in_number'), 0),
      relayParentNumber: readU32(slice('relay_parent_number'), 0),
    });
    offset = bounds[bounds.length - 1]!;
  }
  if (offset !== value.length)
    throw new ScaleError(`pending availability decoded ${offset} of ${value.length} bytes`);
  return records;
}
