/**
 * Proofs (`npm run bench -- proof`): for a recipient with 1, 10 and 100 inbound channels, the bytes
 * a proof adds to each inbox update, the client's verification time per update, and the latency the
 * proof read adds per block (same block, same sidecar: the plain update against the proven one).
 */
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { checkMessages, type ProvenHeads, proveInboxHeads } from '../../src/derive/inbox-proof.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { advance, startStack } from '../helpers/sidecar.ts';

const BLOCKS = 40;
const RECIPIENT = 2000;

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

async function benchChannels(inbound: number): Promise<void> {
  const senders = Array.from({ length: inbound }, (_, i) => 3000 + i);
  const channels = senders.map((sender): [number, number] => [sender, RECIPIENT]);
  const stack = await startStack({ paras: [RECIPIENT, ...senders], channels, initialBlocks: 2 });
  const arrivals = { plain: new Map<number, number>(), proven: new Map<number, number>() };
  const proven: MailboxUpdateJson[] = [];
  const plain = await rpcSocket(stack.sidecar.server.url);
  const withProof = await rpcSocket(stack.sidecar.server.url);
  plain.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { params?: { result?: MailboxUpdateJson } };
    const update = frame.params?.result;
    if (update?.block) arrivals.plain.set(update.block.number, performance.now());
  });
  withProof.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { params?: { result?: MailboxUpdateJson } };
    const update = frame.params?.result;
    if (!update?.proof) return;
    arrivals.proven.set(update.block.number, performance.now());
    proven.push(update);
  });
  try {
    await advance(stack, 1);
    await plain.call('xcmp_subscribeInbox', [RECIPIENT, {}]);
    await withProof.call('xcmp_subscribeInbox', [RECIPIENT, { proof: true }]);
    for (let i = 0; i < BLOCKS; i++) await advance(stack, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await report(inbound, stack.devnet.chain, proven, arrivals);
  } finally {
    plain.close();
    withProof.close();
    await stack.close();
  }
}

async function report(
  inbound: number,
  chain: { blockAt(n: number): { hash: string } | undefined },
  updates: readonly MailboxUpdateJson[],
  arrivals: { plain: Map<number, number>; proven: Map<number, number> },
): Promise<void> {
  const withMessages = updates.filter((u) => u.messages.length > 0);
  const proofBytes = withMessages.map(
    (u) => (u.proof!.header.length - 2) / 2 + u.proof!.nodes.reduce((t, n) => t + (n.length - 2) / 2, 0),
  );
  const verifyMs: number[] = [];
  let base: ProvenHeads | null = null;
  {
    for (const update of updates) {
      const start = performance.now();
      const trustedHash = chain.blockAt(update.block.number)!.hash as Hex;
      const heads = await proveInboxHeads(
        RECIPIENT,
        { number: update.block.number, trustedHash },
        update.proof!,
      );
      if (base) checkMessages(RECIPIENT, base, heads, update.messages);
      if (base) verifyMs.push(performance.now() - start);
      base = heads;
    }
    const added = [...arrivals.plain]
      .filter(([block]) => arrivals.proven.has(block))
      .map(([block, at]) => arrivals.proven.get(block)! - at);
    const messages =
      withMessages.reduce((t, u) => t + u.messages.length, 0) / Math.max(1, withMessages.length);
    console.log(
      `${String(inbound).padStart(4)} inbound channels: proof ${(quantile(proofBytes, 0.5) / 1024).toFixed(1).padStart(6)} KiB/update ` +
        `(${messages.toFixed(0)} msgs/update)  verify p50 ${quantile(verifyMs, 0.5).toFixed(2)} ms p99 ${quantile(verifyMs, 0.99).toFixed(2)} ms  ` +
        `added latency p50 ${quantile(added, 0.5).toFixed(1)} ms p99 ${quantile(added, 0.99).toFixed(1)} ms (${added.length} blocks)`,
    );
  }
}

export async function benchProof(): Promise<void> {
  console.log(
    `\nproofs: inbox updates with proof: true over ${BLOCKS} devnet blocks (client verification in this process)`,
  );
  for (const inbound of [1, 10, 100]) await benchChannels(inbound);
}
