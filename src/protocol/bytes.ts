/** Byte-level helpers shared by the pure rooms. No I/O. */

export class ScaleError extends Error {
  override readonly name = 'ScaleError';
}

export type Hex = `0x${string}`;

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hashes (the most converted) by table; anything longer by Node's native codec. */
export function toHex(bytes: Uint8Array): Hex {
  if (bytes.length > 64)
    return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
  let hex = '0x';
  for (let i = 0; i < bytes.length; i++) hex += HEX_PAIRS[bytes[i]!];
  return hex as Hex;
}

/** Parses `0x`-prefixed hex (even length, either case); throws a ScaleError naming `what` when it is not hex. */
export function fromHex(hex: string, what = 'value'): Uint8Array {
  if (typeof hex !== 'string') throw new ScaleError(`${what} is not 0x-prefixed hex`); // JSON input: any type
  const trimmed = hex.trim();
  if (!trimmed.startsWith('0x') || trimmed.length % 2 !== 0)
    throw new ScaleError(`${what} is not 0x-prefixed hex`);
  const bytes = new Uint8Array((trimmed.length - 2) / 2);
  // Buffer#write stops at the first character that is not hex, so a short count means bad input.
  const written = Buffer.from(bytes.buffer).write(trimmed.slice(2), 'hex');
  if (written !== bytes.length) throw new ScaleError(`${what} is not 0x-prefixed hex`);
  return bytes;
}

export function readU16(bytes: Uint8Array, offset: number): number {
  if (offset + 2 > bytes.length) throw new ScaleError(`u16 at ${offset} runs past the end (${bytes.length})`);
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

export function readU32(bytes: Uint8Array, offset: number): number {
  if (offset + 4 > bytes.length) throw new ScaleError(`u32 at ${offset} runs past the end (${bytes.length})`);
  return (
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>>
    0
  );
}

export function readU64(bytes: Uint8Array, offset: number): bigint {
  if (offset + 8 > bytes.length) throw new ScaleError(`u64 at ${offset} runs past the end`);
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, true);
}

export function u64le(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  out[0] = value & 0xff;
  out[1] = (value >>> 8) & 0xff;
  out[2] = (value >>> 16) & 0xff;
  out[3] = (value >>> 24) & 0xff;
  return out;
}

/**
 * Reads a SCALE compact integer that must fit a JS number (lengths, counts, u32 values).
 * Returns [value, nextOffset].
 */
export function readCompactNumber(bytes: Uint8Array, offset: number): [number, number] {
  const first = bytes[offset];
  if (first === undefined) throw new ScaleError(`compact at ${offset} runs past the end (${bytes.length})`);
  switch (first & 3) {
    case 0:
      return [first >>> 2, offset + 1];
    case 1:
      return [readU16(bytes, offset) >>> 2, offset + 2];
    case 2:
      return [readU32(bytes, offset) >>> 2, offset + 4];
    default: {
      const [value, next] = readCompactBig(bytes, offset);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ScaleError(`compact at ${offset} is too large`);
      return [Number(value), next];
    }
  }
}

/** Reads any SCALE compact integer as a bigint. */
export function readCompactBig(bytes: Uint8Array, offset: number): [bigint, number] {
  const first = bytes[offset];
  if (first === undefined) throw new ScaleError(`compact at ${offset} runs past the end (${bytes.length})`);
  if ((first & 3) !== 3) {
    const [value, next] = readCompactNumber(bytes, offset);
    return [BigInt(value), next];
  }
  const length = (first >>> 2) + 4;
  const end = offset + 1 + length;
  if (end > bytes.length) throw new ScaleError(`compact at ${offset} runs past the end (${bytes.length})`);
  let value = 0n;
  for (let i = end - 1; i > offset; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return [value, end];
}

export function encodeCompact(value: number | bigint): Uint8Array {
  const n = BigInt(value);
  if (n < 0n) throw new ScaleError('compact cannot encode a negative value');
  if (n < 1n << 6n) return Uint8Array.of(Number(n) << 2);
  if (n < 1n << 14n) {
    const v = (Number(n) << 2) | 1;
    return Uint8Array.of(v & 0xff, v >>> 8);
  }
  if (n < 1n << 30n) {
    const v = ((Number(n) << 2) | 2) >>> 0;
    return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  const out: number[] = [];
  let rest = n;
  while (rest > 0n) {
    out.push(Number(rest & 0xffn));
    rest >>= 8n;
  }
  return Uint8Array.of(((out.length - 4) << 2) | 3, ...out);
}

/** SCALE encoding of `Vec<u8>`: compact length then the bytes. */
export function encodeBytes(data: Uint8Array): Uint8Array {
  return concatBytes([encodeCompact(data.length), data]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Node's memcmp: it takes any Uint8Array as `this`, so no Buffer view is made. */
const nativeEquals = Buffer.prototype.equals;

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length > 64) return nativeEquals.call(a, b);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
