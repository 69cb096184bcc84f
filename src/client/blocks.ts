/** Messages grouped by the block that enacted them, for delivery as one update per block. */
import type { MessageJson } from '../../rpc/schemas.ts';

/** Messages in store order, grouped into one update's worth per block. */
export function groupByBlock(
  messages: readonly MessageJson[],
): { block: { number: number; hash: string }; messages: MessageJson[] }[] {
  const blocks: { block: { number: number; hash: string }; messages: MessageJson[] }[] = [];
  for (const message of messages) {
    const last = blocks[blocks.length - 1];
    if (last && last.block.number === message.sentAt) last.messages.push(message);
    else blocks.push({ block: { number: message.sentAt, hash: message.blockHash }, messages: [message] });
  }
  return blocks;
}
