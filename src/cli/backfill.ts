/** `xcmp-sidecar backfill --from N [--to M]`: ingest a range of finalized blocks with a progress bar. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { firstServable } from '../chain/blocks.ts';
import { HistoryUnavailableError, NodeClient } from '../chain/node.ts';
import { Ingest } from '../ingest/ingest.ts';
import { backfillFromPeers } from '../ingest/peer-backfill.ts';
import { createLogger } from '../log.ts';
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
      // A pruned node: follow it from the first block it still serves; peers fill what came before.
      const servable = await firstServable(node, from, to);
      if (servable === null) throw new CliError(`the node serves none of #${from}..#${to}`, EXIT_RUNTIME);
      start = servable;
    }
    const before = await store.counts();
    if (start <= to) await ingestRange({ node, store, start, to, log: flags.log });
    const after = await store.counts();
    process.stdout.write(
      `stored #${start}..#${to} from the node: ${after.messages - before.messages} messages (${after.unverifiedMessages - before.unverifiedMessages} unverified) in ${flags.db}\n`,
    );
    if (peers.length > 0) await historyFromPeers({ node, store, peers, from, log: flags.log });
  } finally {
    await node.disconnect();
    await store.close();
  }
}

/** Ingests #start..#to from the node with a progress bar; a pruned block stops it with advice. */
async function ingestRange(options: {
  node: NodeClient;
  store: Store;
  start: number;
  to: number;
  log: string;
}): Promise<void> {
  const { node, store, start, to } = options;
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
    logger: createLogger({ level: options.log }),
    startAt: start,
    stopAt: to,
  });
  ingest.on('block', (write) => {
    const seconds = (Date.now() - startedAt) / 1000;
    const done = write.number - start + 1;
    bar.update(done, { rate: (seconds > 0 ? done / seconds : 0).toFixed(1), block: write.number });
  });
  // A pruned block or state will not come back: stop instead of retrying forever.
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
}

/** The history before what the node served, from peers; exits 1 naming channels no peer proved. */
async function historyFromPeers(options: {
  node: NodeClient;
  store: Store;
  peers: readonly string[];
  from: number;
  log: string;
}): Promise<void> {
  const { node, store, peers, from } = options;
  const logger = createLogger({ level: options.log });
  const result = await backfillFromPeers({ store, node, peers, from, logger });
  const accepted = result.outcomes.filter((o) => o.accepted);
  const messages = accepted.reduce((total, o) => total + o.messages, 0);
  const rejected = result.outcomes.filter((o) => !o.accepted).length;
  process.stdout.write(
    `from peers: ${messages} messages on ${accepted.length} channels proven against the node from #${from}; ${rejected} peer answers rejected\n`,
  );
  if (result.unproven.length > 0)
    throw new CliError(
      `no peer could prove channel${result.unproven.length > 1 ? 's' : ''} ${result.unproven.join(', ')} from #${from}`,
      EXIT_RUNTIME,
    );
}
