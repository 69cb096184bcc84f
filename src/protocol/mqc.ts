import { concatBytes, encodeBytes, u32le } from './bytes.ts';
import { blake2_256 } from './hash.ts';

/** The head of a channel that has never carried a message. */
export const ZERO_HEAD: Uint8Array = new Uint8Array(32);

/**
 * Extends a message-queue-chain head with one message:
 * `head' = blake2_256(head ‖ u32_le(sent_at) ‖ blake2_256(SCALE(data)))`.
 * The inner hash covers the compact length prefix of `data` (DESIGN.md §2).
 */
export function extendMqcHead(head: Uint8Array, sentAt: number, data: Uint8Array): Uint8Array {
  return blake2_256(concatBytes([head, u32le(sentAt), blake2_256(encodeBytes(data))]));
}

export interface MqcStep {
  readonly sentAt: number;
  readonly data: Uint8Array;
}

/** Extends `head` with each message in order and returns the final head. */
export function extendMqcHeadWith(head: Uint8Array, messages: Iterable<MqcStep>): Uint8Array {
  let current = head;
  for (const message of messages) current = extendMqcHead(current, message.sentAt, message.data);
  return current;
}
