/**
 * The devnet's encoder: every block, event and storage value goes through @polkadot/types with the
 * selected runtime metadata, as a real runtime's SCALE output would — independent of the sidecar's
 * own byte walkers, so tests that compare the two can catch either one being wrong.
 */
import type { Codec } from '@polkadot/types/types';
import staticPolkadot, {
  version as staticPolkadotVersion,
} from '@polkadot/types-support/metadata/static-polkadot';
import polkadotV15 from '@polkadot/types-support/metadata/v15/polkadot-hex';
import polkadotV15Version from '@polkadot/types-support/metadata/v15/polkadot-ver';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { fromHex } from '../protocol/bytes.ts';
import {
  type PortableVariant,
  parseMetadata,
  type RuntimeMetadata,
  requirePallet,
  type StorageEntryInfo,
  typeById,
  variantsOf,
} from '../protocol/metadata.ts';

export type DevnetRuntimeName = 'polkadot-v15' | 'static-polkadot';

export interface RuntimeVersionJson {
  readonly specName: string;
  readonly implName: string;
  readonly authoringVersion: number;
  readonly specVersion: number;
  readonly implVersion: number;
  readonly apis: readonly (readonly [string, number])[];
  readonly transactionVersion: number;
  readonly stateVersion?: number;
}

const RUNTIMES: Record<DevnetRuntimeName, { hex: string; version: RuntimeVersionJson }> = {
  'polkadot-v15': { hex: polkadotV15, version: polkadotV15Version as unknown as RuntimeVersionJson },
  'static-polkadot': { hex: staticPolkadot, version: staticPolkadotVersion as unknown as RuntimeVersionJson },
};

export function twox128(text: string): Uint8Array {
  return xxhashAsU8a(text, 128);
}

const HASHERS: Record<string, (key: Uint8Array) => Uint8Array> = {
  Twox64Concat: (key) => u8aConcat(xxhashAsU8a(key, 64), key),
  Identity: (key) => key,
  Twox128: (key) => xxhashAsU8a(key, 128),
  Twox256: (key) => xxhashAsU8a(key, 256),
};

/** A BitVec already SCALE-encoded (compact bit length, then Lsb0 bytes): @polkadot/types takes those as bytes. */
export class EncodedBitVec {
  constructor(readonly encoded: Uint8Array) {}
}

function bytesAsHex(value: unknown): unknown {
  if (value instanceof EncodedBitVec) return value.encoded;
  if (value instanceof Uint8Array) return u8aToHex(value);
  if (Array.isArray(value)) return value.map(bytesAsHex);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytesAsHex(v)]));
  }
  return value;
}

export class DevnetEncoder {
  readonly metadata: RuntimeMetadata;
  readonly version: RuntimeVersionJson;
  /** `state_getMetadata` bytes (starting with the `meta` magic). */
  readonly metadataBytes: Uint8Array;
  /** `Metadata_metadata_at_version` answer: `Option<OpaqueMetadata>`. */
  readonly opaqueMetadata: Uint8Array;
  readonly #lookupNames = new Map<number, string>();
  readonly #storagePrefixes = new Map<StorageEntryInfo, Uint8Array>();
  #descriptorVersion: 'v1' | 'v2' | null = null;

  /**
   * A relay runtime by name, or any runtime's metadata (hex), its version then read from the
   * metadata's `System::Version` constant (a para node's runtime).
   */
  constructor(runtime: DevnetRuntimeName | { readonly hex: string }) {
    const hex = typeof runtime === 'string' ? RUNTIMES[runtime].hex : runtime.hex;
    const raw = fromHex(hex.trim());
    this.metadata = parseMetadata(raw);
    this.metadataBytes = this.metadata.raw;
    this.opaqueMetadata =
      raw[0] === 1 ? raw : u8aConcat(Uint8Array.of(1), this.encode('Bytes', this.metadataBytes));
    this.version = typeof runtime === 'string' ? RUNTIMES[runtime].version : this.#versionConstant();
  }

  #versionConstant(): RuntimeVersionJson {
    const system = this.metadata.registry.metadata.pallets.find((p) => p.name.eq('System'));
    const constant = system?.constants.find((c) => c.name.eq('Version'));
    if (!constant) throw new Error('devnet: the runtime metadata has no System::Version constant');
    return this.metadata.registry
      .createType('RuntimeVersion', constant.value)
      .toJSON() as unknown as RuntimeVersionJson;
  }

  /** A relay runtime's candidate descriptor layout: v1 (collator and signature) or v2. */
  get descriptorVersion(): 'v1' | 'v2' {
    this.#descriptorVersion ??= this.fieldNames(this.receiptTypes().descriptor).includes('collator')
      ? 'v1'
      : 'v2';
    return this.#descriptorVersion;
  }

  /**
   * Encodes `value` as the named @polkadot/types type. Byte arrays are handed over as hex:
   * @polkadot/types reads a Uint8Array given for `Bytes` or `Option<…>` as already SCALE-encoded.
   */
  encode(typeName: string, value: unknown): Uint8Array {
    return this.metadata.registry.createTypeUnsafe<Codec>(typeName, [bytesAsHex(value)]).toU8a();
  }

  /** Encodes `value` as metadata type `id` (through its `Lookup<id>` definition). */
  encodeType(id: number, value: unknown): Uint8Array {
    let name = this.#lookupNames.get(id);
    if (!name) {
      name = this.metadata.registry.createLookupType(id);
      this.#lookupNames.set(id, name);
    }
    return this.encode(name, value);
  }

  fieldNames(id: number): string[] {
    const def = typeById(this.metadata, id).def;
    return 'composite' in def ? def.composite.fields.map((f) => f.name ?? '') : [];
  }

  fieldType(id: number, name: string): number {
    const def = typeById(this.metadata, id).def;
    const field = 'composite' in def ? def.composite.fields.find((f) => f.name === name) : undefined;
    if (!field) throw new Error(`devnet: type ${id} has no field ${name}`);
    return field.type;
  }

  variant(typeId: number, name: string): PortableVariant {
    const found = variantsOf(this.metadata, typeId).find((v) => v.name === name);
    if (!found) throw new Error(`devnet: type ${typeId} has no variant ${name}`);
    return found;
  }

  /** `ParaInherent.enter`'s argument type and indices. */
  paraInherentCall(): { palletIndex: number; callIndex: number; dataType: number } {
    const pallet = requirePallet(this.metadata, 'ParaInherent');
    const enter = this.variant(pallet.callType!, 'enter');
    return { palletIndex: pallet.index, callIndex: enter.index, dataType: enter.fields[0]!.type };
  }

  receiptTypes(): {
    committedReceipt: number;
    descriptor: number;
    commitments: number;
    backedCandidate: number;
  } {
    const { dataType } = this.paraInherentCall();
    const backedSeq = typeById(this.metadata, this.fieldType(dataType, 'backed_candidates')).def;
    if (!('sequence' in backedSeq)) throw new Error('devnet: backed_candidates is not a sequence');
    const backedCandidate = backedSeq.sequence.type;
    const committedReceipt = this.fieldType(backedCandidate, 'candidate');
    return {
      backedCandidate,
      committedReceipt,
      descriptor: this.fieldType(committedReceipt, 'descriptor'),
      commitments: this.fieldType(committedReceipt, 'commitments'),
    };
  }

  storageEntry(pallet: string, item: string): StorageEntryInfo {
    const entry = requirePallet(this.metadata, pallet).storage.get(item);
    if (!entry) throw new Error(`devnet: no storage ${pallet}.${item}`);
    return entry;
  }

  hasStorage(pallet: string, item: string): boolean {
    return this.metadata.palletsByName.get(pallet)?.storage.has(item) ?? false;
  }

  /** Storage key: twox128(pallet) ‖ twox128(item) ‖ hasher(SCALE(key)) for each map key. */
  storageKey(pallet: string, item: string, ...keys: Uint8Array[]): string {
    const entry = this.storageEntry(pallet, item);
    let prefix = this.#storagePrefixes.get(entry);
    if (!prefix) {
      prefix = u8aConcat(twox128(pallet), twox128(item));
      this.#storagePrefixes.set(entry, prefix);
    }
    const parts = [prefix];
    keys.forEach((key, i) => {
      const hasher = HASHERS[entry.hashers[i] ?? ''];
      if (!hasher) throw new Error(`devnet: unsupported hasher ${entry.hashers[i]} for ${pallet}.${item}`);
      parts.push(hasher(key));
    });
    return u8aToHex(u8aConcat(...parts));
  }
}
