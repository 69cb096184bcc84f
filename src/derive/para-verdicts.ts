/**
 * What a parachain's own events say about XCMs (DESIGN.md §14), read from a raw `System::Events`
 * value with that para runtime's metadata:
 * - the receiving side: `MessageQueue.Processed { id, origin, weight_used, success }`,
 *   `ProcessingFailed { id, origin, error }` and `OverweightEnqueued { id, origin, page_index,
 *   message_index }`, for messages from a sibling (`AggregateMessageOrigin::Sibling(para)`);
 * - the sending side: `XcmpQueue.XcmpMessageSent { message_hash }`.
 * Events of other pallets are decoded generically and passed over. Pure.
 */
import { fromHex, type Hex, ScaleError } from '../protocol/bytes.ts';
import { CodecRegistry, type DecodedValue } from '../protocol/codec.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';

export type XcmOutcome = 'executed' | 'failed' | 'overweight';

export interface XcmVerdict {
  /** Position of the event record in the block's events. */
  readonly eventIndex: number;
  /** The event's `id`: the XCM's topic or message hash (xcm-ids.ts). */
  readonly id: Hex;
  /** The sibling it came from (`Sibling(para)`); other origins are not HRMP and not reported. */
  readonly sender: number;
  readonly outcome: XcmOutcome;
  /** `Processed` and `ProcessingFailed`/`OverweightEnqueued`: the event's name. */
  readonly event: 'Processed' | 'ProcessingFailed' | 'OverweightEnqueued';
  readonly weightUsed: { readonly refTime: string; readonly proofSize: string } | null;
  /** `ProcessingFailed`'s `error`, as decoded. */
  readonly error: DecodedValue;
}

export interface ParaBlockVerdicts {
  readonly verdicts: readonly XcmVerdict[];
  /** `XcmpMessageSent` hashes, in event order. */
  readonly sent: readonly { readonly eventIndex: number; readonly messageHash: Hex }[];
}

export type ParaEventsDecoder = (events: Hex | null) => ParaBlockVerdicts;

type Fields = Record<string, DecodedValue>;

function asRecord(value: DecodedValue): Fields | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : null;
}

/** The single `{ Name: value }` entry of a decoded enum value. */
function variant(value: DecodedValue): [string, DecodedValue] | null {
  const record = asRecord(value);
  const entries = record ? Object.entries(record) : [];
  return entries.length === 1 ? entries[0]! : null;
}

function siblingOf(origin: DecodedValue): number | null {
  const [name, para] = variant(origin) ?? [];
  return name === 'Sibling' && typeof para === 'number' ? para : null;
}

function hexField(value: DecodedValue, what: string): Hex {
  if (typeof value === 'string' && /^0x[0-9a-f]{64}$/i.test(value)) return value.toLowerCase() as Hex;
  throw new ScaleError(`${what} is not 32 bytes`);
}

function verdictOf(eventIndex: number, name: string, fields: Fields): XcmVerdict | null {
  const sender = siblingOf(fields.origin ?? null);
  if (sender === null) return null;
  const id = hexField(fields.id ?? null, `MessageQueue.${name}.id`);
  const weight = asRecord(fields.weightUsed ?? null);
  const weightUsed = weight ? { refTime: String(weight.refTime), proofSize: String(weight.proofSize) } : null;
  switch (name) {
    case 'Processed':
      return {
        eventIndex,
        id,
        sender,
        outcome: fields.success === true ? 'executed' : 'failed',
        event: 'Processed',
        weightUsed,
        error: null,
      };
    case 'ProcessingFailed':
      return {
        eventIndex,
        id,
        sender,
        outcome: 'failed',
        event: name,
        weightUsed,
        error: fields.error ?? null,
      };
    case 'OverweightEnqueued':
      return { eventIndex, id, sender, outcome: 'overweight', event: name, weightUsed: null, error: null };
    default:
      return null;
  }
}

/** A decoder of one para runtime's `System::Events` values; throws a ScaleError for a value that does not decode. */
export function paraEventsDecoder(metadata: RuntimeMetadata): ParaEventsDecoder {
  const entry = metadata.palletsByName.get('System')?.storage.get('Events');
  if (!entry) throw new ScaleError('the para runtime has no System::Events');
  const registry = new CodecRegistry(metadata);
  return (events) => {
    const verdicts: XcmVerdict[] = [];
    const sent: { eventIndex: number; messageHash: Hex }[] = [];
    if (events === null) return { verdicts, sent };
    const records = registry.decodeAll(entry.valueType, fromHex(events, 'System::Events'));
    if (!Array.isArray(records)) throw new ScaleError('System::Events is not a list of event records');
    records.forEach((record: DecodedValue, eventIndex: number) => {
      const [pallet, body] = variant(asRecord(record)?.event ?? null) ?? [];
      const [name, fields] = variant(body ?? null) ?? [];
      if (!name) return;
      if (pallet === 'MessageQueue') {
        const verdict = verdictOf(eventIndex, name, asRecord(fields ?? null) ?? {});
        if (verdict) verdicts.push(verdict);
      } else if (pallet === 'XcmpQueue' && name === 'XcmpMessageSent') {
        const hash = asRecord(fields ?? null)?.messageHash ?? null;
        sent.push({ eventIndex, messageHash: hexField(hash, 'XcmpMessageSent.message_hash') });
      }
    });
    return { verdicts, sent };
  };
}
