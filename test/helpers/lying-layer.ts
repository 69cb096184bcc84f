/**
 * A test-only man in the middle between an XcmpClient and the sidecar: a WebSocket server that
 * forwards every frame, and rewrites proof-carrying inbox updates with one of seven lies in turn.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blake2AsHex } from '@polkadot/util-crypto';
import WebSocket, { WebSocketServer } from 'ws';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';

export const LIES = [
  'flip a data byte',
  'drop a message',
  'reorder two messages',
  'change sentAt',
  'serve an old proof',
  'proof for another block',
  'header of a fork',
] as const;
export type Lie = (typeof LIES)[number];

const NEEDS_MESSAGES: ReadonlySet<Lie> = new Set([
  'flip a data byte',
  'drop a message',
  'reorder two messages',
  'change sentAt',
]);

export interface TamperRecord {
  readonly connection: number;
  readonly block: number;
  readonly lie: Lie;
}

export interface LyingLayer {
  readonly url: string;
  readonly tampered: TamperRecord[];
  /** Whether to lie (all updates with a proof while on; none while off). */
  lying: boolean;
  /** Whether to also corrupt proven range answers (xcmp_getInbox with a proof): the gap stays. */
  lyingInRanges: boolean;
  /** Cuts every client connection (as a restart of the sidecar would). */
  dropConnections(): void;
  close(): Promise<void>;
}

function flipHexByte(hex: string, at: number): string {
  const i = 2 + at * 2;
  const byte = (Number.parseInt(hex.slice(i, i + 2), 16) ^ 0x01).toString(16).padStart(2, '0');
  return hex.slice(0, i) + byte + hex.slice(i + 2);
}

/** Applies `lie` to `update`; false when it does not apply (no messages, no earlier proof). */
function tamper(update: MailboxUpdateJson, lie: Lie, earlier: MailboxUpdateJson | null): boolean {
  const messages = update.messages;
  const proof = update.proof!;
  if (NEEDS_MESSAGES.has(lie) && messages.length < (lie === 'reorder two messages' ? 2 : 1)) return false;
  switch (lie) {
    case 'flip a data byte':
      messages[0] = { ...messages[0]!, data: flipHexByte(messages[0]!.data, 3) };
      return true;
    case 'drop a message':
      messages.splice(messages.length - 1, 1);
      return true;
    case 'reorder two messages':
      [messages[0], messages[1]] = [messages[1]!, messages[0]!];
      return true;
    case 'change sentAt':
      messages[0] = { ...messages[0]!, sentAt: messages[0]!.sentAt - 1 };
      return true;
    case 'serve an old proof':
      if (!earlier?.proof) return false;
      update.proof = { ...earlier.proof, block: update.block };
      return true;
    case 'proof for another block':
      if (!earlier?.proof) return false;
      update.proof = { ...proof, nodes: earlier.proof.nodes };
      return true;
    case 'header of a fork': {
      // Another parent at the same height: a header that is not on the trusted chain, made
      // self-consistent as a lying sidecar would (the block hash is the forged header's).
      const header = flipHexByte(proof.header, 5);
      const hash = blake2AsHex(Buffer.from(header.slice(2), 'hex'), 256);
      update.block = { ...update.block, hash };
      update.proof = { ...proof, block: update.block, header };
      return true;
    }
  }
}

/** A frame from the upstream, as parsed JSON, for a rewriter to change in place. */
export interface UpstreamFrame {
  id?: number | string;
  method?: string;
  params?: { result?: MailboxUpdateJson };
  result?: unknown;
}

export interface RewritingLayer {
  readonly url: string;
  dropConnections(): void;
  close(): Promise<void>;
}

/** A request from the client, as parsed JSON, for an observer to see (not to change). */
export interface ClientFrame {
  readonly id?: number | string;
  readonly method?: string;
  readonly params?: readonly unknown[];
}

/**
 * Forwards every frame both ways; `rewrite` may change each upstream frame (connection index
 * given); `observe` sees each client request first (to know what an answer answers).
 */
export async function startRewritingLayer(
  upstreamUrl: string,
  rewrite: (frame: UpstreamFrame, connection: number) => void,
  observe?: (frame: ClientFrame, connection: number) => void,
): Promise<RewritingLayer> {
  const server = createServer();
  const wss = new WebSocketServer({ server, maxPayload: 256 * 1024 * 1024 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let connections = 0;
  wss.on('connection', (client) => {
    const connection = connections++;
    const upstream = new WebSocket(upstreamUrl, { maxPayload: 256 * 1024 * 1024 });
    const queued: string[] = [];
    upstream.on('open', () => {
      for (const text of queued.splice(0)) upstream.send(text);
    });
    client.on('message', (data) => {
      observe?.(JSON.parse(data.toString()) as ClientFrame, connection);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data.toString());
      else queued.push(data.toString());
    });
    upstream.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as UpstreamFrame;
      rewrite(frame, connection);
      client.send(JSON.stringify(frame));
    });
    client.on('close', () => upstream.close());
    upstream.on('close', () => client.close());
    upstream.on('error', () => client.close());
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    dropConnections: () => {
      for (const client of wss.clients) client.terminate();
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startLyingLayer(upstreamUrl: string): Promise<LyingLayer> {
  let next = 0;
  const earlier = new Map<number, MailboxUpdateJson>();
  const state = { lying: true, lyingInRanges: false };
  const tampered: TamperRecord[] = [];
  const rewriting = await startRewritingLayer(upstreamUrl, (frame, connection) => {
    const range = frame.result as { proof?: { nodes: string[] } } | undefined;
    if (layer.lyingInRanges && range?.proof) range.proof.nodes = [];
    const update = frame.method === 'xcmp_inbox' ? frame.params?.result : undefined;
    if (!update?.proof || !layer.lying) return;
    const honest = structuredClone(update);
    for (let tries = 0; tries < LIES.length; tries++) {
      const lie = LIES[next++ % LIES.length]!;
      if (tamper(update, lie, earlier.get(connection) ?? null)) {
        tampered.push({ connection, block: honest.block.number, lie });
        break;
      }
    }
    earlier.set(connection, honest);
  });
  const layer: LyingLayer = {
    url: rewriting.url,
    tampered,
    ...state,
    dropConnections: rewriting.dropConnections,
    close: rewriting.close,
  };
  return layer;
}
