/**
 * Mesh keys (docs/mesh.md): `xcmp-sidecar mesh-key --out FILE` makes one (a random 32-byte ed25519
 * seed, written owner-only) and prints its public key, the name the other members list it by;
 * `--mesh-key FILE` reads it back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { type MeshKey, meshKeyFromSeed } from '../mesh/members.ts';
import { fromHex, toHex } from '../protocol/bytes.ts';
import { CliError } from './errors.ts';
import { readJsonFile } from './json-file.ts';

const SEED = /^0x[0-9a-fA-F]{64}$/;

export function readMeshKey(path: string): MeshKey {
  const parsed = readJsonFile(path, '--mesh-key') as { seed?: unknown } | null;
  const seed = parsed?.seed;
  if (typeof seed !== 'string' || !SEED.test(seed))
    throw new CliError(
      `--mesh-key ${path}: expected {"seed": "0x…"} with a 32-byte hex seed (make one with xcmp-sidecar mesh-key --out ${path})`,
    );
  return meshKeyFromSeed(fromHex(seed));
}

export function runMeshKey(flags: { readonly out?: string }): void {
  if (!flags.out) throw new CliError("required option '--out <file>' not specified");
  if (existsSync(flags.out)) throw new CliError(`--out ${flags.out} exists: a mesh key is never overwritten`);
  const seed = randomBytes(32);
  const key = meshKeyFromSeed(seed);
  writeFileSync(flags.out, `${JSON.stringify({ seed: toHex(seed), publicKey: key.publicKey }, null, 2)}\n`, {
    mode: 0o600,
  });
  process.stdout.write(`${JSON.stringify({ publicKey: key.publicKey, file: flags.out })}\n`);
}
