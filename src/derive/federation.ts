/**
 * Accepting a channel's history from a peer sidecar (DESIGN.md §12), without trusting it: the
 * pages must chain together and cover the range, every message's claimed head must be what the
 * messages give, and extending the peer's start head with them, then with the messages this
 * sidecar already holds, must reproduce exactly the head this sidecar's own node reports now.
 * Pure: the caller fetches the pages, the held messages and the node's head.
 */
import type { ChannelHistoryJson } from '../../rpc/schemas.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { extendMqcHead, ZERO_HEAD } from '../protocol/mqc.ts';
import type { MessageRecord } from '../store/types.ts';

/** Why a peer's history of one channel was not accepted. */
export class PeerRejection extends Error {
  override readonly name = 'PeerRejection';
  constructor(
    readonly channel: string,
    readonly kind: 'incomplete' | 'inconsistent' | 'head mismatch' | 'malformed',
    readonly reason: string,
  ) {
    super(`${channel}: ${reason}`);
  }
}

export interface PeerRange {
  readonly sender: number;
  readonly recipient: number;
  readonly from: number;
  readonly to: number;
}

/** What this sidecar holds after the range, and the head its own node reports at `at`. */
export interface OwnChain {
  readonly held: readonly { readonly sentAt: number; readonly data: Uint8Array }[];
  readonly nodeHead: Hex | null;
  readonly at: number;
}

export interface AcceptedHistory {
  readonly startHead: Hex | null;
  readonly messages: MessageRecord[];
}

const headHex = (head: Uint8Array | null): Hex | null => (head ? toHex(head) : null);

/** Checks the pages against each other and the range; returns the messages with their heads. */
function chainPages(range: PeerRange, pages: readonly ChannelHistoryJson[], channel: string) {
  const reject = (kind: PeerRejection['kind'], reason: string) => new PeerRejection(channel, kind, reason);
  const first = pages[0];
  if (!first || first.fromBlock !== range.from)
    throw reject(
      'incomplete',
      `the peer's history starts at #${first?.fromBlock ?? '?'}, not #${range.from}`,
    );
  let head: Uint8Array | null = first.startHead ? fromHex(first.startHead) : null;
  let next = range.from;
  let lastSentAt = range.from;
  const messages: MessageRecord[] = [];
  for (const page of pages) {
    if (page.sender !== range.sender || page.recipient !== range.recipient)
      throw reject('malformed', `a page is of channel ${page.sender}>${page.recipient}`);
    if (page.fromBlock !== next)
      throw reject('incomplete', `a page starts at #${page.fromBlock}, not #${next}`);
    if (page.startHead !== headHex(head))
      throw reject('inconsistent', `the page from #${page.fromBlock} starts from another head`);
    for (const m of page.messages) {
      if (m.sentAt < lastSentAt || m.sentAt < page.fromBlock || m.sentAt > Math.min(page.toBlock, range.to))
        throw reject('inconsistent', `a message with sentAt ${m.sentAt} is out of order or range`);
      const data = fromHex(m.data, 'message data');
      head = extendMqcHead(head ?? ZERO_HEAD, m.sentAt, data);
      if (m.mqcHead !== toHex(head))
        throw reject(
          'inconsistent',
          `the head claimed after the message at #${m.sentAt} is not what it gives`,
        );
      // sentAt never decreases (checked above): the index counts on within one sentAt.
      const previous = messages[messages.length - 1];
      const index = previous?.sentAt === m.sentAt ? previous.index + 1 : 0;
      messages.push({
        sender: range.sender,
        recipient: range.recipient,
        sentAt: m.sentAt,
        index,
        data,
        hash: toHex(blake2_256(data)),
        candidateHash: m.candidateHash as Hex,
        blockHash: m.blockHash as Hex,
        mqcHeadAfter: toHex(head),
        verified: true,
        reason: null,
      });
      lastSentAt = m.sentAt;
    }
    next = page.toBlock + 1;
  }
  if (next <= range.to)
    throw reject('incomplete', `the peer's history ends at #${next - 1}, not #${range.to}`);
  return { head, messages, startHead: first.startHead as Hex | null };
}

/**
 * Accepts the peer's pages for `range` only if, followed by what this sidecar holds, they give the
 * head its own node reports; throws PeerRejection otherwise. `peer` is recorded on each message.
 */
export function acceptPeerHistory(
  range: PeerRange,
  pages: readonly ChannelHistoryJson[],
  own: OwnChain,
  peer: string,
): AcceptedHistory {
  const channel = `${range.sender}>${range.recipient}`;
  let chained: ReturnType<typeof chainPages>;
  try {
    chained = chainPages(range, pages, channel);
  } catch (error) {
    if (error instanceof PeerRejection) throw error;
    throw new PeerRejection(channel, 'malformed', (error as Error).message);
  }
  let head = chained.head;
  for (const m of own.held) head = extendMqcHead(head ?? ZERO_HEAD, m.sentAt, m.data);
  if (headHex(head) !== own.nodeHead)
    throw new PeerRejection(
      channel,
      'head mismatch',
      `the peer's messages and the ${own.held.length} held after them give ${headHex(head)}, the node reports ${own.nodeHead} at #${own.at}`,
    );
  return { startHead: chained.startHead, messages: chained.messages.map((m) => ({ ...m, peer })) };
}
