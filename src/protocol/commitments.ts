/**
 * Candidate commitments: decoded from their SCALE bytes by the fixed field order of DESIGN.md §2,
 * and hashed from exactly those bytes, so the hash is the chain's without any re-encoding.
 */
import {
  concatBytes,
  encodeBytes,
  encodeCompact,
  readCompactNumber,
  readU32,
  ScaleError,
  u32le,
} from './bytes.ts';
import { blake2_256 } from './hash.ts';

export interface OutboundHrmpMessage {
  readonly recipient: number;
  readonly data: Uint8Array;
}

export interface CandidateCommitments {
  readonly upwardMessages: readonly Uint8Array[];
  readonly horizontalMessages: readonly OutboundHrmpMessage[];
  readonly newValidationCode: Uint8Array | null;
  readonly headData: Uint8Array;
  readonly processedDownwardMessages: number;
  readonly hrmpWatermark: number;
}

function compactIn(bytes: Uint8Array, offset: number, what: string): [number, number] {
  try {
    return readCompactNumber(bytes, offset);
  } catch (error) {
    throw new ScaleError(`${what}: ${(error as Error).message}`);
  }
}

function readBytes(
  bytes: Uint8Array,
  offset: number,
  what: string,
  within = 'commitments',
): [Uint8Array, number] {
  const [length, start] = compactIn(bytes, offset, `${within}: ${what}'s length`);
  const end = start + length;
  if (end > bytes.length) throw new ScaleError(`${within}: ${what} at ${offset} runs past the end`);
  return [bytes.subarray(start, end), end];
}

/**
 * `Vec<OutboundHrmpMessage { recipient: u32, data: Vec<u8> }>`: the commitments' horizontal
 * messages, and the value of cumulus' `ParachainSystem::HrmpOutboundMessages`. Data are views into `bytes`.
 */
export function decodeHorizontalMessages(
  bytes: Uint8Array,
  offset: number,
  what: string,
): [OutboundHrmpMessage[], number] {
  const [count, start] = compactIn(bytes, offset, `${what}: horizontal message count`);
  let pos = start;
  const messages: OutboundHrmpMessage[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 4 > bytes.length) throw new ScaleError(`${what}: horizontal message ${i} runs past the end`);
    const recipient = readU32(bytes, pos);
    const [data, next] = readBytes(bytes, pos + 4, `horizontal message ${i}`, what);
    messages.push({ recipient, data });
    pos = next;
  }
  return [messages, pos];
}

/** Decodes commitments; returns the value and the offset after it. Data arrays are views into `bytes`. */
export function decodeCommitments(bytes: Uint8Array, offset = 0): [CandidateCommitments, number] {
  let pos = offset;
  let count: number;
  [count, pos] = readCompactNumber(bytes, pos);
  const upwardMessages: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const [data, next] = readBytes(bytes, pos, `upward message ${i}`);
    upwardMessages.push(data);
    pos = next;
  }
  const [horizontalMessages, afterHorizontal] = decodeHorizontalMessages(bytes, pos, 'commitments');
  pos = afterHorizontal;
  const optionTag = bytes[pos];
  let newValidationCode: Uint8Array | null = null;
  if (optionTag === 1) {
    [newValidationCode, pos] = readBytes(bytes, pos + 1, 'new validation code');
  } else if (optionTag === 0) {
    pos += 1;
  } else {
    throw new ScaleError(`commitments: invalid Option tag ${optionTag} for new_validation_code at ${pos}`);
  }
  const [headData, afterHead] = readBytes(bytes, pos, 'head data');
  const processedDownwardMessages = readU32(bytes, afterHead);
  const hrmpWatermark = readU32(bytes, afterHead + 4);
  pos = afterHead + 8;
  return [
    {
      upwardMessages,
      horizontalMessages,
      newValidationCode,
      headData,
      processedDownwardMessages,
      hrmpWatermark,
    },
    pos,
  ];
}

export function encodeCommitments(commitments: CandidateCommitments): Uint8Array {
  const parts: Uint8Array[] = [encodeCompact(commitments.upwardMessages.length)];
  for (const message of commitments.upwardMessages) parts.push(encodeBytes(message));
  parts.push(encodeCompact(commitments.horizontalMessages.length));
  for (const message of commitments.horizontalMessages)
    parts.push(u32le(message.recipient), encodeBytes(message.data));
  parts.push(
    commitments.newValidationCode === null
      ? Uint8Array.of(0)
      : concatBytes([Uint8Array.of(1), encodeBytes(commitments.newValidationCode)]),
  );
  parts.push(
    encodeBytes(commitments.headData),
    u32le(commitments.processedDownwardMessages),
    u32le(commitments.hrmpWatermark),
  );
  return concatBytes(parts);
}

/** `commitments_hash = blake2_256(SCALE(commitments))`, from the encoded bytes as they appear on chain. */
export function commitmentsHash(encodedCommitments: Uint8Array): Uint8Array {
  return blake2_256(encodedCommitments);
}
