/**
 * A test-only man in the middle in front of a para node: forwards every frame both ways and, while
 * `lying`, rewrites answers to `state_getStorage(HrmpOutboundMessages, block)`: the last byte of
 * the value (the last message's last data byte) is flipped. It records what it altered. While
 * `lyingAboutHeads`, it flips the last byte of `LastHrmpMqcHeads` answers too (counted in `heads`).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blake2AsHex } from '@polkadot/util-crypto';
import WebSocket, { WebSocketServer } from 'ws';
import {
  decodeOutboundMessages,
  HRMP_OUTBOUND_MESSAGES_KEY,
  LAST_HRMP_MQC_HEADS_KEY,
} from '../../src/protocol/para.ts';

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

interface Frame {
  id?: number | string;
  method?: string;
  params?: unknown[];
  result?: unknown;
}

function flipLastByte(value: string): string {
  const last = (Number.parseInt(value.slice(-2), 16) ^ 0xff).toString(16).padStart(2, '0');
  return value.slice(0, -2) + last;
}

export async function paraMiddleman(target: string): Promise<ParaMiddleman> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const altered: AlteredMessage[] = [];
  const state = { lying: true, lyingAboutHeads: false };
  const heads = { altered: 0 };
  wss.on('connection', (client) => {
    const upstream = new WebSocket(target);
    const queued: WebSocket.RawData[] = [];
    /** Request id → the block hash it asked HrmpOutboundMessages at. */
    const asked = new Map<number | string, string>();
    /** Request ids of LastHrmpMqcHeads reads. */
    const askedHeads = new Set<number | string>();
    upstream.on('open', () => {
      for (const data of queued.splice(0)) upstream.send(data.toString());
    });
    client.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.method === 'state_getStorage' && frame.params?.[0] === HRMP_OUTBOUND_MESSAGES_KEY)
        asked.set(frame.id!, String(frame.params[1]));
      if (frame.method === 'state_getStorage' && frame.params?.[0] === LAST_HRMP_MQC_HEADS_KEY)
        askedHeads.add(frame.id!);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data.toString());
      else queued.push(data);
    });
    upstream.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.id !== undefined && askedHeads.delete(frame.id) && state.lyingAboutHeads) {
        if (typeof frame.result === 'string' && frame.result.length > 4) {
          frame.result = flipLastByte(frame.result);
          heads.altered++;
        }
        client.send(JSON.stringify(frame));
        return;
      }
      const block = frame.id === undefined ? undefined : asked.get(frame.id);
      if (block !== undefined) asked.delete(frame.id!);
      if (block === undefined || !state.lying || typeof frame.result !== 'string') {
        client.send(data.toString());
        return;
      }
      const messages = decodeOutboundMessages(frame.result as `0x${string}`);
      const last = messages.at(-1);
      if (!last || last.data.length === 0) {
        client.send(data.toString());
        return;
      }
      frame.result = flipLastByte(frame.result);
      const made = decodeOutboundMessages(frame.result as `0x${string}`).at(-1)!;
      altered.push({ block, recipient: made.recipient, alteredHash: blake2AsHex(made.data, 256) });
      client.send(JSON.stringify(frame));
    });
    const closeBoth = () => {
      client.close();
      upstream.close();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    upstream.on('error', closeBoth);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
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
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
