/**
 * How the chains name one XCM (DESIGN.md §14), so a journey can be followed from the sending block
 * to the receiver's verdict. Checked against polkadot-sdk:
 * - the sender's `XcmpQueue::deliver` deposits `XcmpMessageSent { message_hash }` with
 *   `blake2_256` of the `VersionedXcm` it queues: a trailing `SetTopic` (appended by routers wrapped
 *   in `WithUniqueTopic`) is part of what is hashed;
 * - the receiver's `MessageQueue` starts each message's id as `blake2_256` of the enqueued bytes
 *   (the same encoding), and the XCM executor replaces it with the topic when the runtime's barrier
 *   takes a trailing `SetTopic` as the id (`TrailingSetTopicAsId`, as system parachains do); that id
 *   is what `MessageQueue.Processed { id }` (and `ProcessingFailed`, `OverweightEnqueued`) carry.
 * Pure.
 */
import type { Hex } from './bytes.ts';
import { fromHex, toHex } from './bytes.ts';
import type { DecodedValue } from './codec.ts';
import { blake2_256 } from './hash.ts';
import type { XcmProgram } from './xcmp.ts';

export interface XcmIdentity {
  /** `V2`, `V3`, `V4`, `V5`: the `VersionedXcm` variant. */
  readonly version: string;
  readonly instructions: number;
  /** `blake2_256` of the program's encoding: the sender's `XcmpMessageSent.message_hash`. */
  readonly messageHash: Hex;
  /** The topic of a trailing `SetTopic`, else null. */
  readonly topic: Hex | null;
  /**
   * The id the receiver's `MessageQueue` events carry when its barrier takes a trailing topic as the
   * id (the topic), else `messageHash`. A receiver whose barrier does not is matched by `messageHash`.
   */
  readonly id: Hex;
}

/** The variant name and instructions of a decoded `VersionedXcm`. */
function versionAndInstructions(xcm: DecodedValue): [string, readonly DecodedValue[]] {
  if (xcm === null || typeof xcm !== 'object' || Array.isArray(xcm)) return ['?', []];
  const [version, body] = Object.entries(xcm)[0] ?? ['?', []];
  return [version, Array.isArray(body) ? body : [body as DecodedValue]];
}

/** The 32-byte topic of a `SetTopic` instruction, as the codec decodes it (hex or bytes). */
function topicOf(instruction: DecodedValue): Hex | null {
  if (instruction === null || typeof instruction !== 'object' || Array.isArray(instruction)) return null;
  const entries = Object.entries(instruction);
  if (entries.length !== 1 || entries[0]![0] !== 'SetTopic') return null;
  const value = entries[0]![1];
  if (typeof value === 'string' && /^0x[0-9a-f]{64}$/i.test(value)) return value.toLowerCase() as Hex;
  if (Array.isArray(value) && value.length === 32 && value.every((b) => typeof b === 'number'))
    return toHex(Uint8Array.from(value as number[]));
  return null;
}

export function xcmIdentity(program: XcmProgram): XcmIdentity {
  const [version, instructions] = versionAndInstructions(program.xcm);
  const messageHash = toHex(blake2_256(fromHex(program.encoded, 'XCM program')));
  const last = instructions.at(-1);
  const topic = last === undefined ? null : topicOf(last);
  return { version, instructions: instructions.length, messageHash, topic, id: topic ?? messageHash };
}
