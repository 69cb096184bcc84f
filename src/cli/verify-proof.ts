/**
 * `xcmp-sidecar verify-proof`: does a read proof prove one HRMP channel under a state root? Prints
 * the proven channel as one JSON object (exit 0); a proof that does not prove it exits 1 with one
 * line on stderr; malformed input exits 2.
 */
import { ProofError, proveChannel } from '../derive/proof.ts';
import type { Hex } from '../protocol/bytes.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';
import { readJsonFile } from './json-file.ts';
import { integerFlag, U32_MAX } from './numbers.ts';

export interface VerifyProofFlags {
  readonly stateRoot?: string;
  readonly proof?: string;
  readonly sender?: string;
  readonly recipient?: string;
}

const HASH = /^0x[0-9a-fA-F]{64}$/;
const HEX = /^0x([0-9a-fA-F]{2})*$/;

const paraFlag = (value: string | undefined, flag: string): number =>
  integerFlag(value, flag, 0, U32_MAX, 'a para id (0 to 4294967295)');

/** The proof file: a JSON array of hex trie nodes, or `{"proof": [...]}` as state_getReadProof answers. */
export function readProofFile(path: string): Hex[] {
  const parsed = readJsonFile(path, '--proof');
  const nodes = Array.isArray(parsed) ? parsed : (parsed as { proof?: unknown } | null)?.proof;
  if (!Array.isArray(nodes))
    throw new CliError(`--proof ${path}: expected a JSON array of hex nodes or {"proof": [...]}`);
  const bad = nodes.findIndex((node) => typeof node !== 'string' || !HEX.test(node));
  if (bad >= 0) throw new CliError(`--proof ${path}: node ${bad} is not 0x-prefixed hex`);
  return nodes.map((node) => (node as string).toLowerCase() as Hex);
}

export async function runVerifyProof(flags: VerifyProofFlags): Promise<void> {
  if (flags.stateRoot === undefined || !HASH.test(flags.stateRoot))
    throw new CliError(
      `--state-root must be a 32-byte 0x hash, got ${JSON.stringify(flags.stateRoot ?? '')}`,
    );
  if (flags.proof === undefined) throw new CliError("required option '--proof <file>' not specified");
  const sender = paraFlag(flags.sender, '--sender');
  const recipient = paraFlag(flags.recipient, '--recipient');
  const nodes = readProofFile(flags.proof);
  try {
    const channel = await proveChannel(flags.stateRoot.toLowerCase() as Hex, nodes, sender, recipient);
    process.stdout.write(`${JSON.stringify(channel)}\n`);
  } catch (error) {
    if (error instanceof ProofError) throw new CliError(error.message, EXIT_RUNTIME);
    throw new CliError(`the proven value is not an HrmpChannel: ${(error as Error).message}`, EXIT_RUNTIME);
  }
}
