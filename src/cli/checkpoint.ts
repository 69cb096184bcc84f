/** A GRANDPA checkpoint named on the command line (`subscribe --verify-grandpa`, `--mesh-checkpoint`). */
import { KNOWN_CHAINS } from '../client/grandpa.ts';
import { checkpointFromChainSpec, type GrandpaCheckpoint } from '../derive/grandpa.ts';
import type { Hex } from '../protocol/bytes.ts';
import { CliError } from './errors.ts';
import { readJsonFile } from './json-file.ts';

const KEY = /^0x[0-9a-fA-F]{64}$/;

/** `--verify-grandpa`, `--mesh-checkpoint`: a known chain's name, or a JSON file with a checkpoint or a chain spec. */
export function checkpointArgument(
  value: string,
  flag: string,
): GrandpaCheckpoint | (typeof KNOWN_CHAINS)[number] {
  const known = KNOWN_CHAINS.find((chain) => chain === value);
  if (known) return known;
  const parsed = readJsonFile(value, flag) as Record<string, unknown> | null;
  if (parsed && typeof parsed === 'object' && 'lightSyncState' in parsed) {
    try {
      return checkpointFromChainSpec(parsed);
    } catch (error) {
      throw new CliError(`${flag} ${value}: ${(error as Error).message}`);
    }
  }
  const { setId, authorities, block } = (parsed ?? {}) as {
    setId?: unknown;
    authorities?: unknown;
    block?: { number?: unknown; hash?: unknown };
  };
  const validSetId =
    (typeof setId === 'number' && Number.isSafeInteger(setId) && setId >= 0) ||
    (typeof setId === 'string' && /^\d+$/.test(setId));
  const validKeys =
    Array.isArray(authorities) &&
    authorities.length > 0 &&
    authorities.every((k) => typeof k === 'string' && KEY.test(k));
  const validBlock =
    typeof block?.number === 'number' &&
    Number.isSafeInteger(block.number) &&
    block.number >= 0 &&
    typeof block.hash === 'string' &&
    KEY.test(block.hash);
  if (!validSetId || !validKeys || !validBlock)
    throw new CliError(
      `${flag} ${value}: expected polkadot, kusama, westend, a chain spec with a lightSyncState, or {"setId", "authorities": [hex keys], "block": {"number", "hash"}}`,
    );
  return {
    setId: BigInt(setId as number | string),
    authorities: (authorities as string[]).map((k) => k.toLowerCase() as Hex),
    block: { number: block!.number as number, hash: (block!.hash as string).toLowerCase() as Hex },
  };
}
