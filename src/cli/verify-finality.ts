/**
 * `xcmp-sidecar verify-finality`: does a GRANDPA justification prove its block final under an
 * authority set? Prints the verdict as one JSON object: exit 0 valid, 1 invalid (the reason on
 * stderr too), 2 bad input. The authorities come as a JSON list of hex ed25519 public keys, a JSON
 * list of `[key, weight]` pairs as `GrandpaApi_grandpa_authorities` gives them, or a chain spec
 * whose `lightSyncState` holds the set (then `--set-id` defaults to its set id).
 */
import { existsSync, readFileSync } from 'node:fs';
import { checkpointFromChainSpec, decodeJustification, verifyJustification } from '../derive/grandpa.ts';
import { fromHex, type Hex, ScaleError } from '../protocol/bytes.ts';
import { readHeader } from '../protocol/header.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';
import { readJsonFile } from './json-file.ts';

export interface VerifyFinalityFlags {
  readonly justification?: string;
  readonly setId?: string;
  readonly authorities?: string;
  readonly header?: string;
}

const HEX = /^0x([0-9a-fA-F]{2})*$/;
const KEY = /^0x[0-9a-fA-F]{64}$/;

/** `HEX`, or a file holding it (a JSON string, or raw hex text). */
function hexArgument(value: string | undefined, flag: string): Uint8Array {
  if (value === undefined) throw new CliError(`required option '${flag}' not specified`);
  let text = value.trim();
  if (!HEX.test(text) && existsSync(text)) text = readFileSync(text, 'utf8').trim().replace(/^"|"$/g, '');
  if (!HEX.test(text)) throw new CliError(`${flag} must be 0x-prefixed hex or a file holding it`);
  return fromHex(text as Hex, flag);
}

/** `--authorities`: a JSON list of keys (or [key, weight] pairs), or a chain spec with a lightSyncState. */
function authoritiesFile(path: string | undefined): { authorities: Hex[]; setId: bigint | null } {
  if (path === undefined) throw new CliError("required option '--authorities <file>' not specified");
  const parsed = readJsonFile(path, '--authorities');
  if (Array.isArray(parsed)) return { authorities: authorityList(path, parsed), setId: null };
  try {
    const checkpoint = checkpointFromChainSpec(parsed);
    return { authorities: [...checkpoint.authorities], setId: checkpoint.setId };
  } catch (error) {
    throw new CliError(
      `--authorities ${path}: neither a list of keys nor a chain spec with a lightSyncState: ${(error as Error).message}`,
    );
  }
}

function authorityList(path: string, list: readonly unknown[]): Hex[] {
  if (list.length === 0)
    throw new CliError(`--authorities ${path}: expected a non-empty JSON list of hex keys`);
  return list.map((entry, i) => {
    const key = Array.isArray(entry) ? entry[0] : entry;
    if (typeof key !== 'string' || !KEY.test(key))
      throw new CliError(`--authorities ${path}: entry ${i} is not a 32-byte hex key`);
    return key.toLowerCase() as Hex;
  });
}

/** `--set-id`: a u64; from a chain spec's lightSyncState when not given. */
function setIdFlag(value: string | undefined, fromSpec: bigint | null): bigint {
  if (value === undefined && fromSpec !== null) return fromSpec;
  if (value === undefined || !/^\d{1,20}$/.test(value) || BigInt(value) > 0xffffffffffffffffn)
    throw new CliError(`--set-id must be a u64, got ${JSON.stringify(value ?? '')}`);
  return BigInt(value);
}

export function runVerifyFinality(flags: VerifyFinalityFlags): void {
  const { authorities, setId: specSetId } = authoritiesFile(flags.authorities);
  const setId = setIdFlag(flags.setId, specSetId);
  const bytes = hexArgument(flags.justification, '--justification');
  let expected: { hash: Hex; number: number } | undefined;
  if (flags.header !== undefined) {
    const header = hexArgument(flags.header, '--header');
    try {
      const [read, end] = readHeader(header, 0);
      if (end !== header.length) throw new ScaleError(`${header.length - end} bytes after the header`);
      expected = { hash: read.hash, number: read.number };
    } catch (error) {
      throw new CliError(`--header is not a SCALE header: ${(error as Error).message}`);
    }
  }
  let justification: ReturnType<typeof decodeJustification>;
  try {
    justification = decodeJustification(bytes);
  } catch (error) {
    throw new CliError(`--justification is not a GRANDPA justification: ${(error as Error).message}`);
  }
  const verdict = verifyJustification(justification, { setId, authorities }, expected);
  process.stdout.write(`${JSON.stringify(verdict, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  if (!verdict.valid)
    throw new CliError(`not final under set ${setId}: ${verdict.reason}: ${verdict.detail}`, EXIT_RUNTIME);
}
