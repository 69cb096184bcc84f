/**
 * The sidecar itself: follow a relay node (or the embedded devnet when no --node is given), verify
 * and store every message, and serve them over JSON-RPC.
 */

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { type CheckpointSource, resolveCheckpoint } from '../client/grandpa.ts';
import type { Devnet } from '../devnet/index.ts';
import type { BestChange } from '../ingest/best.ts';
import { createLogger, type Logger, routeConsole } from '../log.ts';
import type { MeshOptions } from '../mesh/service.ts';
import type { RpcMethodsMode, ServeInboundMode } from '../proxy/proxy.ts';
import { DEFAULT_LIMITS, isLoopbackHost, type ServerLimits } from '../server/transport/server.ts';
import { type Sidecar, type SidecarOptions, startSidecar } from '../sidecar.ts';
import { isPostgresUrl, redactUrl } from '../store/url.ts';
import { checkpointArgument } from './checkpoint.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';
import { readMeshKey } from './mesh-key.ts';
import { integerFlag } from './numbers.ts';

export const DEVNET_DB = 'data/devnet.sqlite';
/** The embedded devnet's GRANDPA checkpoint (its genesis set), written at each start. */
export const DEVNET_CHECKPOINT = 'data/devnet-grandpa-checkpoint.json';
/**
 * Blocks the devnet makes at once when `npm start` starts it, as a chain that already runs has: the
 * candidates backed in them are enacted in the first blocks the sidecar follows, so the first
 * verified messages come with the first new block (one honest 6 s block time), not after a wait for
 * backing, availability and finality from genesis (four blocks, ~24 s).
 */
const DEVNET_HISTORY_BLOCKS = 3;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const MIB = 1024 * 1024;

export interface RunFlags {
  readonly node?: string;
  readonly db?: string;
  readonly port: string;
  /** The node's spelling of --port. */
  readonly rpcPort?: string;
  readonly host: string;
  readonly retentionBlocks: string;
  readonly log: string;
  readonly devnetPort: string;
  readonly blockTimeMs: string;
  readonly rpcMaxConnections: string;
  readonly rpcMaxSubscriptionsPerConnection: string;
  readonly rpcMaxRequestSize: string;
  readonly rpcMaxResponseSize: string;
  readonly rpcMaxBatchRequestLen: string;
  readonly rpcMessageBufferCapacityPerConnection: string;
  readonly rpcMessageBufferSizePerConnection: string;
  readonly rpcCors: string;
  readonly rpcMethods: string;
  readonly serveInbound: string;
  readonly role: string;
  readonly peer?: string;
  readonly para?: string;
  readonly speculativeWindow: string;
  readonly stuckAfter: string;
  readonly meshKey?: string;
  readonly mesh?: string;
  readonly meshFullRetention: string;
  readonly meshOnly?: boolean;
  readonly meshCheckpoint?: string;
  readonly prometheusPort?: string;
  readonly prometheusHost: string;
}

export interface RunOptions {
  readonly node?: string;
  readonly db?: string;
  readonly port: number;
  readonly host: string;
  readonly devnetPort: number;
  readonly blockTimeMs: number;
  readonly retentionBlocks: number;
  readonly log: string;
  readonly limits: ServerLimits;
  readonly cors: '*' | string[];
  readonly rpcMethods: RpcMethodsMode;
  readonly serveInbound: ServeInboundMode;
  readonly peers: string[];
  /** Para nodes (`--para`); null: the embedded devnet's own when there is no --node, none otherwise. */
  readonly paras: string[] | null;
  readonly speculativeWindow: number;
  readonly stuckAfter: number;
  /** The availability mesh (--mesh-key), or none. */
  readonly mesh?: MeshOptions;
  /** `--mesh-only`: no node; trust starts at this GRANDPA checkpoint. */
  readonly meshOnly?: CheckpointSource;
  readonly role: SidecarRole;
  readonly prometheus?: { readonly host: string; readonly port: number };
}

/** An enumerated setting: exactly one of `choices` (case-insensitive, as the node's flags), or exit 2 naming the flag. */
export function choiceFlag<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  const chosen = choices.find((choice) => choice === value.toLowerCase());
  if (chosen === undefined)
    throw new CliError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return chosen;
}

/** `auto` as the node means it: every method when listening on loopback only, else the safe set. */
export function resolveRpcMethods(mode: 'safe' | 'unsafe' | 'auto', host: string): RpcMethodsMode {
  if (mode !== 'auto') return mode;
  return isLoopbackHost(host) ? 'unsafe' : 'safe';
}

export type SidecarRole = 'all' | 'writer' | 'api';

/** `--role writer` and `api` share one PostgreSQL store and follow one node's chain: refused otherwise. */
function roleFlag(flags: RunFlags, peers: readonly string[]): SidecarRole {
  const role = choiceFlag(flags.role, '--role', ['all', 'writer', 'api'] as const);
  if (role === 'all') return role;
  if (flags.db === undefined || !isPostgresUrl(flags.db))
    throw new CliError(
      `--role ${role} needs a PostgreSQL --db (postgres://user:password@host:port/database)`,
    );
  if (flags.node === undefined)
    throw new CliError(`--role ${role} needs --node: every process of a deployment follows the same chain`);
  if (peers.length > 0) throw new CliError(`--peer works with --role all only, not --role ${role}`);
  return role;
}

/** A comma-separated list of WebSocket URLs (--peer, --para): each ws:// or wss://, none twice. */
function urlList(value: string | undefined, flag: string): string[] {
  const urls = (value ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  const bad = urls.find((url) => !/^wss?:\/\/./.test(url));
  if (bad !== undefined) throw new CliError(`${flag} takes ws:// or wss:// URLs, got "${bad}"`);
  const twice = urls.find((url, i) => urls.indexOf(url) !== i);
  if (twice !== undefined) throw new CliError(`${flag} names ${twice} twice`);
  return urls;
}

/** `--mesh-key`, `--mesh`, `--mesh-full-retention`: checked together; the key file read now. */
function meshFlags(flags: RunFlags, role: SidecarRole): MeshOptions | undefined {
  if (flags.meshKey === undefined) {
    if (flags.mesh !== undefined)
      throw new CliError('--mesh needs --mesh-key: the key that names this member');
    return undefined;
  }
  if (role !== 'all') throw new CliError(`--mesh-key works with --role all only, not --role ${role}`);
  if (flags.db !== undefined && isPostgresUrl(flags.db))
    throw new CliError('--mesh-key keeps its chunks in a SQLite --db, not PostgreSQL');
  const peers = (flags.mesh ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(0x[0-9a-fA-F]{64})@(wss?:\/\/.+)$/.exec(entry);
      if (!match)
        throw new CliError(`--mesh takes KEY@ws://HOST:PORT (a 32-byte hex public key), got "${entry}"`);
      return { key: match[1]!.toLowerCase(), url: match[2]! };
    });
  if (peers.length === 0) throw new CliError('--mesh-key needs the other members: --mesh KEY@ws://HOST:PORT');
  const fullRetention = integerFlag(flags.meshFullRetention, '--mesh-full-retention', 1, 10_000_000);
  const key = readMeshKey(flags.meshKey);
  const keys = [key.publicKey, ...peers.map((p) => p.key)];
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined)
    throw new CliError(`--mesh: member ${twice} is listed twice (or is this sidecar's own --mesh-key)`);
  return { key, peers, fullRetention };
}

/** `--mesh-only` with its checkpoint: no --node, and a mesh to take blocks from. */
function meshOnlyFlags(flags: RunFlags): CheckpointSource | undefined {
  if (!flags.meshOnly) {
    if (flags.meshCheckpoint !== undefined) throw new CliError('--mesh-checkpoint is for --mesh-only');
    return undefined;
  }
  if (flags.node !== undefined)
    throw new CliError('--mesh-only takes no --node: its blocks come from the mesh');
  if (flags.meshKey === undefined)
    throw new CliError('--mesh-only needs --mesh-key and --mesh: the members it takes blocks from');
  if (flags.meshCheckpoint === undefined)
    throw new CliError(
      '--mesh-only needs --mesh-checkpoint: polkadot, kusama, westend, or a checkpoint file',
    );
  return checkpointArgument(flags.meshCheckpoint, '--mesh-checkpoint');
}

export function runOptions(flags: RunFlags): RunOptions {
  const log = choiceFlag(flags.log, '--log', LOG_LEVELS);
  if (flags.node !== undefined && !/^wss?:\/\//.test(flags.node))
    throw new CliError(`--node must be a ws:// or wss:// URL, got "${flags.node}"`);
  const cors =
    flags.rpcCors === 'all'
      ? '*'
      : flags.rpcCors
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
  const peers = urlList(flags.peer, '--peer');
  const paras = flags.para === undefined ? null : urlList(flags.para, '--para');
  // An empty path would open a throwaway database: everything stored would be gone at exit.
  if (flags.db !== undefined && flags.db.trim() === '')
    throw new CliError('--db must be a file path (or :memory: for a throwaway store), got ""');
  const role = roleFlag(flags, peers);
  if (role === 'writer' && paras?.length)
    throw new CliError(
      '--para works with --role all or api (the process that serves subscribers), not --role writer',
    );
  return {
    peers,
    paras,
    speculativeWindow: integerFlag(flags.speculativeWindow, '--speculative-window', 1, 1024),
    stuckAfter: integerFlag(flags.stuckAfter, '--stuck-after', 1, 100_000),
    mesh: meshFlags(flags, role),
    meshOnly: meshOnlyFlags(flags),
    role,
    prometheus:
      flags.prometheusPort === undefined
        ? undefined
        : {
            host: flags.prometheusHost,
            port: integerFlag(flags.prometheusPort, '--prometheus-port', 0, 65535),
          },
    node: flags.node,
    db: flags.db,
    port:
      flags.rpcPort === undefined
        ? integerFlag(flags.port, '--port', 0, 65535)
        : integerFlag(flags.rpcPort, '--rpc-port', 0, 65535),
    host: flags.host,
    devnetPort: integerFlag(flags.devnetPort, '--devnet-port', 0, 65535),
    blockTimeMs: integerFlag(flags.blockTimeMs, '--block-time-ms', 1, 3_600_000),
    retentionBlocks: integerFlag(flags.retentionBlocks, '--retention-blocks', 1, 1e9),
    log,
    cors,
    rpcMethods: resolveRpcMethods(
      choiceFlag(flags.rpcMethods, '--rpc-methods', ['safe', 'unsafe', 'auto'] as const),
      flags.host,
    ),
    serveInbound: choiceFlag(flags.serveInbound, '--serve-inbound', ['store', 'node', 'shadow'] as const),
    limits: {
      ...DEFAULT_LIMITS,
      maxConnections: integerFlag(flags.rpcMaxConnections, '--rpc-max-connections', 1, 100_000),
      maxSubscriptionsPerConnection: integerFlag(
        flags.rpcMaxSubscriptionsPerConnection,
        '--rpc-max-subscriptions-per-connection',
        1,
        1_000_000,
      ),
      maxRequestSize: integerFlag(flags.rpcMaxRequestSize, '--rpc-max-request-size', 1, 4096) * MIB,
      maxResponseSize: integerFlag(flags.rpcMaxResponseSize, '--rpc-max-response-size', 1, 4096) * MIB,
      maxBatchLength: integerFlag(flags.rpcMaxBatchRequestLen, '--rpc-max-batch-request-len', 1, 1_000_000),
      messageBufferCapacity: integerFlag(
        flags.rpcMessageBufferCapacityPerConnection,
        '--rpc-message-buffer-capacity-per-connection',
        1,
        1_000_000,
      ),
      messageBufferBytes:
        integerFlag(
          flags.rpcMessageBufferSizePerConnection,
          '--rpc-message-buffer-size-per-connection',
          1,
          4096,
        ) * MIB,
    },
  };
}

/**
 * The old generation is collected once it grows by half past what the last collection left, instead
 * of V8's adaptive factor (up to 4×). A JSON-RPC server's garbage is large strings (requests,
 * answers) in bursts: with the adaptive factor a flood of 400 kB requests let 200+ MB of dead
 * strings wait for collection (RSS 377 MB against 242 MB, `npm run bench -- abuse`), at a cost in
 * throughput within the benches' noise (docs/performance.md).
 */
const HEAP_GROWING_PERCENT = 50;

export async function runSidecar(options: RunOptions): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const logger = createLogger({ level: options.log });
  const restoreConsole = routeConsole(logger);
  if (options.meshOnly) {
    try {
      await runMeshOnly(options, options.meshOnly, logger);
    } finally {
      restoreConsole();
    }
    return;
  }
  let started: Awaited<ReturnType<typeof startWithDevnet>>;
  try {
    started = await startWithDevnet(options, logger);
  } catch (error) {
    // Off a terminal stderr holds only pino lines: the reason the service could not start is one of them.
    const message = (error as Error).message;
    logger.fatal({ exitCode: EXIT_RUNTIME }, message);
    restoreConsole();
    throw new CliError(message, EXIT_RUNTIME, true);
  }
  const { sidecar, writer, devnet, dbPath } = started;
  if (sidecar) printWelcome(sidecar, devnet, dbPath);
  else
    process.stdout.write(
      `writer for ${options.node} into ${redactUrl(dbPath)}; /health /ready /metrics at ${writer.server.httpUrl}\n`,
    );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info({ signal }, 'shutting down');
  await (sidecar ?? writer).close();
  await devnet?.close();
  logger.info('stopped');
  restoreConsole();
}

const members = (count: number) => (count === 1 ? '1 mesh member' : `${count} mesh members`);

/** `--mesh-only`: the sidecar with no node, until a signal. */
async function runMeshOnly(options: RunOptions, checkpoint: CheckpointSource, logger: Logger): Promise<void> {
  const { startMeshOnly } = await import('../mesh-only.ts');
  const dbPath = options.db ?? 'data/xcmp.sqlite';
  if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
  let sidecar: Awaited<ReturnType<typeof startMeshOnly>>;
  try {
    sidecar = await startMeshOnly({
      dbPath,
      host: options.host,
      port: options.port,
      logger,
      limits: options.limits,
      cors: options.cors,
      mesh: options.mesh!,
      checkpoint: await resolveCheckpoint(checkpoint),
    });
  } catch (error) {
    const message = (error as Error).message;
    logger.fatal({ exitCode: EXIT_RUNTIME }, message);
    throw new CliError(message, EXIT_RUNTIME, true);
  }
  process.stdout.write(
    `mesh-only sidecar (no relay node: blocks from ${members(options.mesh!.peers.length)}, proven from the checkpoint)\nxcmp-sidecar JSON-RPC: ${sidecar.server.url} (HTTP ${sidecar.server.httpUrl}; /health /ready /metrics)\nstore: ${dbPath}\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info({ signal }, 'shutting down');
  await sidecar.close();
  logger.info('stopped');
}

/** The devnet, loaded only when there is no node: its code and trie wasm are memory a sidecar on a node does not need. */
async function embeddedDevnet(options: RunOptions): Promise<Devnet> {
  const { startDevnet } = await import('../devnet/index.ts');
  return startDevnet({
    port: options.devnetPort,
    blockTimeMs: options.blockTimeMs,
    initialBlocks: DEVNET_HISTORY_BLOCKS,
    // Para nodes, so that the speculative tier runs out of the box (unless --para names others).
    paraNodes: options.paras === null,
    // GRANDPA, so that a client can trust only a checkpoint (--verify-grandpa DEVNET_CHECKPOINT).
    grandpaAuthorities: 7,
    grandpaSetEvery: 100,
    busyHint: 'a node or another devnet? choose --devnet-port, or give --node',
  });
}

/** The devnet (without --node) and the sidecar following it; nothing left running on failure. */
async function startWithDevnet(options: RunOptions, logger: Logger) {
  const devnet = options.node ? null : await embeddedDevnet(options);
  const dbPath = options.db ?? (devnet ? DEVNET_DB : 'data/xcmp.sqlite');
  if (devnet && options.db === undefined) {
    // Each devnet run is a new simulated chain: start its store afresh.
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
  if (dbPath !== ':memory:' && !isPostgresUrl(dbPath)) mkdirSync(dirname(dbPath), { recursive: true });
  if (devnet?.chain.grandpa) {
    mkdirSync(dirname(DEVNET_CHECKPOINT), { recursive: true });
    const checkpoint = devnet.chain.grandpa.checkpoint(devnet.chain.blockAt(0)!.hash);
    writeFileSync(DEVNET_CHECKPOINT, `${JSON.stringify(checkpoint, null, 2)}\n`);
  }
  const nodeUrl = options.node ?? devnet!.url;
  try {
    const sidecarOptions: SidecarOptions = {
      nodeUrl,
      dbPath,
      host: options.host,
      port: options.port,
      logger,
      limits: options.limits,
      cors: options.cors,
      retentionBlocks: options.retentionBlocks,
      rpcMethods: options.rpcMethods,
      serveInbound: options.serveInbound,
      peers: options.peers,
      paraNodes: options.paras ?? (devnet ? [...devnet.paraUrls.values()] : []),
      speculativeWindow: options.speculativeWindow,
      stuckAfter: options.stuckAfter,
      mesh: options.mesh,
      prometheus: options.prometheus,
      role: options.role === 'api' ? 'api' : 'all',
    };
    if (options.role === 'writer') {
      const { startWriter } = await import('../writer.ts');
      return { writer: await startWriter(sidecarOptions), sidecar: null, devnet, dbPath };
    }
    return { writer: null, sidecar: await startSidecar(sidecarOptions), devnet, dbPath };
  } catch (error) {
    await devnet?.close();
    throw error;
  }
}

/** Where everything is, and a status line every 5 blocks and as soon as the first messages are stored. */
function printWelcome(sidecar: Sidecar, devnet: Devnet | null, dbPath: string): void {
  const { server, store } = sidecar;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  // Lines that read the store come out in the order of the events that asked for them.
  let printed: Promise<void> = Promise.resolve();
  const later = (line: Promise<string>) => {
    printed = printed.then(() =>
      line.then(
        (text) => {
          out(text);
        },
        () => undefined,
      ),
    );
  };
  if (devnet) out(`devnet (a simulated Polkadot relay chain, not a node): ${devnet.url}`);
  out(`relay node: ${sidecar.node.url}`);
  out(`xcmp-sidecar JSON-RPC: ${server.url} (HTTP ${server.httpUrl}; /health /ready /metrics)`);
  out(`dashboard: ${server.httpUrl}/`);
  if (sidecar.metricsServer) out(`prometheus metrics: ${sidecar.metricsServer.httpUrl}/metrics`);
  out(`store: ${redactUrl(dbPath)}`);
  const paraNodes = sidecar.paras?.status().map((p) => p.url) ?? [];
  if (paraNodes.length > 0) out(`para nodes (speculative tier): ${paraNodes.join(' ')}`);
  out("subscribe to para 2000's inbox:");
  out(`  npx xcmp-sidecar subscribe --url ${server.url} --recipient 2000`);
  if (paraNodes.length > 0)
    out(`  npx xcmp-sidecar subscribe --url ${server.url} --recipient 2000 --finality speculative`);
  if (devnet?.chain.grandpa)
    out(
      `  npx xcmp-sidecar subscribe --url ${server.url} --recipient 2000 --verify-grandpa ${DEVNET_CHECKPOINT}`,
    );
  let messagesSeen = false;
  const blockTimeMs = devnet?.config.blockTimeMs ?? null;
  // Until the first messages are stored, each new best block says what is pending and when to expect them.
  const onBest = ({ announced }: BestChange) => {
    for (const block of announced)
      later(waitingForMessages(sidecar, `#${block.number} imported`, blockTimeMs));
  };
  sidecar.best.on('change', onBest);
  sidecar.ingest.on('block', (write) => {
    const firstMessages = !messagesSeen && write.messages.length > 0;
    messagesSeen ||= write.messages.length > 0;
    if (firstMessages) sidecar.best.off('change', onBest);
    if (!messagesSeen) {
      later(waitingForMessages(sidecar, `#${write.number} finalized`, blockTimeMs));
      return;
    }
    if (write.number % 5 !== 0 && !firstMessages) return;
    later(
      Promise.all([store.counts(), sidecar.status()]).then(
        ([counts, s]) =>
          `#${write.number} finalized (lag ${s.lag ?? '?'}) · ${counts.messages} messages stored (${counts.unverifiedMessages} unverified) · ${counts.candidates} candidates`,
      ),
    );
  });
}

/**
 * Progress before the first messages: what is pending and when they are expected. Messages the best
 * chain already enacted are stored once their block is finalized, `best - finalized` blocks later.
 */
async function waitingForMessages(
  sidecar: Sidecar,
  event: string,
  blockTimeMs: number | null,
): Promise<string> {
  const { best, finalized, cursor } = sidecar.ingest.status;
  const active = await sidecar.store.candidatesActive(Math.max(0, (cursor ?? 0) - 16), null, 1000);
  const pending = active.filter((candidate) => candidate.status === 'backed');
  const head = `${event} (finalized #${finalized ?? '?'}, best #${best ?? '?'}) · no messages yet · ${pending.length} candidates pending availability`;
  const enacted = sidecar.best.path().find((block) => block.write.messages.length > 0);
  if (!enacted || best === null || finalized === null)
    return `${head} · messages come once a candidate that carries some is enacted and finalized`;
  // The best block enacting them is finalized once the head has moved `best - finalized` past it.
  const blocks = Math.max(1, enacted.number - finalized);
  const eta = blockTimeMs === null ? '' : `, ~${Math.round((blocks * blockTimeMs) / 1000)} s`;
  return `${head} · ${enacted.write.messages.length} messages enacted at best #${enacted.number}, stored when it is finalized (in ${blocks} block${blocks === 1 ? '' : 's'}${eta})`;
}
