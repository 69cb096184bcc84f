/**
 * What a client checks before it believes an inbox update (DESIGN.md §9): the header hashes to the
 * block hash its own trusted source gives, the trie nodes prove the recipient's ingress index and
 * the `HrmpChannels` value of every inbound channel under that header's state root, and extending
 * the heads proven at its previous update with the delivered messages, in order, reproduces every
 * proven head. Pure: the caller fetches the trusted header.
 */
import { fromHex, type Hex, readCompactNumber, toHex } from '../protocol/bytes.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { extendMqcHead, ZERO_HEAD } from '../protocol/mqc.ts';
import { decodeHrmpChannel, type ProvenChannel, provenEntries } from './proof.ts';
import { decodeParaIds, hrmpChannelsKey, hrmpIngressIndexKey } from './storage.ts';

/** The proof an inbox update carries: block N's SCALE header and the trie nodes. */
export interface InboxProof {
  readonly header: string;
  readonly nodes: readonly string[];
}

/** Heads proven at one block: `null` for a channel that never carried a message. */
export interface ProvenHeads {
  readonly number: number;
  readonly hash: Hex;
  readonly heads: ReadonlyMap<number, Hex | null>;
  /** Each inbound channel as proven (capacities, counts, head), by sender. */
  readonly channels?: ReadonlyMap<number, ProvenChannel>;
}

/** The part of a message the MQC commits to, plus where it claims to come from. */
export interface ProvableMessage {
  readonly sender: number;
  readonly recipient: number;
  readonly sentAt: number;
  readonly data: string;
}

/** An update that failed a check (nothing of it is delivered): which block and channel, and why. */
export class VerificationError extends Error {
  override readonly name = 'VerificationError';
  constructor(
    readonly block: number,
    readonly channel: string | null,
    readonly reason: string,
  ) {
    super(`block #${block}${channel ? `, channel ${channel}` : ''}: ${reason}`);
  }
}

/** Number and state root of a SCALE header (`parent_hash, number: Compact<u32>, state_root, …`). */
export function headerFields(header: Uint8Array): { number: number; stateRoot: Hex } {
  const [number, at] = readCompactNumber(header, 32);
  if (header.length < at + 64) throw new Error('the header is too short');
  return { number, stateRoot: toHex(header.subarray(at, at + 32)) };
}

/**
 * Proves the recipient's inbound heads at the block whose trusted hash is `trustedHash`: the
 * header must hash to it, and every channel in the proven ingress index must be proven.
 */
export async function proveInboxHeads(
  recipient: number,
  block: { number: number; trustedHash: Hex },
  proof: InboxProof,
): Promise<ProvenHeads> {
  const fail = (reason: string, channel: string | null = null) =>
    new VerificationError(block.number, channel, reason);
  let header: Uint8Array;
  let fields: { number: number; stateRoot: Hex };
  try {
    header = fromHex(proof.header, 'header');
    fields = headerFields(header);
  } catch (error) {
    throw fail(`the proof header is not a SCALE header: ${(error as Error).message}`);
  }
  const hash = toHex(blake2_256(header));
  if (hash !== block.trustedHash)
    throw fail(`the proof header hashes to ${hash}, the trusted block hash is ${block.trustedHash}`);
  if (fields.number !== block.number) throw fail(`the proof header is of block #${fields.number}`);
  const entries = await provenEntries(fields.stateRoot, proof.nodes as readonly Hex[]);
  const index = entries.get(hrmpIngressIndexKey(recipient));
  if (index === undefined) throw fail(`the proof does not prove the ingress index of ${recipient}`);
  const heads = new Map<number, Hex | null>();
  const channels = new Map<number, ProvenChannel>();
  for (const sender of decodeParaIds(fromHex(index))) {
    const channel = `${sender}>${recipient}`;
    const value = entries.get(hrmpChannelsKey(sender, recipient));
    if (value === undefined) throw fail('the proof does not prove HrmpChannels', channel);
    const decoded = decodeHrmpChannel(sender, recipient, fromHex(value));
    heads.set(sender, decoded.mqcHead);
    channels.set(sender, decoded);
  }
  return { number: block.number, hash, heads, channels };
}

/**
 * Checks that `messages` are exactly what each inbound channel carried after `base` up to `proven`:
 * per sender, extending the base head with its messages in order gives the proven head.
 */
export function checkMessages(
  recipient: number,
  base: ProvenHeads,
  proven: ProvenHeads,
  messages: readonly ProvableMessage[],
): void {
  if (proven.number <= base.number)
    throw new VerificationError(
      proven.number,
      null,
      `block #${proven.number} is not after the last proven block #${base.number}`,
    );
  const heads = new Map<number, Uint8Array | null>();
  for (const sender of proven.heads.keys()) {
    const start = base.heads.get(sender);
    heads.set(sender, start ? fromHex(start) : null);
  }
  let previous: ProvableMessage | null = null;
  for (const message of messages) {
    const channel = `${message.sender}>${message.recipient}`;
    if (
      previous &&
      (previous.sentAt > message.sentAt ||
        (previous.sentAt === message.sentAt && previous.sender > message.sender))
    )
      throw new VerificationError(
        proven.number,
        channel,
        'the messages are not in (sentAt, sender) order, the order the recipient processes them in',
      );
    previous = message;
    if (message.recipient !== recipient || !heads.has(message.sender))
      throw new VerificationError(proven.number, channel, 'the message is not on an inbound channel');
    if (message.sentAt <= base.number || message.sentAt > proven.number)
      throw new VerificationError(
        proven.number,
        channel,
        `sentAt ${message.sentAt} is outside #${base.number + 1}..#${proven.number}`,
      );
    const head = heads.get(message.sender) ?? ZERO_HEAD;
    heads.set(message.sender, extendMqcHead(head, message.sentAt, fromHex(message.data)));
  }
  for (const [sender, head] of heads) {
    const expected = proven.heads.get(sender) ?? null;
    const got = head ? toHex(head) : null;
    if (got !== expected)
      throw new VerificationError(
        proven.number,
        `${sender}>${recipient}`,
        `the messages extend the head to ${got}, the proven head is ${expected}`,
      );
  }
}
