/**
 * Plain slices between mesh members (attestors-to-attestors, DESIGN.md §16): a finalized block's
 * per-recipient messages with its header, the storage proof of each recipient's inbound channels
 * (the proofs of §9) and the header's GRANDPA finality proof. A member that has no relay node
 * accepts a block only when its header hash is proven final (by the caller), every recipient's
 * channels are proven under that header's state root, and each recipient's messages extend the
 * heads it proved at the block before exactly to the heads proven now. Pure, apart from the trie
 * (WASM) that decodes the proofs.
 */
import { fromHex, type Hex } from '../protocol/bytes.ts';
import { readHeader } from '../protocol/header.ts';
import type { ChannelRecord, MessageRecord } from '../store/types.ts';
import { checkMessages, type ProvenHeads, proveInboxHeads, VerificationError } from './inbox-proof.ts';
import { sliceRecords } from './mesh-slice.ts';

export interface PushedMessage {
  readonly sender: number;
  /** Not proven by the MQC head: carried as the pushing member's word. */
  readonly candidateHash: Hex;
  readonly position?: number;
  readonly data: Hex;
}

export interface PushedRecipient {
  readonly recipient: number;
  readonly nodes: readonly Hex[];
  readonly messages: readonly PushedMessage[];
}

export interface PushedBlock {
  readonly block: { readonly number: number; readonly hash: Hex };
  readonly header: Hex;
  /** SCALE FinalityProof of the header (grandpa_proveFinality), or null when the pusher's node has none. */
  readonly finality: Hex | null;
  readonly recipients: readonly PushedRecipient[];
}

export interface AcceptedBlock {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
  /** Each recipient's heads proven at this block: the base for the next. */
  readonly heads: ReadonlyMap<number, ProvenHeads>;
  readonly messages: readonly MessageRecord[];
  readonly channels: readonly ChannelRecord[];
}

/** The header's parent hash, after checking that it is the block's header. */
export function pushedParent(pushed: PushedBlock): Hex {
  const bytes = fromHex(pushed.header, 'header');
  const [header, end] = readHeader(bytes, 0);
  if (end !== bytes.length || header.hash !== pushed.block.hash || header.number !== pushed.block.number)
    throw new VerificationError(pushed.block.number, null, 'the header is not the pushed block’s');
  return header.parentHash;
}

/**
 * Checks a pushed block whose hash is proven final against the heads proven at the block before
 * (`base`, by recipient; null for the first block taken: its heads are the start, its messages
 * are not served). Every recipient of `base` must be in it. Throws a VerificationError.
 */
export async function acceptPushedBlock(
  pushed: PushedBlock,
  trustedHash: Hex,
  base: ReadonlyMap<number, ProvenHeads> | null,
): Promise<AcceptedBlock> {
  const { number, hash } = pushed.block;
  const parentHash = pushedParent(pushed);
  const pushedRecipients = new Set(pushed.recipients.map((r) => r.recipient));
  for (const recipient of base?.keys() ?? [])
    if (!pushedRecipients.has(recipient))
      throw new VerificationError(number, null, `recipient ${recipient} is missing from the pushed block`);
  const heads = new Map<number, ProvenHeads>();
  const messages: MessageRecord[] = [];
  const channels: ChannelRecord[] = [];
  for (const slice of pushed.recipients) {
    const proven = await proveInboxHeads(
      slice.recipient,
      { number, trustedHash },
      { header: pushed.header, nodes: slice.nodes },
    );
    const before = base?.get(slice.recipient) ?? { number: number - 1, hash: parentHash, heads: new Map() };
    if (base) {
      const provable = slice.messages.map((m) => ({ ...m, recipient: slice.recipient, sentAt: number }));
      checkMessages(slice.recipient, before, proven, provable);
      const asSlice = slice.messages.map((m) => ({ ...m, data: fromHex(m.data, 'message data') }));
      messages.push(
        ...sliceRecords({ block: number, hash, recipient: slice.recipient }, before.heads, asSlice),
      );
    }
    heads.set(slice.recipient, proven);
    for (const channel of proven.channels?.values() ?? [])
      channels.push({
        ...channel,
        verifiedAt: number,
        lastSentAt: slice.messages.some((m) => m.sender === channel.sender) ? number : null,
      });
  }
  return { number, hash, parentHash, heads, messages, channels };
}
