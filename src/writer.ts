/**
 * `--role writer` assembled: the node client, the writer role (ingest into PostgreSQL while holding
 * the chain's writer lock, a standby otherwise), and an HTTP endpoint for /health, /ready and
 * /metrics only. Subscribers are served by `--role api` replicas.
 */
import { WriterRole } from './ingest/writer.ts';
import { healthPolicies } from './server/ops/health.ts';
import { Metrics } from './server/ops/metrics.ts';
import type { MetricsServer } from './server/ops/metrics-server.ts';
import { type RpcServer, startServer } from './server/transport/server.ts';
import {
  connectNode,
  countBlock,
  type SidecarOptions,
  Started,
  startPrometheus,
  watchNode,
} from './sidecar.ts';
import type { Store } from './store/interface.ts';
import { openStore } from './store/open.ts';
import { isPostgresUrl } from './store/url.ts';

export interface WriterService {
  readonly server: RpcServer;
  readonly store: Store;
  readonly writer: WriterRole;
  readonly metrics: Metrics;
  readonly metricsServer: MetricsServer | null;
  close(): Promise<void>;
}

export async function startWriter(options: SidecarOptions): Promise<WriterService> {
  if (!isPostgresUrl(options.dbPath))
    throw new Error(
      '--role writer needs a PostgreSQL --db (postgres://…): a SQLite file has one process only',
    );
  const started = new Started();
  try {
    return await assembleWriter(options, started);
  } catch (error) {
    await started.closeAll();
    throw error;
  }
}

async function assembleWriter(options: SidecarOptions, started: Started): Promise<WriterService> {
  const { logger } = options;
  const store = await openStore(options.dbPath);
  started.add(() => store.close());
  const node = await connectNode(options.nodeUrl, logger);
  started.add(() => node.disconnect());
  const metrics = new Metrics();
  const { retentionBlocks, startAt } = options;
  const writer = new WriterRole({ url: options.dbPath, node, store, logger, retentionBlocks, startAt });
  metrics.heightsFrom(() => {
    const { best, finalized, cursor } = writer.status;
    return { best, finalized, synced: cursor };
  });
  writer.on('block', (write) => countBlock(metrics, write, writer.status.finalized));
  watchNode(node, metrics, logger);
  metrics.storeAvailable.set(1);
  const server = await startServer({
    host: options.host,
    port: options.port,
    handlers: { methods: new Map(), subscriptions: new Map() },
    limits: options.limits,
    cors: options.cors,
    metrics,
    logger,
    ...writerHealth(options, writer),
  });
  started.add(() => server.close());
  const metricsServer = await startPrometheus(options, metrics, started);
  await writer.start();
  started.add(() => writer.stop());
  return { server, store, writer, metrics, metricsServer, close: () => started.closeAll() };
}

/** A standby is healthy and not ready; a writer that lost its lock is neither until it takes it again. */
function writerHealth(options: SidecarOptions, writer: WriterRole) {
  const policies = healthPolicies({
    nodeUrl: options.nodeUrl,
    readyLag: options.readyLag ?? 3,
    ingest: () => writer.status,
    storeProblem: () => writer.lostReason,
    role: () => ({ role: 'writer', writer: writer.state }),
  });
  return {
    health: policies.health,
    ready: () =>
      writer.state === 'active'
        ? policies.ready()
        : {
            ok: false,
            reason: 'standby: another process holds the writer lock',
            role: 'writer',
            writer: writer.state,
          },
  };
}
