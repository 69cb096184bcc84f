/**
 * GRANDPA (issue 30): the cost of verifying one justification as on Polkadot — 300 authorities, 201
 * precommits for the target (the threshold) — decoded and every signature checked, with
 * @polkadot/util-crypto's ed25519 in JavaScript (@noble/curves) and in its WASM build; and the bytes.
 */
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { GrandpaChangesJson, MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/index.ts';
import { decodeJustification, verifyJustification } from '../../src/derive/grandpa.ts';
import { GrandpaLedger } from '../../src/derive/grandpa-ledger.ts';
import { grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import { advance, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

function timePer(runs: number, work: () => void): number {
  work();
  const started = performance.now();
  for (let i = 0; i < runs; i++) work();
  return (performance.now() - started) / runs;
}

export async function benchGrandpa(): Promise<void> {
  const keys = grandpaKeys(1, 300);
  const target = { hash: `0x${'ab'.repeat(32)}` as Hex, number: 1_000_000 };
  const bytes = signJustification({
    round: 5n,
    setId: 1n,
    target,
    votes: keys.slice(0, 201).map((key) => ({ key, target })),
  });
  const set = { setId: 1n, authorities: keys.map((k) => u8aToHex(k.publicKey) as Hex) };
  const verify = () => {
    const verdict = verifyJustification(decodeJustification(bytes), set);
    if (!verdict.valid) throw new Error(`bench justification invalid: ${verdict.reason}`);
  };
  const js = timePer(5, verify);
  await cryptoWaitReady();
  const wasm = timePer(20, verify);
  console.log('\nGRANDPA justification, 300 authorities, 201 precommits (decode + every signature)');
  console.log(`  ed25519 in JavaScript (@noble/curves): ${js.toFixed(1)} ms`);
  console.log(
    `  ed25519 in WASM (@polkadot/wasm-crypto): ${wasm.toFixed(1)} ms (${(wasm / 201).toFixed(3)} ms per signature)`,
  );
  console.log(`  size: ${bytes.length} bytes (${(bytes.length / 201).toFixed(0)} per precommit)`);
  await benchCheckpointClient();
}

/**
 * A checkpoint-only client on a devnet finalizing with 300 authorities (a set change every 20
 * blocks): bytes of finality proof per update, and the client's check per update (set changes
 * taken in as they come), against the same updates checked with a trusted header source.
 */
async function benchCheckpointClient(): Promise<void> {
  const authorities = 300;
  const stack = await startStack({ initialBlocks: 2, grandpaAuthorities: authorities, grandpaSetEvery: 20 });
  const client = await XcmpClient.connect(stack.sidecar.server.url, { reconnectMs: 0 });
  try {
    const updates: MailboxUpdateJson[] = [];
    const sub = await client.subscribeInbox(2000, (u) => updates.push(u), {
      proof: true,
      finalityProof: true,
    });
    const started = performance.now();
    await advance(stack, 60);
    const end = (await stack.sidecar.store.cursor())!.number;
    await eventually(() => (updates.at(-1)?.block.number ?? 0) >= end, {
      timeoutMs: 120_000,
      what: `updates to #${end}`,
    });
    const produced = performance.now() - started;
    await sub.unsubscribe();
    const ledger = new GrandpaLedger({
      setId: 0n,
      authorities: grandpaKeys(0, authorities).map((k) => u8aToHex(k.publicKey) as Hex),
      block: { number: 0, hash: stack.devnet.chain.blockAt(0)!.hash },
    });
    const changes = await client.call<GrandpaChangesJson>('xcmp_getGrandpaChanges', [{ after: 0 }]);
    const changeStarted = performance.now();
    for (const change of changes.changes)
      ledger.applyChange(change as { headers: Hex[]; justification: Hex });
    const perChange = (performance.now() - changeStarted) / changes.changes.length;
    const withProof = updates.filter((u) => u.proof?.finality);
    const checkStarted = performance.now();
    for (const u of withProof)
      ledger.proveFinal(u.block.number, u.block.hash as Hex, u.proof!.finality as Hex);
    const perUpdate = (performance.now() - checkStarted) / withProof.length;
    const finalityBytes = withProof.map((u) => (u.proof!.finality!.length - 2) / 2);
    const inboxBytes = withProof.map((u) => u.proof!.nodes.reduce((n, node) => n + (node.length - 2) / 2, 0));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    console.log(
      `\nCheckpoint-only client, devnet with ${authorities} authorities, a set change every 20 blocks`,
    );
    console.log(
      `  ${withProof.length} proof updates to #${end} (devnet signing: ${(produced / 60).toFixed(0)} ms per block)`,
    );
    console.log(
      `  finality proof per update: ${mean(finalityBytes).toFixed(0)} B (inbox storage proof: ${mean(inboxBytes).toFixed(0)} B)`,
    );
    console.log(
      `  client check per update: ${perUpdate.toFixed(1)} ms; per set change taken in: ${perChange.toFixed(1)} ms (${changes.changes.length} changes)`,
    );
  } finally {
    await client.close();
    await stack.close();
  }
}
