/** The devnet's ground truth and the store's content, in one comparable shape. */
import { u8aToHex } from '@polkadot/util';
import type { Devnet } from '../../src/devnet/index.ts';
import type { MessageStore } from '../../src/store/store.ts';

export interface TruthMessage {
  readonly sender: number;
  readonly recipient: number;
  readonly sentAt: number;
  readonly index: number;
  readonly data: string;
}

const order = (a: TruthMessage, b: TruthMessage) =>
  a.recipient - b.recipient || a.sentAt - b.sentAt || a.sender - b.sender || a.index - b.index;

/** Every message the devnet's runtime added to HrmpChannelContents in finalized blocks [from, to]. */
export function devnetTruth(devnet: Devnet, from: number, to: number): TruthMessage[] {
  const out: TruthMessage[] = [];
  for (let number = from; number <= to; number++) {
    const block = devnet.chain.blockAt(number);
    if (!block) throw new Error(`devnet no longer holds block #${number}: raise retainBlocks`);
    for (const channel of block.state.channels.values()) {
      let index = 0;
      for (const message of channel.contents) {
        if (message.sentAt !== number) continue;
        out.push({
          sender: channel.sender,
          recipient: channel.recipient,
          sentAt: number,
          index: index++,
          data: u8aToHex(message.data),
        });
      }
    }
  }
  return out.sort(order);
}

export async function storedMessages(
  store: MessageStore,
  recipients: readonly number[],
  from = 0,
  to = 0xffffffff,
): Promise<TruthMessage[]> {
  return (
    await Promise.all(
      recipients.map((recipient) =>
        store.inbox(recipient, { fromBlock: from, toBlock: to, includeUnverified: true }),
      ),
    )
  )
    .flat()
    .map((m) => ({
      sender: m.sender,
      recipient: m.recipient,
      sentAt: m.sentAt,
      index: m.index,
      data: u8aToHex(m.data),
    }))
    .sort(order);
}
