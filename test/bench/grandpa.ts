/**
 * GRANDPA (issue 30): the cost of verifying one justification as on Polkadot — 300 authorities, 201
 * precommits for the target (the threshold) — decoded and every signature checked, with
 * @polkadot/util-crypto's ed25519 in JavaScript (@noble/curves) and in its WASM build; and the bytes.
 */
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { decodeJustification, verifyJustification } from '../../src/derive/grandpa.ts';
import { grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import type { Hex } from '../../src/protocol/bytes.ts';

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
}
