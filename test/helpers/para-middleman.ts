/**
 * A test-only man in the middle in front of a para node: forwards every frame both ways and, while
 * `lying`, rewrites answers to `state_getStorage(HrmpOutboundMessages, block)`: the last byte of
 * the value (the last message's last data byte) is flipped. It records what it altered. While
 * `lyingAboutHeads`, it flips the last byte of `LastHrmpMqcHeads` answers too (counted in `heads`).
 */
import { blake2AsHex } from '@polkadot/util-crypto';
import type { Hex } from '../../src/protocol/bytes.ts';
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
  /** `LastHrmpMqcHeads` answers altered. */
  readonly heads: { altered: number };
  close(): Promise<void>;
}

function flipLastByte(value: string): string {
  const last = (Number.parseInt(value.slice(-2), 16) ^ 0xff).toString(16).padStart(2, '0');
  return value.slice(0, -2) + last;
}

export async function paraMiddleman(target: string): Promise<ParaMiddleman> {
  const altered: AlteredMessage[] = [];
  const state = { lying: true, lyingAboutHeads: false };
  const heads = { altered: 0 };
  /** "connection:request id" → what it asked: HrmpOutboundMessages at a block, or LastHrmpMqcHeads. */
  const asked = new Map<string, { readonly block: string } | 'heads'>();
  const layer = await startRewritingLayer(
    target,
    (frame, connection) => {
      const key = `${connection}:${String(frame.id)}`;
      const question = frame.id === undefined ? undefined : asked.get(key);
      if (question === undefined) return;
      asked.delete(key);
      if (typeof frame.result !== 'string') return;
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
      if (frame.method !== 'state_getStorage' || frame.id === undefined) return;
      const key = `${connection}:${String(frame.id)}`;
      if (frame.params?.[0] === HRMP_OUTBOUND_MESSAGES_KEY)
        asked.set(key, { block: String(frame.params[1]) });
      if (frame.params?.[0] === LAST_HRMP_MQC_HEADS_KEY) asked.set(key, 'heads');
    },
  );
  return {
    url: layer.url,
    altered,
    get lying() {
      return state.lying;
    },
    set lying(value: boolean) {
      state.lying = value;
    },
    get lyingAboutHeads() {
      return state.lyingAboutHeads;
    },
    set lyingAboutHeads(value: boolean) {
      state.lyingAboutHeads = value;
    },
    heads,
    close: () => layer.close(),
  };
}
