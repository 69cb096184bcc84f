/**
 * Federation (DESIGN.md §12): fills each channel's history before what this store holds from peer
 * sidecars, when the node has pruned it. A peer's pages for a channel are stored only when they
 * prove out against this sidecar's own node (derive/federation.ts); otherwise nothing of that
 * peer is stored for the channel, the reason is logged and reported, and the next peer is tried.
 */
import type { Logger } from 'pino';
import type { ChannelHistoryJson, FederationJson } from '../../rpc/schemas.ts';
import type { NodeClient } from '../chain/node.ts';
import { XcmpClient, XcmpRpcError } from '../client/client.ts';
import {
  type AcceptedHistory,
  acceptPeerHistory,
  type OwnChain,
  type PeerRange,
  PeerRejection,
} from '../derive/federation.ts';
import { decodeHrmpChannel } from '../derive/proof.ts';
import { hrmpChannelsKey } from '../derive/storage.ts';
import { fromHex, type Hex } from '../protocol/bytes.ts';
import type { Store } from '../store/interface.ts';
import type { ChannelHistory, MessageRecord } from '../store/types.ts';
import { type BridgedRange, followableFrom, type PrunedHistory } from './pruned.ts';
import { seedBefore } from './seed.ts';

/** Messages asked per page; halved while the peer says the page is over its response limit. */
const PAGE_LIMIT = 1000;
const RESPONSE_TOO_BIG = -32008;

export interface PeerOutcome {
  readonly peer: string;
  readonly channel: string;
  readonly accepted: boolean;
  readonly messages: number;
  readonly reason: string | null;
  readonly kind: PeerRejection['kind'] | 'unreachable' | null;
}

export interface PeerBackfillOptions {
  readonly store: Store;
  readonly node: NodeClient;
  readonly peers: readonly string[];
  /** The first block whose messages every channel should hold. */
  readonly from: number;
  readonly logger: Logger;
  /** Called for every peer tried on every channel. */
  readonly onOutcome?: (outcome: PeerOutcome) => void;
}

export interface PeerBackfillResult {
  readonly outcomes: readonly PeerOutcome[];
  /** Channels no peer could prove ("sender>recipient"). */
  readonly unproven: readonly string[];
}

/** One page after another until the range is covered (or the peer says it cannot). */
async function fetchPages(client: XcmpClient, range: PeerRange): Promise<ChannelHistoryJson[]> {
  const pages: ChannelHistoryJson[] = [];
  let next = range.from;
  let limit = PAGE_LIMIT;
  while (next <= range.to) {
    let page: ChannelHistoryJson;
    try {
      page = await client.call<ChannelHistoryJson>('xcmp_getChannelHistory', [
        range.sender,
        range.recipient,
        { fromBlock: next, toBlock: range.to, limit },
      ]);
    } catch (error) {
      if (error instanceof XcmpRpcError && error.code === RESPONSE_TOO_BIG && limit > 1) {
        limit = Math.max(1, Math.floor(limit / 2));
        continue;
      }
      const channel = `${range.sender}>${range.recipient}`;
      throw new PeerRejection(channel, 'incomplete', `the peer answered: ${(error as Error).message}`);
    }
    pages.push(page);
    if (typeof page?.toBlock !== 'number' || page.toBlock < next) break; // chainPages says why
    next = page.toBlock + 1;
  }
  return pages;
}

async function connectPeers(
  peers: readonly string[],
  logger: Logger,
): Promise<Map<string, XcmpClient | Error>> {
  const clients = new Map<string, XcmpClient | Error>();
  for (const peer of peers) {
    try {
      clients.set(peer, await XcmpClient.connect(peer, { reconnectMs: 0 }));
    } catch (error) {
      logger.warn({ peer, err: (error as Error).message }, 'peer unreachable');
      clients.set(peer, error as Error);
    }
  }
  return clients;
}

/** What a channel's history must prove out against: the node's head, and what follows in the store. */
interface ChannelTarget {
  readonly range: PeerRange;
  readonly own: OwnChain;
  /** The head the range must start from, when this store knows it (a gap after its own blocks). */
  readonly startHead?: Hex | null;
}

/** The channel's history from the first peer that proves it; null when none does. */
async function proveChannel(
  clients: Map<string, XcmpClient | Error>,
  target: ChannelTarget,
  report: (outcome: PeerOutcome) => void,
): Promise<{ peer: string; accepted: AcceptedHistory } | null> {
  const { range, own } = target;
  const channel = `${range.sender}>${range.recipient}`;
  for (const [peer, client] of clients) {
    if (client instanceof Error) {
      report({ peer, channel, accepted: false, messages: 0, reason: client.message, kind: 'unreachable' });
      continue;
    }
    try {
      const accepted = acceptPeerHistory(range, await fetchPages(client, range), own, peer);
      if (target.startHead !== undefined && accepted.startHead !== target.startHead)
        throw new PeerRejection(
          channel,
          'head mismatch',
          `the peer starts from head ${accepted.startHead}, this store holds ${target.startHead} at #${range.from - 1}`,
        );
      report({ peer, channel, accepted: true, messages: accepted.messages.length, reason: null, kind: null });
      return { peer, accepted };
    } catch (error) {
      const rejection =
        error instanceof PeerRejection
          ? error
          : new PeerRejection(channel, 'malformed', (error as Error).message);
      report({ peer, channel, accepted: false, messages: 0, reason: rejection.reason, kind: rejection.kind });
    }
  }
  return null;
}

/** The head the node reports for a channel at `at`. */
async function nodeHead(node: NodeClient, sender: number, recipient: number, at: Hex): Promise<Hex | null> {
  const value = await node.storage(hrmpChannelsKey(sender, recipient), at);
  return value ? decodeHrmpChannel(sender, recipient, fromHex(value)).mqcHead : null;
}

function reporter(
  options: { logger: Logger; onOutcome?: (outcome: PeerOutcome) => void },
  outcomes: PeerOutcome[],
) {
  return (outcome: PeerOutcome) => {
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
    const { peer, channel, messages, kind, reason } = outcome;
    if (outcome.accepted) options.logger.info({ peer, channel, messages }, 'peer history accepted');
    else options.logger.warn({ peer, channel, kind, reason }, 'peer history rejected');
  };
}

async function closeAll(clients: Map<string, XcmpClient | Error>): Promise<void> {
  for (const client of clients.values()) if (!(client instanceof Error)) await client.close();
}

/**
 * What a channel's earlier history must end at: the head this store holds just before the block
 * from which it is complete. That head was read from this sidecar's own node (seeding, a bridge)
 * while the node still had that block, or proven so before; no read of a block the node may have
 * pruned since. A store from before heads were kept asks the node at its cursor instead.
 */
async function ownChainBefore(
  store: Store,
  node: NodeClient,
  history: ChannelHistory,
  cursor: { number: number; hash: Hex },
): Promise<OwnChain> {
  const { sender, recipient, completeFrom } = history;
  if (history.headKnown) return { held: [], nodeHead: history.headBefore, at: completeFrom - 1 };
  return {
    held: await store.channelMessages(sender, recipient, completeFrom - 1, cursor.number),
    nodeHead: await nodeHead(node, sender, recipient, cursor.hash),
    at: cursor.number,
  };
}

/** Accepted messages this store does not hold yet (a channel restarted after a gap holds some). */
async function notHeld(store: Store, range: PeerRange, messages: readonly MessageRecord[]) {
  const held = await store.channelMessages(range.sender, range.recipient, range.from - 1, range.to);
  const keys = new Set(held.map((m) => `${m.sentAt}/${m.index}`));
  return messages.filter((m) => !keys.has(`${m.sentAt}/${m.index}`));
}

/**
 * For every channel the store knows, fills what it lacks from `from` on, from the first peer that
 * proves it. Channels already complete from `from` are left alone.
 */
export async function backfillFromPeers(options: PeerBackfillOptions): Promise<PeerBackfillResult> {
  const { store, node } = options;
  const cursor = await store.cursor();
  if (!cursor) throw new Error('peer backfill needs at least one block stored from the node');
  const outcomes: PeerOutcome[] = [];
  const report = reporter(options, outcomes);
  const clients = await connectPeers(options.peers, options.logger);
  const unproven: string[] = [];
  try {
    for (const channel of await store.channels()) {
      const { sender, recipient } = channel;
      const history = await store.channelHistory(sender, recipient);
      if (!history || history.completeFrom <= options.from) continue;
      const range = { sender, recipient, from: options.from, to: history.completeFrom - 1 };
      const own = await ownChainBefore(store, node, history, cursor);
      const proven = await proveChannel(clients, { range, own }, report);
      if (!proven) {
        unproven.push(`${sender}>${recipient}`);
        continue;
      }
      const { peer, accepted } = proven;
      await store.writePeerHistory(sender, recipient, {
        ...{ from: range.from, headBefore: accepted.startHead, peer },
        messages: await notHeld(store, range, accepted.messages),
      });
    }
  } finally {
    await closeAll(clients);
  }
  return { outcomes, unproven };
}

/**
 * A store whose node pruned the blocks after its cursor (a downtime, an outage, a slow backfill):
 * the range up to the block ingest goes on from (followableFrom: with a margin past the first the
 * node serves, at most `upTo + 1`) is skipped and each channel's messages in it are taken from
 * peers, proven from the head this store holds at its cursor to the head the node reports at the
 * range's end. Channels no peer proves are complete only from after the range (and reported). Null
 * when there is no such range.
 */
export async function bridgeGapFromPeers(
  options: Omit<PeerBackfillOptions, 'from'> & { readonly upTo?: number },
): Promise<(PeerBackfillResult & BridgedRange) | null> {
  const { store, node } = options;
  const cursor = await store.cursor();
  if (!cursor) return null;
  const last = Math.min(await node.finalizedNumber(), (options.upTo ?? Number.MAX_SAFE_INTEGER) + 1);
  const resumeAt = await followableFrom(node, cursor.number + 1, last);
  if (resumeAt === null || resumeAt === cursor.number + 1) return null;
  const from = cursor.number + 1;
  const to = resumeAt - 1;
  options.logger.warn({ from, to }, 'the node pruned the blocks after the store: bridging them from peers');
  const seed = await seedBefore(node, resumeAt);
  const toHash = (await node.blockHash(to)) as Hex;
  const outcomes: PeerOutcome[] = [];
  const report = reporter(options, outcomes);
  const clients = await connectPeers(options.peers, options.logger);
  const filled = new Map<string, { peer: string; messages: readonly MessageRecord[] }>();
  const unproven: string[] = [];
  try {
    for (const channel of seed.channels) {
      const { sender, recipient } = channel;
      const range = { sender, recipient, from, to };
      const startHead = (await store.headBefore(sender, recipient, from))?.head;
      const own = { held: [], nodeHead: channel.mqcHead, at: to };
      const proven = await proveChannel(clients, { range, own, startHead }, report);
      if (proven)
        filled.set(`${sender}:${recipient}`, { peer: proven.peer, messages: proven.accepted.messages });
      else unproven.push(`${sender}>${recipient}`);
    }
  } finally {
    await closeAll(clients);
  }
  await store.bridgeGap({
    from,
    to: { number: to, hash: toHash },
    channels: seed.channels,
    pending: seed.pending,
    watermarks: seed.watermarks,
    filled,
  });
  const messages = [...filled.values()]
    .flatMap((f) => f.messages.map((m) => ({ ...m, peer: f.peer })))
    .sort(
      (a, b) => a.sentAt - b.sentAt || a.sender - b.sender || a.recipient - b.recipient || a.index - b.index,
    );
  return { outcomes, unproven, from, to: { number: to, hash: toHash }, messages };
}

/**
 * Ingest's way past pruned blocks with peers: an empty store starts later (peers fill what came
 * before afterwards, backfillFromPeers), a store with a cursor bridges the gap at once. `onBridge`
 * hears every bridge's result (for status, metrics and logs).
 */
export function peerBridge(
  options: Omit<PeerBackfillOptions, 'from'> & {
    readonly upTo?: number;
    readonly onBridge?: (result: PeerBackfillResult & BridgedRange) => void;
  },
): PrunedHistory {
  return {
    restartAt: async (first, last) =>
      followableFrom(options.node, first, last ?? (await options.node.finalizedNumber())),
    bridge: async () => {
      const result = await bridgeGapFromPeers(options);
      if (result) options.onBridge?.(result);
      return result;
    },
  };
}

/** What the service reports of its peers (`xcmp_status.federation`). */
export class PeerReport {
  readonly #peers = new Map<string, { accepted: number; rejected: number; lastRejection: string | null }>();
  #unproven: string[] = [];

  constructor(peers: readonly string[]) {
    for (const url of peers) this.#peers.set(url, { accepted: 0, rejected: 0, lastRejection: null });
  }

  readonly record = (outcome: PeerOutcome): void => {
    const peer = this.#peers.get(outcome.peer);
    if (!peer) return;
    if (outcome.accepted) peer.accepted += 1;
    else {
      peer.rejected += 1;
      peer.lastRejection = `${outcome.channel}: ${outcome.reason}`;
    }
  };

  /** Channels a bridge could not prove (each named once, across bridges). */
  addUnproven(channels: readonly string[]): void {
    this.#unproven = [...new Set([...this.#unproven, ...channels])];
  }

  json(gaps: readonly { from: number; to: number }[]): FederationJson {
    return {
      peers: [...this.#peers].map(([url, p]) => ({ url, ...p })),
      unproven: this.#unproven,
      gaps: [...gaps],
    };
  }
}
