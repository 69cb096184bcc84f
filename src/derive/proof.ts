/**
 * Channels proven from relay state (DESIGN.md §9): a read proof (trie nodes) decoded against a
 * state root with Substrate's own trie (compiled to wasm in @acala-network/chopsticks-executor),
 * then each `Hrmp::HrmpChannels` value decoded with the layout §9 fixes. Pure: no I/O.
 */
import { fromHex, type Hex, readU32, ScaleError, toHex } from '../protocol/bytes.ts';
import { type ChainChannel, hrmpChannelsKey } from './storage.ts';

/** A channel's `HrmpChannels` value as proven, with its id. */
export interface ProvenChannel extends ChainChannel {
  readonly sender: number;
  readonly recipient: number;
}

/** Why a channel is not proven: the proof does not reach it, or does not hang off the root. */
export class ProofError extends Error {
  override readonly name = 'ProofError';
}

/**
 * `HrmpChannel { max_capacity, max_total_size, max_message_size, msg_count, total_size: u32,
 * mqc_head: Option<H256>, sender_deposit, recipient_deposit: u128 }`.
 */
export function decodeHrmpChannel(sender: number, recipient: number, value: Uint8Array): ProvenChannel {
  const withHead = value[20] === 1;
  const size = 20 + 1 + (withHead ? 32 : 0) + 32;
  if (value.length !== size || (value[20] !== 0 && value[20] !== 1))
    throw new ScaleError(
      `HrmpChannels(${sender}, ${recipient}) is ${value.length} bytes, not an HrmpChannel`,
    );
  return {
    sender,
    recipient,
    maxCapacity: readU32(value, 0),
    maxTotalSize: readU32(value, 4),
    maxMessageSize: readU32(value, 8),
    msgCount: readU32(value, 12),
    totalSize: readU32(value, 16),
    mqcHead: withHead ? toHex(value.subarray(21, 53)) : null,
  };
}

/** Every key/value the proof proves under `stateRoot` (empty when nothing hangs off that root). */
export async function provenEntries(stateRoot: Hex, nodes: readonly Hex[]): Promise<Map<Hex, Hex>> {
  // Loaded on first use: the trie's wasm costs ~40 MB of memory a sidecar that proves nothing needs not hold.
  const { decode_proof } = await import('@acala-network/chopsticks-executor');
  let entries: unknown;
  try {
    entries = await decode_proof(stateRoot, [...nodes]);
  } catch {
    return new Map();
  }
  const map = new Map<Hex, Hex>();
  if (!Array.isArray(entries)) return map;
  for (const entry of entries) {
    const [key, value] = entry as [string, string | null];
    if (typeof value === 'string') map.set(key.toLowerCase() as Hex, value.toLowerCase() as Hex);
  }
  return map;
}

/** The channel `sender → recipient` as the proof proves it under `stateRoot`, or a ProofError. */
export async function proveChannel(
  stateRoot: Hex,
  nodes: readonly Hex[],
  sender: number,
  recipient: number,
): Promise<ProvenChannel> {
  const entries = await provenEntries(stateRoot, nodes);
  if (entries.size === 0) throw new ProofError(`the proof proves nothing under the state root ${stateRoot}`);
  const value = entries.get(hrmpChannelsKey(sender, recipient));
  if (value === undefined)
    throw new ProofError(
      `the proof does not prove Hrmp::HrmpChannels(${sender}, ${recipient}) under ${stateRoot}`,
    );
  return decodeHrmpChannel(sender, recipient, fromHex(value, 'HrmpChannels value'));
}
