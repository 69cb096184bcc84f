/**
 * The sidecar itself: follow a relay node (or the embedded devnet when no --node is given), verify
 * and store every message. The JSON-RPC server attaches here once it lands.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { NodeClient } from '../chain/node.ts';
import { startDevnet } from '../devnet/index.ts';
import { Ingest } from '../ingest/ingest.ts';
import { createLogger } from '../log.ts';
import { MessageStore, type StoreError } from '../store/store.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';

export interface RunOptions {
  readonly node?: string;
  readonly db?: string;
  readonly devnetPort: number;
  readonly blockTimeMs: number;
  readonly retentionBlocks: number;
  readonly log: string;
}

export const DEVNET_DB = 'data/devnet.sqlite';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface RunFlags {
  readonly node?: string;
  readonly db?: string;
  readonly retentionBlocks: string;
  readonly log: string;
  readonly devnetPort: string;
  readonly blockTimeMs: string;
}

function integerFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export function runOptions(flags: RunFlags): RunOptions {
  if (!LOG_LEVELS.includes(flags.log))
    throw new CliError(`--log must be one of ${LOG_LEVELS.join(', ')}, got "${flags.log}"`);
  if (flags.node !== undefined && !/^wss?:\/\//.test(flags.node))
    throw new CliError(`--node must be a ws:// or wss:// URL, got "${flags.node}"`);
  return {
    node: flags.node,
    db: flags.db,
    devnetPort: integerFlag(flags.devnetPort, '--devnet-port', 0, 65535),
    blockTimeMs: integerFlag(flags.blockTimeMs, '--block-time-ms', 1, 3_600_000),
    retentionBlocks: integerFlag(flags.retentionBlocks, '--retention-blocks', 1, 1e9),
    log: flags.log,
  };
}

export async function runSidecar(options: RunOptions): Promise<void> {
  const logger = createLogger({ level: options.log });
  const devnet = options.node
    ? null
    : await startDevnet({ port: options.devnetPort, blockTimeMs: options.blockTimeMs });
  const dbPath = options.db ?? (devnet ? DEVNET_DB : 'data/xcmp.sqlite');
  if (devnet && options.db === undefined) {
    // Each devnet run is a new simulated chain: start its store afresh.
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
  if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
  let store: MessageStore;
  try {
    store = MessageStore.open(dbPath);
  } catch (error) {
    await devnet?.close();
    throw new CliError((error as StoreError).message, EXIT_RUNTIME);
  }
  const url = options.node ?? devnet!.url;
  let node: NodeClient;
  try {
    node = await NodeClient.connect(url, { reconnectMs: 1_000 });
  } catch (error) {
    store.close();
    await devnet?.close();
    throw new CliError((error as Error).message, EXIT_RUNTIME);
  }
  if (devnet) process.stdout.write(`devnet (a simulated Polkadot relay chain, not a node): ${devnet.url}\n`);
  process.stdout.write(`following ${url}, storing verified messages in ${dbPath}\n`);
  const ingest = new Ingest({ node, store, logger, retentionBlocks: options.retentionBlocks });
  ingest.on('block', (write) => {
    const counts = write.number % 5 === 0 ? store.counts() : null;
    if (counts) {
      process.stdout.write(
        `#${write.number} finalized · ${counts.messages} messages stored (${counts.unverifiedMessages} unverified) · ${counts.candidates} candidates\n`,
      );
    }
  });
  await ingest.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await ingest.stop();
  await node.disconnect();
  store.close();
  await devnet?.close();
}
