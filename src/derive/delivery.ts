/**
 * The receiving side (DESIGN.md §14): what a receiving para block must report once it consumed its
 * inbound HRMP up to its watermark. Cumulus' `setValidationData` extends a running MQC head per
 * sender with every message it consumes and asserts, for each inbound channel, that the result
 * equals the channel's head on the relay chain at the block's relay parent; the para then stores
 * those heads as `ParachainSystem::LastHrmpMqcHeads`. The sidecar knows every channel's head after
 * each verified message, so it can say what those heads must be, and whether a para node's answer
 * agrees. Pure.
 */
import type { Hex } from '../protocol/bytes.ts';

/** A verified message as the store keeps it: enough to know its channel's head after it. */
export interface ConsumedMessage {
  readonly sender: number;
  readonly sentAt: number;
  readonly index: number;
  readonly mqcHeadAfter: Hex;
  readonly verified: boolean;
}

/**
 * Per sender, the MQC head after the last verified message sent at or before `watermark`: what the
 * receiver's `LastHrmpMqcHeads` must hold for that sender once it consumed up to `watermark`.
 * Senders without such a message are not in the result (their head is whatever came before the
 * sidecar's history, or zero).
 */
export function expectedMqcHeads(messages: readonly ConsumedMessage[], watermark: number): Map<number, Hex> {
  const last = new Map<number, ConsumedMessage>();
  for (const message of messages) {
    if (!message.verified || message.sentAt > watermark) continue;
    const seen = last.get(message.sender);
    if (
      !seen ||
      message.sentAt > seen.sentAt ||
      (message.sentAt === seen.sentAt && message.index > seen.index)
    )
      last.set(message.sender, message);
  }
  return new Map([...last].map(([sender, message]) => [sender, message.mqcHeadAfter]));
}

/** Where a para node's reported heads differ from the expected ones (senders it omits included). */
export function mqcHeadMismatches(
  reported: ReadonlyMap<number, Hex>,
  expected: ReadonlyMap<number, Hex>,
): { sender: number; reported: Hex | null; expected: Hex }[] {
  const mismatches: { sender: number; reported: Hex | null; expected: Hex }[] = [];
  for (const [sender, head] of expected) {
    const said = reported.get(sender) ?? null;
    if (said !== head) mismatches.push({ sender, reported: said, expected: head });
  }
  return mismatches;
}
