/** Locates the shared real-chain fixtures (never copied into the repo). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../../src/protocol/bytes.ts';
import type { HeaderJson } from '../../src/protocol/header.ts';
import { parseMetadata, type RuntimeMetadata } from '../../src/protocol/metadata.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = process.env.XCMP_FIXTURES ?? join(repoRoot, '../shared/fixtures');
export const vectorsDir = join(fixturesDir, '../vectors');
export const fixturesPresent = existsSync(join(fixturesDir, 'README.md'));
/**
 * Pass as `{ skip }` to tests that need the fixtures. In CI (CI set) nothing is skipped: a missing
 * fixture fails the tests that need it.
 */
export const skipWithoutFixtures: string | false =
  fixturesPresent || process.env.CI
    ? false
    : `shared fixtures not found at ${fixturesDir} (set XCMP_FIXTURES)`;

export const METADATA_FILE = join(fixturesDir, 'metadata/polkadot-1000001.hex');

export interface FixtureBlock {
  readonly name: string;
  readonly blockFile: string;
  readonly eventsFile: string;
  readonly header: HeaderJson;
  readonly extrinsics: Uint8Array[];
  readonly events: Uint8Array;
}

export function loadFixtureBlock(name: string): FixtureBlock {
  const blockFile = join(fixturesDir, name, 'block.json');
  const eventsFile = join(fixturesDir, name, 'events.hex');
  const json = JSON.parse(readFileSync(blockFile, 'utf8')) as { header: HeaderJson; extrinsics: string[] };
  return {
    name,
    blockFile,
    eventsFile,
    header: json.header,
    extrinsics: json.extrinsics.map((hex) => fromHex(hex)),
    events: fromHex(readFileSync(eventsFile, 'utf8')),
  };
}

let cachedMetadata: RuntimeMetadata | undefined;
export function loadFixtureMetadata(): RuntimeMetadata {
  cachedMetadata ??= parseMetadata(fromHex(readFileSync(METADATA_FILE, 'utf8')));
  return cachedMetadata;
}
