/**
 * Runtime metadata, reduced to the plain portable type registry and pallet table that the
 * metadata-driven codecs need. Parsing uses @polkadot/types once (a cold path); everything after
 * works on plain data so type names that differ across runtime versions never matter.
 */
import { Metadata, TypeRegistry } from '@polkadot/types';
import { readCompactNumber, ScaleError } from './bytes.ts';

export interface PortableField {
  readonly name: string | null;
  readonly type: number;
  readonly typeName: string | null;
}

export interface PortableVariant {
  readonly name: string;
  readonly index: number;
  readonly fields: readonly PortableField[];
}

export type TypeDef =
  | { readonly composite: { readonly fields: readonly PortableField[] } }
  | { readonly variant: { readonly variants: readonly PortableVariant[] } }
  | { readonly sequence: { readonly type: number } }
  | { readonly array: { readonly len: number; readonly type: number } }
  | { readonly tuple: readonly number[] }
  | { readonly primitive: string }
  | { readonly compact: { readonly type: number } }
  | { readonly bitSequence: { readonly bitStoreType: number; readonly bitOrderType: number } };

export interface PortableType {
  readonly id: number;
  readonly path: readonly string[];
  readonly def: TypeDef;
}

export interface PalletInfo {
  readonly name: string;
  readonly index: number;
  readonly callType: number | null;
  readonly eventType: number | null;
  readonly storage: ReadonlyMap<string, StorageEntryInfo>;
}

export interface StorageEntryInfo {
  readonly name: string;
  /** Value type id. */
  readonly valueType: number;
  /** Key type id for maps, null for plain values. */
  readonly keyType: number | null;
  readonly hashers: readonly string[];
}

export interface RuntimeMetadata {
  readonly version: number;
  readonly types: readonly PortableType[];
  readonly pallets: readonly PalletInfo[];
  readonly palletsByName: ReadonlyMap<string, PalletInfo>;
  /** The `@polkadot/types` registry with this metadata set; for cold paths and cross-checks. */
  readonly registry: TypeRegistry;
  readonly raw: Uint8Array;
}

const MAGIC = [0x6d, 0x65, 0x74, 0x61]; // "meta"

/**
 * Accepts `state_getMetadata` output (starts with the `meta` magic) or the runtime API's
 * `Option<OpaqueMetadata>` form (`0x01`, a compact length, then the metadata).
 */
export function unwrapMetadataBytes(bytes: Uint8Array): Uint8Array {
  const hasMagic = (offset: number) => MAGIC.every((byte, i) => bytes[offset + i] === byte);
  if (hasMagic(0)) return bytes;
  if (bytes[0] === 1) {
    const [, offset] = readCompactNumber(bytes, 1);
    if (hasMagic(offset)) return bytes.subarray(offset);
  }
  throw new ScaleError('metadata does not start with the "meta" magic');
}

interface LatestJson {
  lookup: { types: { id: number; type: { path: string[]; def: Record<string, unknown> } }[] };
  pallets: {
    name: string;
    index: number;
    calls: { type: number } | null;
    events: { type: number } | null;
    storage: {
      items: {
        name: string;
        type: { plain?: number; map?: { hashers: string[]; key: number; value: number } };
      }[];
    } | null;
  }[];
}

export function parseMetadata(input: Uint8Array): RuntimeMetadata {
  const raw = unwrapMetadataBytes(input);
  const registry = new TypeRegistry();
  let metadata: Metadata;
  try {
    metadata = new Metadata(registry, raw);
    registry.setMetadata(metadata);
  } catch (error) {
    throw new ScaleError(`metadata could not be parsed: ${(error as Error).message}`);
  }
  const latest = metadata.asLatest.toJSON() as unknown as LatestJson;
  const types: PortableType[] = latest.lookup.types.map((entry) => ({
    id: entry.id,
    path: entry.type.path,
    def: entry.type.def as unknown as TypeDef,
  }));
  types.forEach((type, i) => {
    if (type.id !== i) throw new ScaleError(`metadata type ${type.id} is out of order at ${i}`);
  });
  const pallets: PalletInfo[] = latest.pallets.map((pallet) => {
    const storage = new Map<string, StorageEntryInfo>();
    for (const item of pallet.storage?.items ?? []) {
      if (item.type.plain !== undefined) {
        storage.set(item.name, { name: item.name, valueType: item.type.plain, keyType: null, hashers: [] });
      } else if (item.type.map) {
        storage.set(item.name, {
          name: item.name,
          valueType: item.type.map.value,
          keyType: item.type.map.key,
          hashers: item.type.map.hashers,
        });
      }
    }
    return {
      name: pallet.name,
      index: pallet.index,
      callType: pallet.calls?.type ?? null,
      eventType: pallet.events?.type ?? null,
      storage,
    };
  });
  return {
    version: metadata.version,
    types,
    pallets,
    palletsByName: new Map(pallets.map((pallet) => [pallet.name, pallet])),
    registry,
    raw,
  };
}

export function requirePallet(metadata: RuntimeMetadata, name: string): PalletInfo {
  const pallet = metadata.palletsByName.get(name);
  if (!pallet) throw new ScaleError(`the runtime metadata has no ${name} pallet`);
  return pallet;
}

export function typeById(metadata: RuntimeMetadata, id: number): PortableType {
  const type = metadata.types[id];
  if (!type) throw new ScaleError(`metadata has no type ${id}`);
  return type;
}

export function variantsOf(metadata: RuntimeMetadata, id: number): readonly PortableVariant[] {
  const def = typeById(metadata, id).def;
  if (!('variant' in def)) throw new ScaleError(`type ${id} is not an enum`);
  return def.variant.variants;
}

export function fieldsOf(metadata: RuntimeMetadata, id: number): readonly PortableField[] {
  const def = typeById(metadata, id).def;
  if (!('composite' in def))
    throw new ScaleError(`type ${id} (${typeById(metadata, id).path.join('::')}) is not a struct`);
  return def.composite.fields;
}

/** First type whose path ends with `name` (e.g. `VersionedXcm`), or null. */
export function findTypeByPathEnd(metadata: RuntimeMetadata, name: string): PortableType | null {
  return metadata.types.find((type) => type.path[type.path.length - 1] === name) ?? null;
}
