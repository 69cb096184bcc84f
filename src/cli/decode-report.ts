/** The `decode-block` report: the JSON contract and the human table, both from one observation. */

import type { CandidateEvent } from '../derive/events.ts';
import type { RelayLayout } from '../derive/layout.ts';
import type { BlockObservation } from '../derive/observe.ts';
import { type Hex, toHex } from '../protocol/bytes.ts';
import type { DecodedValue } from '../protocol/codec.ts';
import { descriptorScheduling } from '../protocol/descriptor.ts';
import { blake2_256 } from '../protocol/hash.ts';
import { type XcmIdentity, xcmIdentity } from '../protocol/xcm-ids.ts';
import { splitXcmpMessage } from '../protocol/xcmp.ts';

export interface EventReport {
  readonly paraId: number;
  readonly candidateHash: Hex;
  readonly commitmentsHash: Hex;
  readonly coreIndex: number;
}

export interface SliceReport {
  readonly sender: number;
  readonly size: number;
  readonly hash: Hex;
  readonly candidateHash: Hex;
  readonly verified: boolean;
  readonly format?: string;
  readonly xcm?: readonly DecodedValue[];
  /** Per program: the ids the sending and receiving chains' events name it by (protocol/xcm-ids.ts). */
  readonly xcmIds?: readonly XcmIdentity[];
  readonly xcmError?: string;
}

export interface DecodeReport {
  readonly block: { readonly number: number; readonly hash: Hex; readonly parentHash: Hex };
  readonly paraInherent: {
    readonly found: boolean;
    readonly bitfields: number;
    readonly backedCandidates: number;
    readonly disputes: number;
  };
  readonly candidates: readonly {
    readonly paraId: number;
    readonly candidateHash: Hex;
    readonly commitmentsHash: Hex;
    readonly commitmentsVerified: boolean;
    readonly verificationError: string | null;
    readonly descriptorVersion: string;
    /** v3 descriptors: what they schedule by (null for other versions). */
    readonly scheduling: { readonly parent: Hex; readonly sessionOffset: number } | null;
    readonly hrmpWatermark: number;
    readonly upwardMessages: number;
    readonly horizontalMessages: readonly {
      readonly recipient: number;
      readonly size: number;
      readonly hash: Hex;
    }[];
  }[];
  readonly events: {
    readonly backed: readonly EventReport[];
    readonly included: readonly EventReport[];
    readonly timedOut: readonly EventReport[];
  } | null;
  readonly availability: {
    readonly validators: number;
    readonly threshold: number;
    readonly votesPerCore: readonly number[];
  };
  readonly slices: Readonly<Record<string, readonly SliceReport[]>>;
  /** Why the supplied events are not this block's (null when they are, or none were given). */
  readonly eventsMismatch: string | null;
}

function eventReport(event: CandidateEvent): EventReport {
  return {
    paraId: event.paraId,
    candidateHash: toHex(event.candidateHash),
    commitmentsHash: toHex(event.commitmentsHash),
    coreIndex: event.coreIndex,
  };
}

export function decodeReport(observation: BlockObservation, layout: RelayLayout): DecodeReport {
  const slices: Record<string, SliceReport[]> = {};
  for (const [recipient, entries] of [...observation.slices].sort((a, b) => a[0] - b[0])) {
    slices[String(recipient)] = entries.map((entry) => {
      const base = {
        sender: entry.sender,
        size: entry.size,
        hash: entry.hash,
        candidateHash: entry.candidateHash,
        verified: entry.commitmentsVerified,
      };
      if (!layout.versionedXcm) return base;
      try {
        const message = splitXcmpMessage(entry.data, layout.versionedXcm);
        return 'programs' in message
          ? {
              ...base,
              format: message.format,
              xcm: message.programs.map((program) => program.xcm),
              xcmIds: message.programs.map(xcmIdentity),
            }
          : { ...base, format: message.format };
      } catch (error) {
        return { ...base, xcmError: (error as Error).message };
      }
    });
  }
  const events = observation.events;
  return {
    block: { number: observation.number, hash: observation.hash, parentHash: observation.parentHash },
    paraInherent: {
      found: observation.hasParaInherent,
      bitfields: observation.bitfieldCount,
      backedCandidates: observation.candidates.length,
      disputes: observation.disputeCount,
    },
    candidates: observation.candidates.map((candidate) => ({
      paraId: candidate.paraId,
      candidateHash: candidate.candidateHash,
      commitmentsHash: candidate.commitmentsHash,
      commitmentsVerified: candidate.commitmentsVerified,
      verificationError: candidate.verificationError,
      descriptorVersion: candidate.descriptorVersion,
      scheduling: descriptorScheduling(candidate.descriptorBytes),
      hrmpWatermark: candidate.commitments.hrmpWatermark,
      upwardMessages: candidate.commitments.upwardMessages.length,
      horizontalMessages: candidate.commitments.horizontalMessages.map((message) => ({
        recipient: message.recipient,
        size: message.data.length,
        hash: toHex(blake2_256(message.data)),
      })),
    })),
    events: events && {
      backed: events.backed.map(eventReport),
      included: events.included.map(eventReport),
      timedOut: events.timedOut.map(eventReport),
    },
    availability: observation.availability,
    slices,
    eventsMismatch: eventsOfAnotherBlock(observation),
  };
}

/**
 * Events of another block: the block backs candidates, yet no CandidateBacked event names any of
 * them. Then every "mismatch" below is the wrong file, not a wrong candidate, and the report says so.
 */
function eventsOfAnotherBlock(observation: BlockObservation): string | null {
  const events = observation.events;
  const inBlock = new Set(observation.candidates.map((candidate) => candidate.candidateHash));
  if (!events || inBlock.size === 0) return null;
  const named = events.backed.map((event) => toHex(event.candidateHash));
  if (named.some((hash) => inBlock.has(hash))) return null;
  return `the events are not this block's: none of its ${inBlock.size} backed candidates has a CandidateBacked event (the events name ${named.length} other candidates)`;
}

/** Decoded XCM as text: one line per instruction, its arguments as compact JSON (cut at `width`). */
function xcmLines(programs: readonly DecodedValue[], ids: readonly XcmIdentity[], width = 160): string[] {
  const lines: string[] = [];
  for (const program of programs) {
    const [version, instructions] = Object.entries(program as Record<string, unknown>)[0] ?? ['?', []];
    for (const instruction of Array.isArray(instructions) ? instructions : [instructions]) {
      const [name, args] =
        typeof instruction === 'string'
          ? [instruction, undefined]
          : (Object.entries(instruction as object)[0] ?? ['?']);
      const json = args === undefined ? '' : ` ${JSON.stringify(args)}`;
      const line = `      ${version} ${name}${json}`;
      lines.push(line.length > width ? `${line.slice(0, width - 1)}…` : line);
    }
  }
  // Then each program's ids: what the receiver's MessageQueue events and the sender's XcmpMessageSent name it by.
  for (const id of ids)
    lines.push(
      id.topic
        ? `      id ${id.id}  (its SetTopic; XcmpMessageSent names it ${id.messageHash})`
        : `      id ${id.id}  (blake2_256 of the program)`,
    );
  return lines;
}

function short(hash: string): string {
  return `${hash.slice(0, 10)}…${hash.slice(-6)}`;
}

export function formatReportTable(report: DecodeReport): string {
  const lines: string[] = [];
  const { block, paraInherent } = report;
  lines.push(`block #${block.number} ${block.hash}`);
  lines.push(
    paraInherent.found
      ? `ParaInherent.enter: ${paraInherent.bitfields} bitfields, ${paraInherent.backedCandidates} backed candidates, ${paraInherent.disputes} disputes`
      : 'ParaInherent.enter: not in this block',
  );
  if (report.events) {
    lines.push(
      `events: ${report.events.backed.length} CandidateBacked, ${report.events.included.length} CandidateIncluded, ${report.events.timedOut.length} CandidateTimedOut`,
    );
  } else {
    lines.push('events: not supplied (commitments cannot be checked)');
  }
  if (report.eventsMismatch) lines.push(`events: ${report.eventsMismatch}`);
  const verified = report.candidates.filter((c) => c.commitmentsVerified).length;
  lines.push(`commitments verified: ${verified}/${report.candidates.length}`);
  lines.push('');
  lines.push(
    [
      'para'.padEnd(12),
      'candidate'.padEnd(20),
      'desc'.padEnd(12),
      'commitments'.padEnd(12),
      'hrmp out'.padEnd(12),
      'watermark',
    ].join(' '),
  );
  for (const c of report.candidates) {
    lines.push(
      [
        String(c.paraId).padEnd(12),
        short(c.candidateHash).padEnd(20),
        c.descriptorVersion.padEnd(12),
        (c.commitmentsVerified ? 'ok' : 'MISMATCH').padEnd(12),
        String(c.horizontalMessages.length).padEnd(12),
        String(c.hrmpWatermark),
      ].join(' '),
    );
    if (c.scheduling)
      lines.push(
        `    scheduling parent ${c.scheduling.parent}, session offset ${c.scheduling.sessionOffset}`,
      );
    if (c.verificationError) lines.push(`    ${c.verificationError}`);
  }
  const recipients = Object.keys(report.slices);
  lines.push('');
  lines.push(recipients.length === 0 ? 'no horizontal messages' : 'horizontal messages by recipient:');
  for (const recipient of recipients) {
    for (const entry of report.slices[recipient]!) {
      lines.push(
        `  ${entry.sender} → ${recipient}  ${entry.size} bytes  ${entry.hash}  ${entry.format ?? ''}${entry.verified ? '' : '  (unverified)'}`,
      );
      if (entry.xcm) lines.push(...xcmLines(entry.xcm, entry.xcmIds ?? []));
      if (entry.xcmError) lines.push(`      XCM not decodable: ${entry.xcmError}`);
    }
  }
  return lines.join('\n');
}
