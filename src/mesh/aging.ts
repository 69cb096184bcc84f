/**
 * Aging (DESIGN.md §16): a finalized block older than `--mesh-full-retention` is kept as its
 * per-recipient slices, erasure-coded for the n members; this member keeps its own chunk, its
 * Merkle branch, the erasure root and each sender's MQC heads around the block. Every member ages
 * the same chain data alike, so the chunks of all members make one code without any exchange.
 */
import { chunkBranch, encodeChunks, erasureRoot } from '../derive/erasure.ts';
import { encodeSlice, type SliceHead, type SliceMessage } from '../derive/mesh-slice.ts';
import { toHex } from '../protocol/bytes.ts';
import { MESSAGE_HASH_BYTES, type MeshSliceRow, type MeshStore } from '../store/mesh.ts';
import type { MessageRecord } from '../store/types.ts';
import type { Mesh } from './members.ts';

/** One recipient's slice at `block`, as this member keeps it. */
function sliceRow(
  mesh: Mesh,
  store: MeshStore,
  at: { block: number; hash: `0x${string}` },
  recipient: number,
  messages: readonly MessageRecord[],
): MeshSliceRow {
  const slice: SliceMessage[] = messages.map((m) => ({
    sender: m.sender,
    candidateHash: m.candidateHash,
    ...(m.position === undefined ? {} : { position: m.position }),
    data: m.data,
  }));
  const heads: SliceHead[] = [];
  for (const m of messages) {
    const last = heads.at(-1);
    if (last?.sender === m.sender) heads[heads.length - 1] = { ...last, after: m.mqcHeadAfter };
    else
      heads.push({
        sender: m.sender,
        before: store.headBefore(m.sender, recipient, at.block),
        after: m.mqcHeadAfter,
      });
  }
  const bytes = encodeSlice(slice);
  const chunks = encodeChunks(bytes, mesh.n, mesh.k);
  const index = mesh.self.index;
  return {
    block: at.block,
    blockHash: at.hash,
    recipient,
    members: mesh.n,
    index,
    length: bytes.length,
    messageCount: messages.length,
    root: toHex(erasureRoot(chunks)),
    branch: chunkBranch(chunks, index).map((hash) => toHex(hash)),
    chunk: chunks[index]!,
    heads,
  };
}

/** Ages every block after the last aged one up to `upTo`; returns how many blocks were aged. */
export function ageUpTo(mesh: Mesh, store: MeshStore, upTo: number): number {
  let aged = 0;
  for (let block = Math.max(store.agedUpTo() + 1, store.firstBlock() ?? upTo + 1); block <= upTo; block++) {
    const { hash, messages } = store.blockToAge(block);
    const byRecipient = new Map<number, MessageRecord[]>();
    for (const m of messages) {
      const list = byRecipient.get(m.recipient) ?? [];
      list.push(m);
      byRecipient.set(m.recipient, list);
    }
    const rows = hash
      ? [...byRecipient].map(([recipient, list]) => sliceRow(mesh, store, { block, hash }, recipient, list))
      : [];
    const fullBytes = messages.reduce((sum, m) => sum + m.data.length + MESSAGE_HASH_BYTES, 0);
    store.age(block, rows, fullBytes);
    aged++;
  }
  return aged;
}
