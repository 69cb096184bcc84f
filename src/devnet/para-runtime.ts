/**
 * The runtime the devnet's para nodes run: a real cumulus runtime's metadata. By default the one in
 * the shared fixtures (Polkadot Asset Hub, spec 2000007, metadata V16), when present, else the
 * Polkadot Asset Hub metadata that ships with @polkadot/types-support (V15), so `--para-nodes` works
 * on a fresh machine too. Its runtime version is the metadata's own `System::Version` constant.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevnetEncoder } from './encoder.ts';

const FIXTURE = 'metadata/asset-hub-polkadot-2000007.hex';

/** Where the shared fixtures are: XCMP_FIXTURES, else `../shared/fixtures` beside the project. */
function fixturesDir(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  return process.env.XCMP_FIXTURES ?? join(root, '../shared/fixtures');
}

/** The metadata hex: `path` when given, else the fixture, else the npm package's. */
async function metadataHex(path: string | null): Promise<{ hex: string; from: string }> {
  if (path) return { hex: readFileSync(path, 'utf8'), from: path };
  const fixture = join(fixturesDir(), FIXTURE);
  if (existsSync(fixture)) return { hex: readFileSync(fixture, 'utf8'), from: fixture };
  const bundled = await import('@polkadot/types-support/metadata/v15/asset-hub-polkadot-hex');
  return { hex: bundled.default, from: '@polkadot/types-support asset-hub-polkadot (V15)' };
}

export interface ParaRuntime {
  readonly encoder: DevnetEncoder;
  /** Where its metadata came from (said at start). */
  readonly from: string;
}

export async function paraRuntime(path: string | null): Promise<ParaRuntime> {
  const { hex, from } = await metadataHex(path);
  const encoder = new DevnetEncoder({ hex });
  for (const pallet of ['ParachainSystem', 'ParachainInfo', 'System', 'Timestamp'])
    if (!encoder.metadata.palletsByName.has(pallet))
      throw new Error(`${from} is not a cumulus parachain runtime: it has no ${pallet} pallet`);
  return { encoder, from };
}
