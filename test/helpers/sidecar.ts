/** A devnet and a sidecar attached to it, in this process. */
import { type Devnet, type DevnetOptions, startDevnet } from '../../src/devnet/index.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import type { RpcMethodsMode, ServeInboundMode } from '../../src/proxy/proxy.ts';
import type { ServerLimits } from '../../src/server/transport/server.ts';
import { type Sidecar, type SidecarOptions, startSidecar } from '../../src/sidecar.ts';
import { startWriter, type WriterService } from '../../src/writer.ts';
import { eventually, storedUpTo } from './wait.ts';

export interface Stack {
  readonly devnet: Devnet;
  readonly sidecar: Sidecar;
  close(): Promise<void>;
}

export async function startStack(
  devnetOptions: DevnetOptions = {},
  sidecarOptions: {
    limits?: Partial<ServerLimits>;
    dbPath?: string;
    port?: number;
    startAt?: number;
    rpcMethods?: RpcMethodsMode;
    serveInbound?: ServeInboundMode;
    cors?: '*' | readonly string[];
    /** Para nodes to attach; "devnet": every para node of the devnet (which then runs them). */
    paraNodes?: readonly string[] | 'devnet';
    speculativeWindow?: number;
    stuckAfter?: number;
  } = {},
): Promise<Stack> {
  if (sidecarOptions.paraNodes === 'devnet') devnetOptions = { paraNodes: true, ...devnetOptions };
  const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, ...devnetOptions });
  const sidecar = await startSidecar({
    nodeUrl: devnet.url,
    dbPath: sidecarOptions.dbPath ?? ':memory:',
    host: '127.0.0.1',
    port: sidecarOptions.port ?? 0,
    logger: process.env.XCMP_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger(),
    limits: sidecarOptions.limits,
    startAt: sidecarOptions.startAt ?? 1,
    rpcMethods: sidecarOptions.rpcMethods,
    serveInbound: sidecarOptions.serveInbound,
    cors: sidecarOptions.cors,
    paraNodes:
      sidecarOptions.paraNodes === 'devnet' ? [...devnet.paraUrls.values()] : sidecarOptions.paraNodes,
    speculativeWindow: sidecarOptions.speculativeWindow,
    stuckAfter: sidecarOptions.stuckAfter,
  });
  return {
    devnet,
    sidecar,
    async close() {
      await sidecar.close();
      await devnet.close();
    },
  };
}

/**
 * A sidecar in this process following `nodeUrl` (a relay in front of a devnet, say), in memory by
 * default; with `port` and `dbPath` it is a restart of one that ran there before.
 */
export function sidecarOn(
  nodeUrl: string,
  where: { port?: number; dbPath?: string; startAt?: number; paraNodes?: readonly string[] } = {},
): Promise<Sidecar> {
  return startSidecar({
    nodeUrl,
    dbPath: where.dbPath ?? ':memory:',
    host: '127.0.0.1',
    port: where.port ?? 0,
    logger: silentLogger(),
    startAt: where.startAt ?? 1,
    paraNodes: where.paraNodes,
  });
}

/** Makes `count` blocks and waits until the sidecar stored the new finalized head. */
export async function advance(stack: Stack, count: number): Promise<void> {
  await stack.devnet.newBlocks(count);
  await storedUpTo(stack.sidecar.store, stack.devnet.chain.finalized.number);
}

/**
 * A `--role writer` on the PostgreSQL `dbPath` following the stack's devnet, once it holds the
 * writer lock; and the options an API replica of it shares (`{ ...replicaBase, role: 'api' }`).
 */
export async function activeWriter(
  stack: Stack,
  dbPath: string,
): Promise<{ writer: WriterService; replicaBase: SidecarOptions }> {
  const replicaBase = {
    nodeUrl: stack.devnet.url,
    dbPath,
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
  };
  const writer = await startWriter({ ...replicaBase, startAt: 1 });
  await eventually(() => writer.writer.state === 'active', { what: 'the writer took the lock' });
  return { writer, replicaBase };
}
