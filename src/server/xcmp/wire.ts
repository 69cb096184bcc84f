/** Store records → the wire types of rpc/schemas.ts. */
import type {
  CandidateJson,
  ChannelJson,
  MessageJson,
  PendingMessageJson,
  SpeculativeMessageJson,
} from '../../../rpc/schemas.ts';
import type { PendingMessage } from '../../derive/pending.ts';
import type { SpeculativeMessage } from '../../derive/speculative.ts';
import { toHex } from '../../protocol/bytes.ts';
import type { TypeCodec } from '../../protocol/codec.ts';
import { descriptorScheduling, descriptorVersion } from '../../protocol/descriptor.ts';
import { xcmIdentity } from '../../protocol/xcm-ids.ts';
import { splitXcmpMessage } from '../../protocol/xcmp.ts';
import {
  type CandidateRecord,
  type ChannelRecord,
  type MessageRecord,
  messageId,
} from '../../store/types.ts';

export function decodeXcm(data: Uint8Array, xcm: TypeCodec | null): unknown {
  if (!xcm) return { error: 'the runtime metadata has no VersionedXcm type' };
  try {
    const message = splitXcmpMessage(data, xcm);
    return 'programs' in message
      ? {
          format: message.format,
          programs: message.programs.map((p) => p.xcm),
          ids: message.programs.map(xcmIdentity),
        }
      : message;
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function messageJson(record: MessageRecord, xcm?: TypeCodec | null): MessageJson {
  const json: MessageJson = {
    id: messageId(record),
    sender: record.sender,
    recipient: record.recipient,
    sentAt: record.sentAt,
    index: record.index,
    data: toHex(record.data),
    hash: record.hash,
    candidateHash: record.candidateHash,
    blockHash: record.blockHash,
    mqcHead: record.mqcHeadAfter,
    verified: record.verified,
    reason: record.reason,
  };
  if (record.position !== undefined) json.position = record.position;
  if (xcm !== undefined) json.xcm = decodeXcm(record.data, xcm);
  if (record.peer) {
    json.source = 'peer';
    json.peer = record.peer;
    json.claimed = ['candidateHash', 'blockHash'];
  }
  return json;
}

export function channelJson(record: ChannelRecord): ChannelJson {
  return { ...record };
}

export function candidateJson(
  record: CandidateRecord,
  messages: readonly MessageRecord[] = [],
): CandidateJson {
  return {
    candidateHash: record.candidateHash,
    paraId: record.paraId,
    descriptor: toHex(record.descriptor),
    descriptorVersion: descriptorVersion(record.descriptor),
    scheduling: descriptorScheduling(record.descriptor),
    commitmentsHash: record.commitmentsHash,
    relayParent: record.relayParent,
    backedIn: record.backedIn,
    coreIndex: record.coreIndex,
    status: record.status,
    enactedIn: record.enactedIn,
    settledIn: record.settledIn ?? null,
    verified: record.verified,
    reason: record.reason,
    availability: { votes: record.availabilityVotes, threshold: record.availabilityThreshold },
    messages: messages.map((m) => messageJson(m)),
  };
}

export function pendingMessageJson(message: PendingMessage, xcm?: TypeCodec | null): PendingMessageJson {
  const json: PendingMessageJson = {
    candidateHash: message.candidateHash,
    position: message.position,
    sender: message.sender,
    recipient: message.recipient,
    data: toHex(message.data),
    hash: message.hash,
  };
  if (xcm !== undefined) json.xcm = decodeXcm(message.data, xcm);
  if (message.paraHead) json.paraHead = message.paraHead;
  return json;
}

export function speculativeMessageJson(
  message: SpeculativeMessage,
  xcm?: TypeCodec | null,
): SpeculativeMessageJson {
  const json: SpeculativeMessageJson = {
    sender: message.sender,
    recipient: message.recipient,
    position: message.position,
    data: toHex(message.data),
    hash: message.hash,
    verified: false,
  };
  if (xcm !== undefined) json.xcm = decodeXcm(message.data, xcm);
  return json;
}
