/** `xcmp-sidecar backfill --from N [--to M]`: ingest a range of finalized blocks with a progress bar. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { HistoryUnavailableError, NodeClient } from '../chain/node.ts';
import { Ingest } from '../ingest/ingest.ts';
import { backfillFromPeers, type PeerBackfillResult, peerBridge } from '../ingest/peer-backfill.ts';
import { type BridgedRange, followableFrom, type PrunedHistory } from '../ingest/pruned.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Store } from '../store/interface.ts';
import { openStore } from '../store/open.ts';
import { isPostgresUrl } from '../store/url.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';
import { integerFlag, U32_MAX } from './numbers.ts';

export interface BackfillFlags {
  readonly from?: string;
  readonly to?: string;
  readonly node: string;
  readonly db: string;
  readonly log: string;
  readonly peer?: readonly string[];
}

const blockNumber = (value: string, flag: string): number =>
  integerFlag(value, flag, 1, U32_MAX, 'a block number from 1');

export async function runBackfill(flags: BackfillFlags): Promise<void> {
  const requestedFrom = flags.from === undefined ? undefined : blockNumber(flags.from, '--from');
  const requestedTo = flags.to === undefined ? undefined : blockNumber(flags.to, '--to');
  if (requestedTo !== undefined && requestedFrom !== undefined && requestedTo < requestedFrom)
    throw new CliError('--to must not be below --from');
  if (flags.db !== ':memory:' && !isPostgresUrl(flags.db)) mkdirSync(dirname(flags.db), { recursive: true });
  let store: Store;
  try {
    store = await openStore(flags.db);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT_RUNTIME);
  }
  const cursor = await store.cursor();
  if (!cursor && requestedFrom === undefined) {
    await store.close();
    throw new CliError(`the store ${flags.db} is empty: give --from, the first block to store`);
  }
  const from = requestedFrom ?? cursor!.number + 1;
  if (cursor && from > cursor.number + 1) {
    await store.close();
    throw new CliError(
      `the store ends at #${cursor.number}; --from ${from} would leave a gap (use --from ${cursor.number + 1})`,
    );
  }
  let node: NodeClient;
  try {
    node = await NodeClient.connect(flags.node, { reconnectMs: 1_000 });
  } catch (error) {
    await store.close();
    throw new CliError((error as Error).message, EXIT_RUNTIME);
  }
  try {
    const finalized = await node.finalizedNumber();
    const to = Math.min(requestedTo ?? finalized, finalized);
    if (requestedTo !== undefined && requestedTo > finalized)
      process.stderr.write(
        `--to #${requestedTo} is past the finalized head #${finalized}: stopping at #${finalized}\n`,
      );
    const peers = flags.peer ?? [];
    let start = cursor ? cursor.number + 1 : from;
    if (cursor && cursor.number >= to && peers.length === 0) {
      process.stdout.write(`nothing to do: the store already holds up to #${cursor.number}\n`);
      return;
    }
    if (to < start && !cursor) throw new CliError(`--from ${from} is above the finalized head #${finalized}`);
    if (!cursor && peers.length > 0) {
      // A pruned node: follow it from where it can still be followed; peers fill what came before.
      const followable = await followableFrom(node, from, to);
      if (followable === null) throw new CliError(`the node serves none of #${from}..#${to}`, EXIT_RUNTIME);
      start = followable;
    }
    const logger = createLogger({ level: flags.log });
    const bridges: (PeerBackfillResult & BridgedRange)[] = [];
    const pruned =
      peers.length > 0
        ? peerBridge({ store, node, peers, logger, upTo: to, onBridge: (result) => bridges.push(result) })
        : undefined;
    const before = await store.counts();
    if (start <= to) start = await ingestRange({ node, store, start, to, logger, pruned });
    const after = await store.counts();
    process.stdout.write(
      `stored #${start}..#${to} from the node: ${after.messages - before.messages} messages (${after.unverifiedMessages - before.unverifiedMessages} unverified) in ${flags.db}\n`,
    );
    for (const bridge of bridges) reportBridge(bridge);
    const unproven = bridges.flatMap((bridge) =>
      bridge.unproven.map((c) => `${c} in #${bridge.from}..#${bridge.to}`),
    );
    if (peers.length > 0) await historyFromPeers({ node, store, peers, from, logger, unproven });
  } finally {
    await node.disconnect();
    await store.close();
  }
}

/**
 * Ingests #start..#to from the node with a progress bar; a pruned block stops it with advice, unless
 * `pruned` (peers) takes ingest past it. Resolves with the first block ingested from the node.
 */
async function ingestRange(options: {
  node: NodeClient;
  store: Store;
  start: number;
  to: number;
  logger: Logger;
  pruned?: PrunedHistory;
}): Promise<number> {
  const { node, store, to } = options;
  let start = options.start;
  const bar = new SingleBar({
    format:
      'backfill [{bar}] {percentage}% | #{block} of #{start}..#{last} | {rate} blocks/s | ETA {eta_formatted}',
    stream: process.stderr,
    hideCursor: true,
  });
  // Counted in blocks of this range, so the bar starts at 0 %, not at start / to.
  bar.start(to - start + 1, 0, { rate: '0', block: start - 1, start, last: to });
  const startedAt = Date.now();
  const ingest = new Ingest({
    node,
    store,
    logger: options.logger,
    startAt: start,
    stopAt: to,
    pruned: options.pruned,
  });
  ingest.on('block', (write) => {
    // The node may have pruned the first block before ingest reached it: it started later.
    start = ingest.firstBlock ?? start;
    const seconds = (Date.now() - startedAt) / 1000;
    const done = write.number - start + 1;
    bar.update(done, { rate: (seconds > 0 ? done / seconds : 0).toFixed(1), block: write.number });
  });
  // A pruned block or state will not come back (and no peer takes ingest past it): stop instead of retrying forever.
  const pruned = new Promise<never>((_, reject) =>
    ingest.on('interrupted', (error) => {
      if (error instanceof HistoryUnavailableError) reject(error);
    }),
  );
  await ingest.start();
  try {
    await Promise.race([ingest.finished(), pruned]);
  } catch (error) {
    bar.stop();
    await ingest.stop();
    throw new CliError(
      `${(error as Error).message}; backfill needs a node that still holds these blocks and the state before --from (an archive node), or --peer`,
      EXIT_RUNTIME,
    );
  }
  await ingest.stop();
  bar.stop();
  return ingest.firstBlock ?? start;
}

/** One line per range bridged from peers while ingesting (the node pruned it meanwhile). */
function reportBridge(bridge: PeerBackfillResult & BridgedRange): void {
  const accepted = bridge.outcomes.filter((o) => o.accepted);
  const messages = accepted.reduce((total, o) => total + o.messages, 0);
  process.stdout.write(
    `the node pruned #${bridge.from}..#${bridge.to.number} while backfilling: ${messages} messages on ${accepted.length} channels from peers, proven against the node\n`,
  );
}

/**
 * The history before what the node served, from peers; exits 1 naming channels no peer proved
 * (here, or in a range bridged while ingesting: `unproven`).
 */
async function historyFromPeers(options: {
  node: NodeClient;
  store: Store;
  peers: readonly string[];
  from: number;
  logger: Logger;
  unproven: readonly string[];
}): Promise<void> {
  const { node, store, peers, from, logger } = options;
  const result = await backfillFromPeers({ store, node, peers, from, logger });
  const accepted = result.outcomes.filter((o) => o.accepted);
  const messages = accepted.reduce((total, o) => total + o.messages, 0);
  const rejected = result.outcomes.filter((o) => !o.accepted).length;
  process.stdout.write(
    `from peers: ${messages} messages on ${accepted.length} channels proven against the node from #${from}; ${rejected} peer answers rejected\n`,
  );
  const unproven = [
    ...(result.unproven.length > 0 ? [`${result.unproven.join(', ')} from #${from}`] : []),
    ...options.unproven,
  ];
  const count = result.unproven.length + options.unproven.length;
  if (unproven.length > 0)
    throw new CliError(
      `no peer could prove channel${count > 1 ? 's' : ''} ${unproven.join('; ')}`,
      EXIT_RUNTIME,
    );
}
