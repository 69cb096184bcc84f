/**
 * A test-only man in the middle in front of a para node: forwards every frame both ways and, while
 * `lying`, rewrites answers to `state_getStorage(HrmpOutboundMessages, block)`: the last byte of
 * the value (the last message's last data byte) is flipped. It records what it altered. While
 * `lyingAboutHeads`, it flips the last byte of `LastHrmpMqcHeads` answers too (counted in `heads`).
 * While `lyingAboutVerdicts`, it flips `success` of every `MessageQueue.Processed` in
 * `System::Events` answers (`verdicts`); while `lyingInProofs`, it flips a byte of the first node
 * of every `state_getReadProof` answer (`proofs`).
 */
import { blake2AsHex } from '@polkadot/util-crypto';
import { SYSTEM_EVENTS_KEY } from '../../src/chain/node.ts';
import { paraEventsDecoder } from '../../src/derive/para-verdicts.ts';
import type { DevnetEncoder } from '../../src/devnet/encoder.ts';
import { paraRuntime } from '../../src/devnet/para-runtime.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import { fromHex, readCompactNumber, toHex } from '../../src/protocol/bytes.ts';
import {
  decodeOutboundMessages,
  HRMP_OUTBOUND_MESSAGES_KEY,
  LAST_HRMP_MQC_HEADS_KEY,
} from '../../src/protocol/para.ts';
import { startRewritingLayer } from './lying-layer.ts';

export interface AlteredMessage {
  /** The para block the answer was about. */
  readonly block: string;
  readonly recipient: number;
  /** blake2_256 of the data the middleman made up. */
  readonly alteredHash: string;
}

export interface ParaMiddleman {
  readonly url: string;
  readonly altered: AlteredMessage[];
  lying: boolean;
  lyingAboutHeads: boolean;
  lyingAboutVerdicts: boolean;
  lyingInProofs: boolean;
  /** `LastHrmpMqcHeads` answers altered. */
  readonly heads: { altered: number };
  /** `Processed` events whose success was flipped, and read proofs altered. */
  readonly verdicts: { altered: number };
  readonly proofs: { altered: number };
  close(): Promise<void>;
}

function flipLastByte(value: string): string {
  const last = (Number.parseInt(value.slice(-2), 16) ^ 0xff).toString(16).padStart(2, '0');
  return value.slice(0, -2) + last;
}

/**
 * `System::Events` with `success` of each `Processed` flipped: each is found by its pallet and
 * variant index and its id (the decoder says which ids there are), then its origin (variant and
 * u32) and two compact weights are stepped over.
 */
function flipVerdicts(encoder: DevnetEncoder, events: string): { value: string; flipped: number } {
  const decoded = paraEventsDecoder(encoder.metadata)(events as Hex).verdicts;
  const pallet = encoder.metadata.palletsByName.get('MessageQueue')!;
  const processed = encoder.variant(pallet.eventType!, 'Processed').index;
  const bytes = fromHex(events as Hex, 'events').slice();
  const hex = toHex(bytes);
  let flipped = 0;
  for (const verdict of decoded.filter((v) => v.event === 'Processed')) {
    const needle = `${pallet.index.toString(16).padStart(2, '0')}${processed.toString(16).padStart(2, '0')}${verdict.id.slice(2)}`;
    const at = (hex.indexOf(needle) - 2) / 2;
    let pos = at + 2 + 32 + 5;
    pos = readCompactNumber(bytes, pos)[1];
    pos = readCompactNumber(bytes, pos)[1];
    bytes[pos]! ^= 1;
    flipped++;
  }
  return { value: toHex(bytes), flipped };
}

export async function paraMiddleman(target: string): Promise<ParaMiddleman> {
  const altered: AlteredMessage[] = [];
  const state = { lying: true, lyingAboutHeads: false, lyingAboutVerdicts: false, lyingInProofs: false };
  const heads = { altered: 0 };
  const verdicts = { altered: 0 };
  const proofs = { altered: 0 };
  /** "connection:request id" → what it asked: HrmpOutboundMessages at a block, LastHrmpMqcHeads, events or a proof. */
  const asked = new Map<string, { readonly block: string } | 'heads' | 'events' | 'proof'>();
  const { encoder } = await paraRuntime(null);
  const layer = await startRewritingLayer(
    target,
    (frame, connection) => {
      const key = `${connection}:${String(frame.id)}`;
      const question = frame.id === undefined ? undefined : asked.get(key);
      if (question === undefined) return;
      asked.delete(key);
      if (question === 'proof') {
        const proof = (frame.result as { proof?: string[] } | null)?.proof;
        if (!state.lyingInProofs || !proof?.length) return;
        proof[0] = flipLastByte(proof[0]!);
        proofs.altered++;
        return;
      }
      if (typeof frame.result !== 'string') return;
      if (question === 'events') {
        if (!state.lyingAboutVerdicts) return;
        const { value, flipped } = flipVerdicts(encoder, frame.result);
        frame.result = value;
        verdicts.altered += flipped;
        return;
      }
      if (question === 'heads') {
        if (!state.lyingAboutHeads || frame.result.length <= 4) return;
        frame.result = flipLastByte(frame.result);
        heads.altered++;
        return;
      }
      if (!state.lying || !decodeOutboundMessages(frame.result as Hex).at(-1)?.data.length) return;
      frame.result = flipLastByte(frame.result);
      const made = decodeOutboundMessages(frame.result as Hex).at(-1)!;
      altered.push({
        block: question.block,
        recipient: made.recipient,
        alteredHash: blake2AsHex(made.data, 256),
      });
    },
    (frame, connection) => {
      if (frame.id === undefined) return;
      const key = `${connection}:${String(frame.id)}`;
      if (frame.method === 'state_getReadProof') asked.set(key, 'proof');
      if (frame.method !== 'state_getStorage') return;
      if (frame.params?.[0] === HRMP_OUTBOUND_MESSAGES_KEY)
        asked.set(key, { block: String(frame.params[1]) });
      if (frame.params?.[0] === LAST_HRMP_MQC_HEADS_KEY) asked.set(key, 'heads');
      if (frame.params?.[0] === SYSTEM_EVENTS_KEY) asked.set(key, 'events');
    },
  );
  // The flags are the middleman's own: what a test sets is what the rewriting reads.
  return Object.assign(state, {
    url: layer.url,
    altered,
    heads,
    verdicts,
    proofs,
    close: () => layer.close(),
  });
}
