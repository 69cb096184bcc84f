import { AppErrors } from '../rpc/contract.ts';
import type { StatusJson } from '../rpc/schemas.ts';
import type { GrandpaCheckpoint } from './derive/grandpa.ts';
import { MeshFeed } from './mesh/feed.ts';
import type { MeshOptions, MeshService } from './mesh/service.ts';
import { dashboardRoutes } from './server/ops/dashboard.ts';
import { healthPolicies } from './server/ops/health.ts';
import { Metrics } from './server/ops/metrics.ts';
import { RpcError } from './server/transport/jsonrpc.ts';
import { type RpcServer, startServer } from './server/transport/server.ts';
import { apiHandlers } from './server/xcmp/api.ts';
import { SubscriptionHub } from './server/xcmp/hub.ts';
import { meshMember, type SidecarOptions, Started, storeFigures } from './sidecar.ts';
import type { Store } from './store/interface.ts';
import { openStore } from './store/open.ts';

export interface MeshOnlyOptions
  extends Pick<SidecarOptions, 'dbPath' | 'host' | 'port' | 'logger' | 'limits' | 'cors'> {
  readonly mesh: MeshOptions;
  /** Where trust starts: the GRANDPA set after this block. */
  readonly checkpoint: GrandpaCheckpoint;
}

export interface MeshOnlySidecar {
  readonly server: RpcServer;
  readonly store: Store;
  readonly mesh: MeshService;
  readonly feed: MeshFeed;
  readonly hub: SubscriptionHub;
  close(): Promise<void>;
}

const NO_NODE = 'This sidecar has no relay node (--mesh-only): it serves the xcmp_* methods only';

function meshOnlyStatus(store: Store, mesh: MeshService, feed: MeshFeed): () => Promise<StatusJson> {
  return async () => {
    const figures = await storeFigures(store);
    const fed = feed.status;
    return {
      node: { url: 'none (--mesh-only): blocks from the mesh', connected: fed.linked },
      chain: null,
      finalized: fed.heard,
      best: fed.heard,
      synced: fed.cursor,
      lag: fed.heard !== null && fed.cursor !== null ? Math.max(0, fed.heard - fed.cursor) : null,
      ...figures,
      lastError: fed.lastRefusal,
      inbound: { mode: 'store', checked: 0, mismatches: 0, fallbacks: 0 },
      federation: null,
      paraNodes: [],
      mesh: mesh.status(),
    };
  };
}

export async function startMeshOnly(options: MeshOnlyOptions): Promise<MeshOnlySidecar> {
  const started = new Started();
  try {
    const store = await openStore(options.dbPath);
    started.add(() => store.close());
    if (!store.mesh) throw new Error('--mesh-only keeps its store in SQLite');
    const metrics = new Metrics();
    const mesh = meshMember(options.mesh, store.mesh, { metrics, logger: options.logger, started });
    const feed = new MeshFeed(store, mesh.links, options.checkpoint, options.logger);
    mesh.attachFeed(feed);
    const hub = new SubscriptionHub(store, () => null);
    feed.on('block', (write) => {
      hub.onFinalized(write, performance.now());
      void mesh.onStored(write.number);
    });
    const status = meshOnlyStatus(store, mesh, feed);
    const api = apiHandlers({ store, hub, status, xcm: () => null, mesh });
    const server = await startServer({
      host: options.host,
      port: options.port,
      handlers: {
        methods: api.methods,
        subscriptions: api.subscriptions,
        fallback: (method) => {
          throw new RpcError(AppErrors.upstreamUnavailable.code, `${NO_NODE}; ${method} needs a node`);
        },
      },
      limits: options.limits,
      cors: options.cors,
      routes: dashboardRoutes(),
      metrics,
      logger: options.logger,
      ...healthPolicies({
        nodeUrl: 'the mesh (--mesh-only)',
        readyLag: 3,
        ingest: () => {
          const fed = feed.status;
          return {
            cursor: fed.cursor,
            finalized: fed.heard,
            best: fed.heard,
            connected: fed.linked,
            lastError: null,
            blocksProcessed: fed.accepted,
          };
        },
        storeProblem: () => store.fileProblem(),
        role: () => ({ role: 'mesh-only' }),
      }),
    });
    started.add(() => server.close());
    started.add(() => feed.stop());
    await feed.start();
    return { server, store, mesh, feed, hub, close: () => started.closeAll() };
  } catch (error) {
    await started.closeAll();
    throw error;
  }
}
