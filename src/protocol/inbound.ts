/**
 * SCALE of `ParachainHost_inbound_hrmp_channels_contents`'s answer:
 * `BTreeMap<u32 sender, Vec<InboundHrmpMessage { sent_at: u32, data: Vec<u8> }>>`, senders ascending.
 */
import { concatBytes, encodeBytes, encodeCompact, u32le } from './bytes.ts';

export interface InboundChannel {
  readonly sender: number;
  readonly messages: readonly { readonly sentAt: number; readonly data: Uint8Array }[];
}

export function encodeInboundChannelsContents(channels: readonly InboundChannel[]): Uint8Array {
  const sorted = [...channels].sort((a, b) => a.sender - b.sender);
  const parts: Uint8Array[] = [encodeCompact(sorted.length)];
  for (const channel of sorted) {
    parts.push(u32le(channel.sender), encodeCompact(channel.messages.length));
    for (const message of channel.messages) parts.push(u32le(message.sentAt), encodeBytes(message.data));
  }
  return concatBytes(parts);
}
