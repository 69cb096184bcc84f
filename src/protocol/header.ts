/**
 * Relay block headers in the JSON form nodes return (`chain_getHeader`), their SCALE encoding and
 * hash. `number` may be a number or a hex string, as nodes send it.
 */
import { concatBytes, encodeBytes, encodeCompact, fromHex, type Hex, ScaleError, toHex } from './bytes.ts';
import { blake2_256 } from './hash.ts';

export type DigestItemJson =
  | { readonly PreRuntime: readonly [string, string] }
  | { readonly Consensus: readonly [string, string] }
  | { readonly Seal: readonly [string, string] }
  | { readonly Other: string }
  | { readonly RuntimeEnvironmentUpdated: null };

export interface HeaderJson {
  readonly parentHash: string;
  readonly number: number | string;
  readonly stateRoot: string;
  readonly extrinsicsRoot: string;
  readonly digest: { readonly logs: readonly (DigestItemJson | string)[] };
}

const DIGEST_INDEX: Record<string, number> = {
  other: 0,
  consensus: 4,
  seal: 5,
  preruntime: 6,
  runtimeenvironmentupdated: 8,
};

export function headerNumber(header: Pick<HeaderJson, 'number'>): number {
  const value =
    typeof header.number === 'string'
      ? Number.parseInt(header.number, header.number.startsWith('0x') ? 16 : 10)
      : header.number;
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ScaleError(`header number ${String(header.number)} is not a u32`);
  }
  return value;
}

function hash32(value: string, what: string): Uint8Array {
  const bytes = fromHex(value, what);
  if (bytes.length !== 32) throw new ScaleError(`${what} must be 32 bytes, got ${bytes.length}`);
  return bytes;
}

function encodeDigestItem(item: DigestItemJson | string): Uint8Array {
  // Nodes send digest logs as opaque hex; polkadot-js JSON uses { PreRuntime: [engine, data] }.
  if (typeof item === 'string') return fromHex(item, 'digest item');
  const [kind, value] = Object.entries(item)[0] ?? [];
  const index = kind === undefined ? undefined : DIGEST_INDEX[kind.toLowerCase()];
  if (index === undefined) throw new ScaleError(`unknown digest item ${String(kind)}`);
  if (index === 8) return Uint8Array.of(8);
  if (index === 0)
    return concatBytes([Uint8Array.of(0), encodeBytes(fromHex(value as string, 'digest Other'))]);
  const [engine, data] = value as readonly [string, string];
  const engineBytes = fromHex(engine, 'digest engine id');
  if (engineBytes.length !== 4) throw new ScaleError('digest engine id must be 4 bytes');
  return concatBytes([Uint8Array.of(index), engineBytes, encodeBytes(fromHex(data, 'digest data'))]);
}

export function encodeHeader(header: HeaderJson): Uint8Array {
  const logs = header.digest.logs;
  return concatBytes([
    hash32(header.parentHash, 'parentHash'),
    encodeCompact(headerNumber(header)),
    hash32(header.stateRoot, 'stateRoot'),
    hash32(header.extrinsicsRoot, 'extrinsicsRoot'),
    encodeCompact(logs.length),
    ...logs.map(encodeDigestItem),
  ]);
}

export function blockHash(header: HeaderJson): Hex {
  return toHex(blake2_256(encodeHeader(header)));
}
