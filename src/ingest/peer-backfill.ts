/**
 * Federation (DESIGN.md §12): fills each channel's history before what this store holds from peer
 * sidecars, when the node has pruned it. A peer's pages for a channel are stored only when they
 * prove out against this sidecar's own node (derive/federation.ts); otherwise nothing of that
 * peer is stored for the channel, the reason is logged and reported, and the next peer is tried.
 */
import type { Logger } from 'pino';
import type { ChannelHistoryJson } from '../../rpc/schemas.ts';
import type { NodeClient } from '../chain/node.ts';
import { XcmpClient, XcmpRpcError } from '../client/client.ts';
import { acceptPeerHistory, type PeerRange, PeerRejection } from '../derive/federation.ts';
import { decodeHrmpChannel } from '../derive/proof.ts';
import { hrmpChannelsKey } from '../derive/storage.ts';
import { fromHex, type Hex } from '../protocol/bytes.ts';
import type { Store } from '../store/interface.ts';

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

/** The channel's history from the first peer that proves it; null when none does. */
async function fillChannel(
  options: PeerBackfillOptions,
  clients: Map<string, XcmpClient | Error>,
  range: PeerRange,
  own: { at: { number: number; hash: Hex } },
  report: (outcome: PeerOutcome) => void,
): Promise<boolean> {
  const { store, node } = options;
  const channel = `${range.sender}>${range.recipient}`;
  const value = await node.storage(hrmpChannelsKey(range.sender, range.recipient), own.at.hash);
  const nodeHead = value ? decodeHrmpChannel(range.sender, range.recipient, fromHex(value)).mqcHead : null;
  const held = store.channelMessages(range.sender, range.recipient, range.to, own.at.number);
  for (const [peer, client] of clients) {
    if (client instanceof Error) {
      report({ peer, channel, accepted: false, messages: 0, reason: client.message, kind: 'unreachable' });
      continue;
    }
    try {
      const pages = await fetchPages(client, range);
      const accepted = acceptPeerHistory(range, pages, { held, nodeHead, at: own.at.number }, peer);
      store.writePeerHistory(range.sender, range.recipient, {
        from: range.from,
        headBefore: accepted.startHead,
        peer,
        messages: accepted.messages,
      });
      report({ peer, channel, accepted: true, messages: accepted.messages.length, reason: null, kind: null });
      return true;
    } catch (error) {
      const rejection =
        error instanceof PeerRejection
          ? error
          : new PeerRejection(channel, 'malformed', (error as Error).message);
      report({ peer, channel, accepted: false, messages: 0, reason: rejection.reason, kind: rejection.kind });
    }
  }
  return false;
}

/**
 * For every channel the store knows, fills what it lacks from `from` on, from the first peer that
 * proves it. Channels already complete from `from` are left alone.
 */
export async function backfillFromPeers(options: PeerBackfillOptions): Promise<PeerBackfillResult> {
  const { store, logger } = options;
  const cursor = store.cursor();
  if (!cursor) throw new Error('peer backfill needs at least one block stored from the node');
  const outcomes: PeerOutcome[] = [];
  const report = (outcome: PeerOutcome) => {
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
    if (outcome.accepted)
      logger.info(
        { peer: outcome.peer, channel: outcome.channel, messages: outcome.messages },
        'peer history accepted',
      );
    else
      logger.warn(
        { peer: outcome.peer, channel: outcome.channel, kind: outcome.kind, reason: outcome.reason },
        'peer history rejected',
      );
  };
  const clients = await connectPeers(options.peers, logger);
  const unproven: string[] = [];
  try {
    for (const channel of store.channels()) {
      const history = store.channelHistory(channel.sender, channel.recipient);
      if (!history || history.completeFrom <= options.from) continue;
      const range = {
        sender: channel.sender,
        recipient: channel.recipient,
        from: options.from,
        to: history.completeFrom - 1,
      };
      if (!(await fillChannel(options, clients, range, { at: cursor }, report)))
        unproven.push(`${channel.sender}>${channel.recipient}`);
    }
  } finally {
    for (const client of clients.values()) if (!(client instanceof Error)) await client.close();
  }
  return { outcomes, unproven };
}
