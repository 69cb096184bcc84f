/**
 * Relay block headers in the JSON form nodes return (`chain_getHeader`), their SCALE encoding and
 * hash, and SCALE headers read back from bytes (justifications' ancestries). `number` may be a number or a hex string, as nodes send it.
 */
import {
  concatBytes,
  encodeBytes,
  encodeCompact,
  fromHex,
  type Hex,
  readCompactNumber,
  ScaleError,
  toHex,
} from './bytes.ts';
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

/** A digest item as read from SCALE: its kind index, engine id (for PreRuntime, Consensus, Seal) and data. */
export interface DigestItemRef {
  readonly kind: number;
  readonly engine: Hex | null;
  readonly data: Uint8Array;
}

/** A SCALE header read from bytes: its hash (blake2_256 of exactly those bytes), parent, number and digest. */
export interface HeaderRef {
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly number: number;
  readonly digest: readonly DigestItemRef[];
}

function readDigestItem(bytes: Uint8Array, offset: number): [DigestItemRef, number] {
  const kind = bytes[offset];
  if (kind === undefined) throw new ScaleError(`digest item at ${offset} runs past the end`);
  if (kind === 8) return [{ kind, engine: null, data: new Uint8Array() }, offset + 1];
  const hasEngine = kind === 4 || kind === 5 || kind === 6;
  if (!hasEngine && kind !== 0) throw new ScaleError(`unknown digest item kind ${kind} at ${offset}`);
  const engineAt = offset + 1;
  const engine = hasEngine ? toHex(bytes.subarray(engineAt, engineAt + 4)) : null;
  const [length, start] = readCompactNumber(bytes, hasEngine ? engineAt + 4 : engineAt);
  if (start + length > bytes.length) throw new ScaleError(`digest item at ${offset} runs past the end`);
  return [{ kind, engine, data: bytes.subarray(start, start + length) }, start + length];
}

/** Reads one SCALE header at `offset`: `[header, end]`. */
export function readHeader(bytes: Uint8Array, offset: number): [HeaderRef, number] {
  if (offset + 33 > bytes.length) throw new ScaleError(`header at ${offset} runs past the end`);
  const parentHash = toHex(bytes.subarray(offset, offset + 32));
  const [number, rootsAt] = readCompactNumber(bytes, offset + 32);
  if (number > 0xffffffff) throw new ScaleError(`header number ${number} is not a u32`);
  if (rootsAt + 65 > bytes.length) throw new ScaleError(`header at ${offset} runs past the end`);
  let [count, pos] = readCompactNumber(bytes, rootsAt + 64);
  const digest: DigestItemRef[] = [];
  for (let i = 0; i < count; i++) {
    const [item, end] = readDigestItem(bytes, pos);
    digest.push(item);
    pos = end;
  }
  const hash = toHex(blake2_256(bytes.subarray(offset, pos)));
  return [{ hash, parentHash, number, digest }, pos];
}
