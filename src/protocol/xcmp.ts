/**
 * XCMP message format (DESIGN.md §2): the first byte of an HRMP message's data says how the rest
 * is laid out. `0x00`/`0x03` carry XCM programs, `0x01` blobs and `0x02` signals are reported as such.
 */
import { type Hex, readCompactNumber, ScaleError, toHex } from './bytes.ts';
import type { CodecRegistry, DecodedValue, TypeCodec } from './codec.ts';
import { findTypeByPathEnd, type RuntimeMetadata } from './metadata.ts';

export const XCMP_FORMAT = {
  concatenatedVersionedXcm: 0x00,
  concatenatedEncodedBlob: 0x01,
  signals: 0x02,
  concatenatedOpaqueVersionedXcm: 0x03,
} as const;

export type XcmpFormat = keyof typeof XCMP_FORMAT;

export class XcmpFormatError extends Error {
  override readonly name = 'XcmpFormatError';
}

export interface XcmProgram {
  /** The program's SCALE bytes (one `VersionedXcm`). */
  readonly encoded: Hex;
  readonly xcm: DecodedValue;
}

export type XcmpMessage =
  | {
      readonly format: 'concatenatedVersionedXcm' | 'concatenatedOpaqueVersionedXcm';
      readonly programs: readonly XcmProgram[];
    }
  | { readonly format: 'concatenatedEncodedBlob' | 'signals'; readonly payload: Hex };

/** The `VersionedXcm` codec of a runtime (type names vary by version; the path's last segment does not). */
export function versionedXcmCodec(metadata: RuntimeMetadata, registry: CodecRegistry): TypeCodec {
  const type = findTypeByPathEnd(metadata, 'VersionedXcm');
  if (!type) throw new XcmpFormatError('the runtime metadata has no VersionedXcm type');
  return registry.codec(type.id);
}

function decodeProgram(xcm: TypeCodec, bytes: Uint8Array, start: number, end: number): XcmProgram {
  const reader = { bytes: bytes.subarray(0, end), offset: start };
  const value = xcm.decode(reader);
  if (reader.offset !== end) {
    throw new XcmpFormatError(`XCM program at byte ${start} ends at ${reader.offset}, expected ${end}`);
  }
  return { encoded: toHex(bytes.subarray(start, end)), xcm: value };
}

/** Splits one HRMP message into its XCM programs; throws an XcmpFormatError naming any bad byte. */
export function splitXcmpMessage(data: Uint8Array, xcm: TypeCodec): XcmpMessage {
  const formatByte = data[0];
  if (formatByte === undefined) throw new XcmpFormatError('empty message: no XCMP format byte');
  try {
    switch (formatByte) {
      case XCMP_FORMAT.concatenatedVersionedXcm: {
        const programs: XcmProgram[] = [];
        let offset = 1;
        while (offset < data.length) {
          const end = xcm.skip(data, offset);
          programs.push(decodeProgram(xcm, data, offset, end));
          offset = end;
        }
        return { format: 'concatenatedVersionedXcm', programs };
      }
      case XCMP_FORMAT.concatenatedOpaqueVersionedXcm: {
        const programs: XcmProgram[] = [];
        let offset = 1;
        while (offset < data.length) {
          const [length, start] = readCompactNumber(data, offset);
          const end = start + length;
          if (end > data.length) throw new XcmpFormatError(`encoded XCM at byte ${offset} runs past the end`);
          programs.push(decodeProgram(xcm, data, start, end));
          offset = end;
        }
        return { format: 'concatenatedOpaqueVersionedXcm', programs };
      }
      case XCMP_FORMAT.concatenatedEncodedBlob:
        return { format: 'concatenatedEncodedBlob', payload: toHex(data.subarray(1)) };
      case XCMP_FORMAT.signals:
        return { format: 'signals', payload: toHex(data.subarray(1)) };
      default:
        throw new XcmpFormatError(
          `unknown XCMP format byte 0x${formatByte.toString(16).padStart(2, '0')} (expected 0x00-0x03)`,
        );
    }
  } catch (error) {
    if (error instanceof ScaleError) throw new XcmpFormatError(`malformed XCM: ${error.message}`);
    throw error;
  }
}
