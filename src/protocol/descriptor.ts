/**
 * Candidate descriptors, parsed from their 292 raw bytes (DESIGN.md §2). The v1, v2 and v3 layouts
 * have the same size; the version is told apart by the reserved fields and the version byte, as
 * polkadot-sdk's `CandidateDescriptorV2::version` does (docs/verification.md#descriptor-versions).
 */
import { type Hex, readU16, readU32, ScaleError, toHex } from './bytes.ts';

export const DESCRIPTOR_SIZE = 292;

export type DescriptorVersion = 'v1' | 'v2' | 'v3' | 'unknown';

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

/**
 * v3 (polkadot-sdk PR #10472, runtimes 2002001+ with the node feature on): version byte 1, and two
 * fields taken from the reserved bytes: `scheduling_session_offset` (byte 43) and
 * `scheduling_parent` (bytes 164..196), the relay block whose claim queue scheduled it.
 */
export interface DescriptorV3 extends CommonFields {
  readonly version: 'v3';
  readonly coreIndex: number;
  readonly sessionIndex: number;
  readonly schedulingSessionOffset: number;
  readonly schedulingParent: Hex;
}

/** Reserved fields all zero but a version byte this code does not know. */
export interface DescriptorUnknown extends CommonFields {
  readonly version: 'unknown';
  readonly versionByte: number;
  readonly coreIndex: number;
  readonly sessionIndex: number;
}

export type Descriptor = DescriptorV1 | DescriptorV2 | DescriptorV3 | DescriptorUnknown;

// Byte offsets shared by both layouts.
const PARA_ID = 0;
const RELAY_PARENT = 4;
const COLLATOR_OR_V2 = 36; // v1 collator [32]; v2 version u8 @36, core_index u16 @37, session u32 @39, reserved1 [25] @43
const RESERVED1 = 43; // v3: scheduling_session_offset u8 @43, then 24 reserved bytes
const PVD_HASH = 68;
const POV_HASH = 100;
const ERASURE_ROOT = 132;
const SIGNATURE_OR_RESERVED2 = 164; // [64]; v3: scheduling_parent [32] @164, then 32 reserved bytes
const V3_RESERVED2_TAIL = 196;
const V3_VERSION_BYTE = 1;
const PARA_HEAD = 228;
const VALIDATION_CODE_HASH = 260;

function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The version, as a runtime with v3 descriptors enabled decides it: version byte 1 with the bytes
 * v3 keeps reserved all zero is v3 (what the pre-v3 rule calls v1, because `scheduling_parent`
 * fills reserved bytes); otherwise any non-zero reserved byte is v1, and with all of them zero the
 * version byte tells v2 (0) from unknown. A runtime without the feature refuses to back a v3 shape,
 * so in a backed candidate the shape alone says which rule applied.
 */
export function descriptorVersion(bytes: Uint8Array): DescriptorVersion {
  if (bytes.length !== DESCRIPTOR_SIZE) {
    throw new ScaleError(`a candidate descriptor is ${DESCRIPTOR_SIZE} bytes, got ${bytes.length}`);
  }
  const v3Reserved = isZero(bytes, RESERVED1 + 1, PVD_HASH) && isZero(bytes, V3_RESERVED2_TAIL, PARA_HEAD);
  if (bytes[COLLATOR_OR_V2] === V3_VERSION_BYTE && v3Reserved) return 'v3';
  const reservedZero = isZero(bytes, RESERVED1, PVD_HASH) && isZero(bytes, SIGNATURE_OR_RESERVED2, PARA_HEAD);
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
  if (version === 'v3')
    return {
      ...common,
      ...{ version, coreIndex, sessionIndex },
      schedulingSessionOffset: bytes[RESERVED1]!,
      schedulingParent: hash(SIGNATURE_OR_RESERVED2),
    };
  return { ...common, version, versionByte: bytes[COLLATOR_OR_V2]!, coreIndex, sessionIndex };
}

/** The relay parent of a descriptor (any layout), without parsing the rest. */
export function descriptorRelayParent(bytes: Uint8Array): Hex {
  return toHex(bytes.subarray(RELAY_PARENT, RELAY_PARENT + 32));
}

/** The para id without parsing the rest (the first four bytes). */
export function descriptorParaId(bytes: Uint8Array): number {
  return readU32(bytes, PARA_ID);
}

/** What a v3 descriptor schedules by; null for the other versions. */
export function descriptorScheduling(bytes: Uint8Array): { parent: Hex; sessionOffset: number } | null {
  const descriptor = parseDescriptor(bytes);
  return descriptor.version === 'v3'
    ? { parent: descriptor.schedulingParent, sessionOffset: descriptor.schedulingSessionOffset }
    : null;
}
