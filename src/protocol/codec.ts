/**
 * Metadata-driven SCALE walkers. For each portable type id we compile, once, a `skip` function
 * (bytes, offset) → next offset, and a `decode` function producing plain JSON-friendly values.
 * The hot paths (finding commitments inside a block, skipping unrelated events) only skip;
 * fixed-size types collapse to a constant stride.
 */
import { readCompactBig, readCompactNumber, ScaleError, toHex } from './bytes.ts';
import type { PortableField, PortableType, RuntimeMetadata } from './metadata.ts';

export type Skip = (bytes: Uint8Array, offset: number) => number;

export type DecodedValue =
  | null
  | boolean
  | number
  | string
  | readonly DecodedValue[]
  | { readonly [key: string]: DecodedValue };

export interface Reader {
  readonly bytes: Uint8Array;
  offset: number;
}

export interface TypeCodec {
  readonly id: number;
  /** Encoded size when every value of the type has the same size, else null. */
  readonly fixedSize: number | null;
  readonly skip: Skip;
  readonly decode: (reader: Reader) => DecodedValue;
}

const PRIMITIVE_SIZES: Record<string, number> = {
  Bool: 1,
  Char: 4,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U32: 4,
  I32: 4,
  U64: 8,
  I64: 8,
  U128: 16,
  I128: 16,
  U256: 32,
  I256: 32,
};

function overrun(offset: number, length: number): never {
  throw new ScaleError(`input ends at ${length}, value needs bytes up to ${offset}`);
}

function check(offset: number, bytes: Uint8Array): number {
  if (offset > bytes.length) overrun(offset, bytes.length);
  return offset;
}

function readLittleEndian(bytes: Uint8Array, offset: number, size: number, signed: boolean): number | string {
  check(offset + size, bytes);
  if (size <= 4) {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[offset + i]!;
    if (signed && value >= 2 ** (size * 8 - 1)) value -= 2 ** (size * 8);
    return value;
  }
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i]!);
  if (signed && value >= 1n << BigInt(size * 8 - 1)) value -= 1n << BigInt(size * 8);
  return bigToJson(value);
}

function bigToJson(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Compiles and caches codecs for every type of one runtime's metadata. */
export class CodecRegistry {
  readonly #types: readonly PortableType[];
  readonly #codecs = new Map<number, TypeCodec>();

  constructor(metadata: Pick<RuntimeMetadata, 'types'>) {
    this.#types = metadata.types;
  }

  codec(id: number): TypeCodec {
    const cached = this.#codecs.get(id);
    if (cached) return cached;
    // Recursive types (XCM instructions contain XCM) refer to themselves while compiling:
    // a forwarding placeholder breaks the cycle.
    let compiled: TypeCodec | undefined;
    const placeholder: TypeCodec = {
      id,
      fixedSize: null,
      skip: (bytes, offset) => compiled!.skip(bytes, offset),
      decode: (reader) => compiled!.decode(reader),
    };
    this.#codecs.set(id, placeholder);
    compiled = this.#compile(id);
    this.#codecs.set(id, compiled);
    return compiled;
  }

  /** Decodes a whole value of type `id` from `bytes`; trailing bytes are an error. */
  decodeAll(id: number, bytes: Uint8Array): DecodedValue {
    const reader: Reader = { bytes, offset: 0 };
    const value = this.codec(id).decode(reader);
    if (reader.offset !== bytes.length) {
      throw new ScaleError(`type ${id} decoded ${reader.offset} of ${bytes.length} bytes`);
    }
    return value;
  }

  #compile(id: number): TypeCodec {
    const type = this.#types[id];
    if (!type) throw new ScaleError(`metadata has no type ${id}`);
    const def = type.def;
    if ('primitive' in def) return this.#primitive(id, def.primitive);
    if ('compact' in def) return this.#compact(id);
    if ('composite' in def) return this.#fields(id, def.composite.fields);
    if ('tuple' in def)
      return this.#fields(
        id,
        def.tuple.map((t) => ({ name: null, type: t, typeName: null })),
      );
    if ('array' in def) return this.#array(id, def.array.len, def.array.type);
    if ('sequence' in def) return this.#sequence(id, def.sequence.type);
    if ('variant' in def) return this.#variant(id, type);
    if ('bitSequence' in def) return this.#bitSequence(id, def.bitSequence.bitStoreType);
    throw new ScaleError(`type ${id} has an unsupported definition ${Object.keys(def).join(',')}`);
  }

  #primitive(id: number, name: string): TypeCodec {
    if (name === 'Str') {
      return {
        id,
        fixedSize: null,
        skip: (bytes, offset) => {
          const [length, start] = readCompactNumber(bytes, offset);
          return check(start + length, bytes);
        },
        decode: (reader) => {
          const [length, start] = readCompactNumber(reader.bytes, reader.offset);
          const end = check(start + length, reader.bytes);
          reader.offset = end;
          return new TextDecoder().decode(reader.bytes.subarray(start, end));
        },
      };
    }
    const size = PRIMITIVE_SIZES[name];
    if (size === undefined) throw new ScaleError(`type ${id} is an unknown primitive ${name}`);
    const signed = name.startsWith('I');
    return {
      id,
      fixedSize: size,
      skip: (bytes, offset) => check(offset + size, bytes),
      decode: (reader) => {
        const start = reader.offset;
        reader.offset = check(start + size, reader.bytes);
        if (name === 'Bool') {
          const byte = reader.bytes[start]!;
          if (byte > 1) throw new ScaleError(`invalid bool byte ${byte} at ${start}`);
          return byte === 1;
        }
        if (name === 'Char')
          return String.fromCodePoint(readLittleEndian(reader.bytes, start, 4, false) as number);
        return readLittleEndian(reader.bytes, start, size, signed);
      },
    };
  }

  #compact(id: number): TypeCodec {
    return {
      id,
      fixedSize: null,
      skip: (bytes, offset) => {
        const first = bytes[offset];
        if (first === undefined) overrun(offset + 1, bytes.length);
        const mode = first & 3;
        const size = mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : (first >>> 2) + 5;
        return check(offset + size, bytes);
      },
      decode: (reader) => {
        const [value, next] = readCompactBig(reader.bytes, reader.offset);
        reader.offset = next;
        return bigToJson(value);
      },
    };
  }

  #fields(id: number, fields: readonly PortableField[]): TypeCodec {
    const codecs = fields.map((field) => this.codec(field.type));
    const fixedSize = codecs.every((c) => c.fixedSize !== null)
      ? codecs.reduce((sum, c) => sum + c.fixedSize!, 0)
      : null;
    const named = fields.length > 0 && fields.every((field) => field.name !== null);
    const keys = fields.map((field) => camel(field.name ?? ''));
    const skip: Skip =
      fixedSize !== null
        ? (bytes, offset) => check(offset + fixedSize, bytes)
        : (bytes, offset) => {
            let next = offset;
            for (const codec of codecs) next = codec.skip(bytes, next);
            return next;
          };
    const decode = (reader: Reader): DecodedValue => {
      if (named) {
        const out: Record<string, DecodedValue> = {};
        codecs.forEach((codec, i) => {
          out[keys[i]!] = codec.decode(reader);
        });
        return out;
      }
      if (codecs.length === 1) return codecs[0]!.decode(reader);
      return codecs.map((codec) => codec.decode(reader));
    };
    return { id, fixedSize, skip, decode };
  }

  #isByte(elementType: number): boolean {
    const def = this.#types[elementType]?.def;
    return def !== undefined && 'primitive' in def && def.primitive === 'U8';
  }

  #array(id: number, length: number, elementType: number): TypeCodec {
    const element = this.codec(elementType);
    const fixedSize = element.fixedSize === null ? null : element.fixedSize * length;
    const isBytes = this.#isByte(elementType);
    return {
      id,
      fixedSize,
      skip:
        fixedSize !== null
          ? (bytes, offset) => check(offset + fixedSize, bytes)
          : (bytes, offset) => {
              let next = offset;
              for (let i = 0; i < length; i++) next = element.skip(bytes, next);
              return next;
            },
      decode: (reader) => {
        if (isBytes) {
          const start = reader.offset;
          reader.offset = check(start + length, reader.bytes);
          return toHex(reader.bytes.subarray(start, reader.offset));
        }
        const out: DecodedValue[] = [];
        for (let i = 0; i < length; i++) out.push(element.decode(reader));
        return out;
      },
    };
  }

  #sequence(id: number, elementType: number): TypeCodec {
    const element = this.codec(elementType);
    const isBytes = this.#isByte(elementType);
    return {
      id,
      fixedSize: null,
      skip: (bytes, offset) => {
        const [count, start] = readCompactNumber(bytes, offset);
        const size = element.fixedSize;
        if (size !== null) return check(start + count * size, bytes);
        let next = start;
        for (let i = 0; i < count; i++) next = check(element.skip(bytes, next), bytes);
        return next;
      },
      decode: (reader) => {
        const [count, start] = readCompactNumber(reader.bytes, reader.offset);
        reader.offset = start;
        if (isBytes) {
          reader.offset = check(start + count, reader.bytes);
          return toHex(reader.bytes.subarray(start, reader.offset));
        }
        // Every element takes at least one byte unless it is zero-sized, so a lying length
        // cannot make this loop longer than the input.
        if (element.fixedSize !== 0) check(start + count, reader.bytes);
        const out: DecodedValue[] = [];
        for (let i = 0; i < count; i++) out.push(element.decode(reader));
        return out;
      },
    };
  }

  #variant(id: number, type: PortableType): TypeCodec {
    const def = type.def as {
      variant: { variants: readonly { name: string; index: number; fields: readonly PortableField[] }[] };
    };
    const byIndex = new Array<{ name: string; fields: TypeCodec; hasFields: boolean } | undefined>(256);
    for (const variant of def.variant.variants) {
      byIndex[variant.index] = {
        name: variant.name,
        fields: this.#fields(-1, variant.fields),
        hasFields: variant.fields.length > 0,
      };
    }
    const sizes = def.variant.variants.map((v) => byIndex[v.index]!.fields.fixedSize);
    const fixedSize =
      sizes.length > 0 && sizes.every((size) => size !== null && size === sizes[0]) ? 1 + sizes[0]! : null;
    const path = type.path.join('::') || `type ${id}`;
    // Option<T> decodes to null or the value itself, as JSON clients expect.
    const isOption =
      path === 'Option' &&
      def.variant.variants.length === 2 &&
      byIndex[0]?.name === 'None' &&
      byIndex[1]?.name === 'Some';
    const pick = (bytes: Uint8Array, offset: number) => {
      const index = bytes[offset];
      if (index === undefined) overrun(offset + 1, bytes.length);
      const variant = byIndex[index];
      if (!variant) throw new ScaleError(`${path}: no variant with index ${index} at offset ${offset}`);
      return variant;
    };
    return {
      id,
      fixedSize,
      skip: (bytes, offset) => pick(bytes, offset).fields.skip(bytes, offset + 1),
      decode: (reader) => {
        const variant = pick(reader.bytes, reader.offset);
        reader.offset += 1;
        if (isOption) return variant.hasFields ? variant.fields.decode(reader) : null;
        if (!variant.hasFields) return variant.name;
        return { [variant.name]: variant.fields.decode(reader) };
      },
    };
  }

  #bitSequence(id: number, storeType: number): TypeCodec {
    const storeSize = this.codec(storeType).fixedSize ?? 1;
    const span = (bytes: Uint8Array, offset: number): [number, number] => {
      const [bits, start] = readCompactNumber(bytes, offset);
      const words = Math.ceil(bits / (storeSize * 8));
      return [start, check(start + words * storeSize, bytes)];
    };
    return {
      id,
      fixedSize: null,
      skip: (bytes, offset) => span(bytes, offset)[1],
      decode: (reader) => {
        const [start, end] = span(reader.bytes, reader.offset);
        reader.offset = end;
        return toHex(reader.bytes.subarray(start, end));
      },
    };
  }
}

/** Field codecs of a struct type, by field name, for walkers that need byte ranges. */
export interface FieldWalker {
  readonly names: readonly string[];
  readonly codecs: readonly TypeCodec[];
  indexOf(name: string): number;
}

export function fieldWalker(
  registry: CodecRegistry,
  fields: readonly PortableField[],
  where: string,
): FieldWalker {
  const names = fields.map((field) => field.name ?? '');
  return {
    names,
    codecs: fields.map((field) => registry.codec(field.type)),
    indexOf(name: string) {
      const index = names.indexOf(name);
      if (index < 0) throw new ScaleError(`${where} has no field ${name} (fields: ${names.join(', ')})`);
      return index;
    },
  };
}
