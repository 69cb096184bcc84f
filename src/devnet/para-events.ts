/**
 * The events of a devnet para block (DESIGN.md §14), encoded with the para runtime's own metadata
 * (Asset Hub's `System::Events`): `XcmpQueue.XcmpMessageSent { message_hash }` for each XCM the
 * block sends, and for each XCM it consumed the receiving `MessageQueue`'s verdict —
 * `Processed { id, origin: Sibling(sender), weight_used, success }`, or `OverweightEnqueued`.
 * A devnet message is one `VersionedXcm` ending in `SetTopic(topic)`, so its id (the receiver's
 * barrier takes a trailing topic as the id) is its last 32 bytes, and its `message_hash` the
 * blake2_256 of the program's bytes (the page without its format byte). Which verdict an XCM gets
 * is the devnet's truth, decided from its id so that every fork agrees.
 */
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { typeById } from '../protocol/metadata.ts';
import type { Hex } from './chain.ts';
import type { DevnetEncoder } from './encoder.ts';

export type XcmOutcome = 'executed' | 'failed' | 'overweight';

/** One HRMP message a para block consumed through its validation data. */
export interface ConsumedHrmp {
  readonly sender: number;
  readonly sentAt: number;
  readonly data: Uint8Array;
}

/** What the receiving runtime did with one consumed XCM: the devnet's truth, and the event that says it. */
export interface XcmExecution {
  readonly id: Hex;
  readonly sender: number;
  readonly sentAt: number;
  readonly outcome: XcmOutcome;
  readonly eventIndex: number;
}

/** Shares of consumed XCMs that fail to execute and that are overweight. */
export interface ExecutionFaults {
  readonly failRate: number;
  readonly overweightRate: number;
}

/** The verdict of the XCM with `id`: from its first two bytes, the same on every fork. */
export function outcomeOf(id: Uint8Array, faults: ExecutionFaults): XcmOutcome {
  const draw = ((id[0]! << 8) | id[1]!) / 65_536;
  if (draw < faults.failRate) return 'failed';
  if (draw < faults.failRate + faults.overweightRate) return 'overweight';
  return 'executed';
}

/** The weight a devnet XCM uses: proportional to its size. */
function weightOf(data: Uint8Array): { refTime: bigint; proofSize: bigint } {
  return { refTime: 1_000_000n * BigInt(data.length), proofSize: 3_593n };
}

/**
 * One `EventRecord { phase, event, topics }`, the event encoded by hand (pallet index, variant index,
 * then each field as the metadata types it): @polkadot/types builds `RuntimeEvent` values only from bytes.
 */
function eventRecord(
  encoder: DevnetEncoder,
  phase: unknown,
  [pallet, variant]: readonly [string, string],
  fields: readonly unknown[],
): Uint8Array {
  const info = encoder.metadata.palletsByName.get(pallet);
  if (info?.eventType === undefined || info.eventType === null)
    throw new Error(`devnet: the para runtime has no ${pallet} events`);
  const event = encoder.variant(info.eventType, variant);
  if (event.fields.length !== fields.length)
    throw new Error(`devnet: ${pallet}.${variant} has ${event.fields.length} fields, not ${fields.length}`);
  const recordType = encoder.storageEntry('System', 'Events').valueType;
  const record = typeById(encoder.metadata, recordType);
  const elementType = 'sequence' in record.def ? record.def.sequence.type : recordType;
  const phaseType = encoder.fieldType(elementType, 'phase');
  return u8aConcat(
    encoder.encodeType(phaseType, phase),
    Uint8Array.of(info.index, event.index),
    ...event.fields.map((field, i) => encoder.encodeType(field.type, fields[i])),
    Uint8Array.of(0), // no topics
  );
}

function verdictRecord(
  encoder: DevnetEncoder,
  message: ConsumedHrmp,
  id: Uint8Array,
  outcome: XcmOutcome,
  queued: number,
): Uint8Array {
  const origin = { Sibling: message.sender };
  if (outcome === 'overweight')
    return eventRecord(
      encoder,
      'Finalization',
      ['MessageQueue', 'OverweightEnqueued'],
      [id, origin, 0, queued],
    );
  return eventRecord(
    encoder,
    'Finalization',
    ['MessageQueue', 'Processed'],
    [id, origin, weightOf(message.data), outcome === 'executed'],
  );
}

/** A para block's `System::Events` value and the verdicts it carries. */
export function paraBlockEvents(
  encoder: DevnetEncoder,
  sent: readonly { readonly data: Uint8Array }[],
  consumed: readonly ConsumedHrmp[],
  faults: ExecutionFaults,
): { value: Hex; executions: XcmExecution[] } {
  const records: Uint8Array[] = sent.map((message) =>
    eventRecord(
      encoder,
      { ApplyExtrinsic: 1 },
      ['XcmpQueue', 'XcmpMessageSent'],
      [blake2AsU8a(message.data.subarray(1), 256)],
    ),
  );
  const executions: XcmExecution[] = [];
  const overweight = new Map<number, number>();
  for (const message of consumed) {
    const id = message.data.subarray(message.data.length - 32);
    const outcome = outcomeOf(id, faults);
    const queued = overweight.get(message.sender) ?? 0;
    if (outcome === 'overweight') overweight.set(message.sender, queued + 1);
    const { sender, sentAt } = message;
    executions.push({ id: u8aToHex(id) as Hex, sender, sentAt, outcome, eventIndex: records.length });
    records.push(verdictRecord(encoder, message, id, outcome, queued));
  }
  const value = u8aConcat(encoder.encode('Compact<u32>', records.length), ...records);
  return { value: u8aToHex(value) as Hex, executions };
}
