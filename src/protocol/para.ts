/**
 * What the sidecar reads from a parachain's own node (DESIGN.md §13): cumulus storage keys and
 * values, and the candidate head data a cumulus para block becomes. Pure.
 */
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { fromHex, type Hex, readCompactNumber, readU32, ScaleError, toHex } from './bytes.ts';
import { decodeHorizontalMessages, type OutboundHrmpMessage } from './commitments.ts';
import { blake2_256 } from './hash.ts';

function storageValueKey(pallet: string, item: string): Hex {
  const key = new Uint8Array(32);
  key.set(xxhashAsU8a(pallet, 128), 0);
  key.set(xxhashAsU8a(item, 128), 16);
  return toHex(key);
}

/** `ParachainInfo::ParachainId` (u32): present on every cumulus chain, absent on relay and solo chains. */
export const PARACHAIN_ID_KEY: Hex = storageValueKey('ParachainInfo', 'ParachainId');
/**
 * `ParachainSystem::HrmpOutboundMessages`: written in `on_finalize`, cleared by the next block's
 * `on_initialize`, so the state at block N holds exactly N's outgoing messages, sorted by recipient.
 */
export const HRMP_OUTBOUND_MESSAGES_KEY: Hex = storageValueKey('ParachainSystem', 'HrmpOutboundMessages');

/**
 * `ParachainSystem::LastRelayChainBlockNumber` (u32): set by the block's validation-data inherent,
 * so the state at block N holds the number of N's relay parent.
 */
export const LAST_RELAY_CHAIN_BLOCK_NUMBER_KEY: Hex = storageValueKey(
  'ParachainSystem',
  'LastRelayChainBlockNumber',
);

/** A para block's relay parent number; null when the node does not say (not a cumulus chain). */
export function decodeRelayParentNumber(value: Hex | null): number | null {
  return value === null ? null : decodeU32Value(value, 'ParachainSystem::LastRelayChainBlockNumber');
}

/** `ParachainSystem::HrmpWatermark` (u32): the relay block up to which the para consumed inbound HRMP. */
export const HRMP_WATERMARK_KEY: Hex = storageValueKey('ParachainSystem', 'HrmpWatermark');
/**
 * `ParachainSystem::LastHrmpMqcHeads` (`BTreeMap<ParaId, MessageQueueChain>`): per sender, the MQC
 * head of what the para consumed; cumulus asserts it equals the relay channel's head at the relay parent.
 */
export const LAST_HRMP_MQC_HEADS_KEY: Hex = storageValueKey('ParachainSystem', 'LastHrmpMqcHeads');

export function decodeU32Value(value: Hex, what: string): number {
  const bytes = fromHex(value, what);
  if (bytes.length !== 4) throw new ScaleError(`${what} must be a u32, got ${bytes.length} bytes`);
  return readU32(bytes, 0);
}

/** `LastHrmpMqcHeads`: sender → head; an absent value (null) is none. */
export function decodeMqcHeads(value: Hex | null): Map<number, Hex> {
  const heads = new Map<number, Hex>();
  if (value === null) return heads;
  const bytes = fromHex(value, 'LastHrmpMqcHeads');
  const [count, start] = readCompactNumber(bytes, 0);
  if (start + count * 36 !== bytes.length)
    throw new ScaleError(
      `LastHrmpMqcHeads: ${count} entries need ${count * 36} bytes after the length, got ${bytes.length - start}`,
    );
  for (let i = 0, pos = start; i < count; i++, pos += 36)
    heads.set(readU32(bytes, pos), toHex(bytes.subarray(pos + 4, pos + 36)));
  return heads;
}

export function decodeParaId(value: Hex): number {
  return decodeU32Value(value, 'ParachainInfo::ParachainId');
}

/** The outgoing messages of a para block; an absent value (null) is none. */
export function decodeOutboundMessages(value: Hex | null): OutboundHrmpMessage[] {
  if (value === null) return [];
  const bytes = fromHex(value, 'HrmpOutboundMessages');
  const [messages, end] = decodeHorizontalMessages(bytes, 0, 'HrmpOutboundMessages');
  if (end !== bytes.length)
    throw new ScaleError(
      `HrmpOutboundMessages: ${bytes.length - end} bytes left after ${messages.length} messages`,
    );
  return messages;
}

/** A para block as its candidate carries it: cumulus head data is the SCALE header. */
export interface ParaHead {
  /** `blake2_256(head_data)`: the descriptor's `para_head`, the para block's hash. */
  readonly hash: Hex;
  readonly number: number;
  readonly parentHash: Hex;
  /** The header's state root: what the para block's storage proves against once the relay chain includes it. */
  readonly stateRoot: Hex;
}

/**
 * The para block a candidate's head data names, or null when the head data is not a header
 * (a chain that is not built with cumulus): parent hash (32 bytes), the compact number, the state root.
 */
export function paraHeadOf(headData: Uint8Array): ParaHead | null {
  if (headData.length < 33) return null;
  try {
    const [number, rootAt] = readCompactNumber(headData, 32);
    if (number > 0xffffffff || rootAt + 32 > headData.length) return null;
    return {
      hash: toHex(blake2_256(headData)),
      number,
      parentHash: toHex(headData.subarray(0, 32)),
      stateRoot: toHex(headData.subarray(rootAt, rootAt + 32)),
    };
  } catch {
    return null;
  }
}
