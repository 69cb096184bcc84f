/**
 * Candidate descriptors, parsed from their 292 raw bytes (DESIGN.md §2). The v1 and v2 layouts
 * have the same size; the version is told apart by the reserved fields, exactly as the runtime does.
 */
import { type Hex, readU16, readU32, ScaleError, toHex } from './bytes.ts';

export const DESCRIPTOR_SIZE = 292;

export type DescriptorVersion = 'v1' | 'v2' | 'unknown';

interface CommonFields {
  readonly paraId: number;
  readonly relayParent: Hex;
  readonly persistedValidationDataHash: Hex;
  readonly povHash: Hex;
  readonly erasureRoot: Hex;
  readonly paraHead: Hex;
  readonly validationCodeHash: Hex;
}

export interface DescriptorV1 extends CommonFields {
  readonly version: 'v1';
  readonly collator: Hex;
  readonly signature: Hex;
}

export interface DescriptorV2 extends CommonFields {
  readonly version: 'v2';
  readonly coreIndex: number;
  readonly sessionIndex: number;
}

/** Reserved fields all zero but a version byte this code does not know. */
export interface DescriptorUnknown extends CommonFields {
  readonly version: 'unknown';
  readonly versionByte: number;
  readonly coreIndex: number;
  readonly sessionIndex: number;
}

export type Descriptor = DescriptorV1 | DescriptorV2 | DescriptorUnknown;

// Byte offsets shared by both layouts.
const PARA_ID = 0;
const RELAY_PARENT = 4;
const COLLATOR_OR_V2 = 36; // v1 collator [32]; v2 version u8 @36, core_index u16 @37, session u32 @39, reserved1 [25] @43
const PVD_HASH = 68;
const POV_HASH = 100;
const ERASURE_ROOT = 132;
const SIGNATURE_OR_RESERVED2 = 164; // [64]
const PARA_HEAD = 228;
const VALIDATION_CODE_HASH = 260;

function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function descriptorVersion(bytes: Uint8Array): DescriptorVersion {
  if (bytes.length !== DESCRIPTOR_SIZE) {
    throw new ScaleError(`a candidate descriptor is ${DESCRIPTOR_SIZE} bytes, got ${bytes.length}`);
  }
  const reservedZero = isZero(bytes, 43, 68) && isZero(bytes, SIGNATURE_OR_RESERVED2, PARA_HEAD);
  if (!reservedZero) return 'v1';
  return bytes[COLLATOR_OR_V2] === 0 ? 'v2' : 'unknown';
}

export function parseDescriptor(bytes: Uint8Array): Descriptor {
  const version = descriptorVersion(bytes);
  const hash = (offset: number) => toHex(bytes.subarray(offset, offset + 32));
  const common: CommonFields = {
    paraId: readU32(bytes, PARA_ID),
    relayParent: hash(RELAY_PARENT),
    persistedValidationDataHash: hash(PVD_HASH),
    povHash: hash(POV_HASH),
    erasureRoot: hash(ERASURE_ROOT),
    paraHead: hash(PARA_HEAD),
    validationCodeHash: hash(VALIDATION_CODE_HASH),
  };
  if (version === 'v1') {
    return {
      ...common,
      version,
      collator: hash(COLLATOR_OR_V2),
      signature: toHex(bytes.subarray(SIGNATURE_OR_RESERVED2, PARA_HEAD)),
    };
  }
  const coreIndex = readU16(bytes, COLLATOR_OR_V2 + 1);
  const sessionIndex = readU32(bytes, COLLATOR_OR_V2 + 3);
  if (version === 'v2') return { ...common, version, coreIndex, sessionIndex };
  return { ...common, version, versionByte: bytes[COLLATOR_OR_V2]!, coreIndex, sessionIndex };
}

/** The para id without parsing the rest (the first four bytes). */
/** The relay parent of a descriptor (either layout), without parsing the rest. */
export function descriptorRelayParent(bytes: Uint8Array): Hex {
  return toHex(bytes.subarray(RELAY_PARENT, RELAY_PARENT + 32));
}

export function descriptorParaId(bytes: Uint8Array): number {
  return readU32(bytes, PARA_ID);
}
