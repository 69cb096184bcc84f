/**
 * The sidecar assembled: node client → ingest → store, the subscription hub fed by ingest, and the
 * JSON-RPC server over all of it. Used by the CLI and by tests.
 */

import type { StatusJson } from '../rpc/schemas.ts';
import { FinalityProofSource } from './chain/finality.ts';
import { NodeClient } from './chain/node.ts';
import { InboxProofSource } from './chain/proofs.ts';
import { relayLayout } from './derive/layout.ts';
import type { SpeculativeEvent } from './derive/speculative.ts';
import { type BestBase, BestView } from './ingest/best.ts';
import type { Head } from './ingest/heads.ts';
import { Ingest, type IngestStatus } from './ingest/ingest.ts';
import { PeerReport, peerBridge } from './ingest/peer-backfill.ts';
import type { BridgedRange } from './ingest/pruned.ts';
import { Replica } from './ingest/replica.ts';
import type { Logger } from './log.ts';
import { type MeshOptions, MeshService } from './mesh/service.ts';
import { DeliveryCheck } from './para/delivery-check.ts';
import { JourneyArchive } from './para/journey-archive.ts';
import { JourneyBook } from './para/journey-book.ts';
import { JourneyTracker } from './para/journeys.ts';
import { ParaNodes } from './para/nodes.ts';
import { toHex } from './protocol/bytes.ts';
import type { TypeCodec } from './protocol/codec.ts';
import { encodeHeader } from './protocol/header.ts';
import type { RuntimeMetadata } from './protocol/metadata.ts';
import {
  isUnsubscribeMethod,
  RelayProxy,
  type RpcMethodsMode,
  type ServeInboundMode,
} from './proxy/proxy.ts';
import { dashboardRoutes } from './server/ops/dashboard.ts';
import { healthPolicies } from './server/ops/health.ts';
import { Metrics } from './server/ops/metrics.ts';
import { type MetricsServer, startMetricsServer } from './server/ops/metrics-server.ts';
import type { RpcContext } from './server/transport/jsonrpc.ts';
import { type RpcServer, type ServerLimits, startServer } from './server/transport/server.ts';
import { apiHandlers } from './server/xcmp/api.ts';
import { SubscriptionHub } from './server/xcmp/hub.ts';
import type { Store, StoreReader } from './store/interface.ts';
import type { MeshStore } from './store/mesh.ts';
import { openStore } from './store/open.ts';
import { BlockFollower } from './store/pg-roles.ts';
import type { BlockWrite } from './store/types.ts';

export interface SidecarOptions {
  readonly nodeUrl: string;
  readonly dbPath: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly limits?: Partial<ServerLimits>;
  readonly cors?: '*' | readonly string[];
  readonly retentionBlocks?: number;
  /** First block on an empty store (default: the finalized head). */
  readonly startAt?: number;
  /** How far behind the finalized head /ready still answers 200. */
  readonly readyLag?: number;
  readonly rpcMethods?: RpcMethodsMode;
  readonly serveInbound?: ServeInboundMode;
  /** Peer sidecars: history the node has pruned since the store's cursor is bridged from them. */
  readonly peers?: readonly string[];
  /** A port of its own for `GET /metrics` (it is on the RPC port too). */
  readonly prometheus?: { readonly host: string; readonly port: number };
  /**
   * `all` (default): ingest and serve. `api`: serve from a PostgreSQL store another process (a
   * `--role writer`) writes, following its commits by LISTEN/NOTIFY. The writer is `startWriter`.
   */
  readonly role?: 'all' | 'api';
  /** Sending chains' nodes (`--para`): their blocks' messages are announced speculatively (docs/speculative.md). */
  readonly paraNodes?: readonly string[];
  /** Relay blocks a para block must be backed in after its announcement before it is withdrawn. */
  readonly speculativeWindow?: number;
  /** Receiving para blocks included after an XCM's enactment without its delivery, after which its journey is stuck (default 10). */
  readonly stuckAfter?: number;
  /** The availability mesh (`--mesh-key`, `--mesh`, docs/mesh.md): aged history kept as erasure-coded chunks. */
  readonly mesh?: MeshOptions;
}

/** Where the sidecar's finalized blocks come from: its own ingest, or (API replica) the writer's commits. */
export interface ChainFeed extends BestBase {
  readonly status: IngestStatus;
  announcedAt(number: number): number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  on(event: 'block', listener: (write: BlockWrite, metadata: RuntimeMetadata) => void): unknown;
  on(event: 'bestHead', listener: (head: Head) => void): unknown;
  on(event: 'bridged', listener: (range: BridgedRange) => void): unknown;
  off(event: 'block', listener: (write: BlockWrite, metadata: RuntimeMetadata) => void): unknown;
}

export interface Sidecar {
  readonly server: RpcServer;
  readonly store: Store;
  /** Ingest (role all), or the replica following the writer (role api). */
  readonly ingest: ChainFeed;
  readonly role: 'all' | 'api';
  readonly node: NodeClient;
  readonly hub: SubscriptionHub;
  /** Unfinalized blocks above the store, enacted in memory. */
  readonly best: BestView;
  readonly metrics: Metrics;
  readonly proxy: RelayProxy;
  /** `--prometheus-port`'s endpoint, when given. */
  readonly metricsServer: MetricsServer | null;
  /** The para nodes attached with `--para` (null without). */
  readonly paras: ParaNodes | null;
  /** Journeys of XCMs to the attached paras (null without --para). */
  readonly journeys: JourneyBook | null;
  /** The availability mesh (null without --mesh-key). */
  readonly mesh: MeshService | null;
  status(): Promise<StatusJson>;
  close(): Promise<void>;
}

/** How often the store file's identity is checked (a deleted or replaced file stops ingest). */
const STORE_CHECK_MS = 2_000;
/** How long the first connection to the node is retried (a node started at the same time needs a moment). */
const NODE_CONNECT_TIMEOUT_MS = 10_000;

/** Resources started so far, closed in reverse order when a later step fails or on close(). */
export class Started {
  readonly #closers: (() => Promise<void> | void)[] = [];
  add(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse())
      await Promise.resolve(close()).catch(() => undefined);
  }
}

export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const started = new Started();
  try {
    return await assemble(options, started);
  } catch (error) {
    await started.closeAll();
    throw error;
  }
}

/** What the sidecar knows of the chain beyond the store: its name and the XCM codec of the runtime in force. */
class ChainFacts {
  name: string | null = null;
  xcm: TypeCodec | null = null;

  constructor(node: NodeClient) {
    node.send<string>('system_chain').then(
      (name) => {
        this.name = name;
      },
      () => undefined,
    );
  }
}

/** Records a stored block in the metrics. */
export function countBlock(metrics: Metrics, write: BlockWrite, finalized: number | null): void {
  metrics.blocksProcessed.inc();
  const verified = write.messages.filter((m) => m.verified).length;
  metrics.messagesStored.inc({ verified: 'true' }, verified);
  metrics.messagesStored.inc({ verified: 'false' }, write.messages.length - verified);
  for (const failure of write.failures) metrics.verificationFailures.inc({ kind: failure.kind });
  metrics.candidatesNotBacked.inc(write.notBacked?.length ?? 0);
  if (finalized !== null) metrics.headLag.set(Math.max(0, finalized - write.number));
}

/** Feeds the hub finalized blocks and bridged ranges from ingest (best-chain changes: feedBestChanges). */
function feedHub(hub: SubscriptionHub, ingest: ChainFeed, facts: ChainFacts, metrics: Metrics): void {
  ingest.on('block', (write, metadata) => {
    const since = performance.now();
    const announcedAt = ingest.announcedAt(write.number);
    if (announcedAt !== undefined) metrics.blockDelay.observe((since - announcedAt) / 1000);
    if (metadata) facts.xcm = relayLayout(metadata).versionedXcm;
    hub.onFinalized(write, since);
    countBlock(metrics, write, ingest.status.finalized);
  });
  ingest.on('bridged', (range) => hub.onBridged(range));
}

/**
 * Best-chain changes to the hub, in order. A relay branch that arrives at once may back para blocks
 * whose heads are still on their way from an attached para node: the node is asked for them first
 * (briefly), so `speculative` precedes `pending`.
 */
function feedBestChanges(
  hub: SubscriptionHub,
  best: BestView,
  paras: ParaNodes | null,
  logger: Logger,
): void {
  if (!paras) {
    best.on('change', (change) => hub.onBestChange(change));
    return;
  }
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  best.on('change', (change) => {
    const unannounced = hub.unannouncedParaBlocks(change.announced, paras.following());
    if (queued === 0 && unannounced.length === 0) {
      hub.onBestChange(change);
      return;
    }
    queued++;
    queue = queue
      .then(() => paras.readBacked(unannounced))
      .then(() => hub.onBestChange(change))
      .catch((error: Error) => logger.error({ err: error.message }, 'best-chain change not delivered'))
      .finally(() => queued--);
  });
}

/** Follows the para nodes (in the background), their blocks and heads going to the hub's speculative lifecycle. */
function startParas(
  hub: SubscriptionHub,
  paras: ParaNodes,
  started: Started,
  parts: {
    store: Store;
    ingest: ChainFeed;
    metrics: Metrics;
    logger: Logger;
    journeys: JourneyBook;
    facts: ChainFacts;
    options: SidecarOptions;
  },
): void {
  paras.on('block', (block) => hub.onParaBlock(block, block.importedAt));
  checkDeliveries({ ...parts, paras });
  const stuckAfter = parts.options.stuckAfter ?? 10;
  followJourneys({ ...parts, paras, xcm: () => parts.facts.xcm, stuckAfter });
  if ((parts.options.role ?? 'all') === 'all') {
    const archive = new JourneyArchive(parts.journeys, parts.store, parts.logger);
    started.add(() => archive.close());
  }
  paras.on('best', (head) => hub.onParaHead('best', head));
  paras.on('finalized', (head) => hub.onParaHead('finalized', head));
  paras.start();
  started.add(() => paras.close());
}

/** What attached para nodes say their blocks consumed, checked against the verified messages (para/delivery-check.ts). */
function checkDeliveries(parts: {
  store: StoreReader;
  ingest: ChainFeed;
  paras: ParaNodes;
  metrics: Metrics;
  logger: Logger;
}): void {
  const { store, ingest, paras, metrics, logger } = parts;
  const delivery = new DeliveryCheck(store, logger, (mismatch) =>
    metrics.deliveryMismatches.inc({ para: String(mismatch.paraId) }),
  );
  paras.attachDelivery(delivery);
  const failed = (error: Error) => logger.error({ err: error.message }, 'delivery check failed');
  paras.on('block', (block) => void delivery.paraBlock(block, ingest.status.cursor).catch(failed));
  paras.on('finalized', (head) => void delivery.paraFinalized(head).catch(failed));
  ingest.on('block', (write) => void delivery.stored(write.number).catch(failed));
}

/** Each XCM to an attached para followed to its receiving block and verdict, proven once included (para/journeys.ts). */
function followJourneys(parts: {
  store: StoreReader;
  ingest: ChainFeed;
  paras: ParaNodes;
  journeys: JourneyBook;
  xcm: () => TypeCodec | null;
  stuckAfter: number;
  metrics: Metrics;
  logger: Logger;
}): void {
  const { store, ingest, paras, journeys, metrics, logger } = parts;
  const tracker = new JourneyTracker({
    store,
    book: journeys,
    logger,
    xcm: parts.xcm,
    node: (paraId) => paras.follower(paraId),
    stuckAfter: parts.stuckAfter,
    onStage: (journey, stage) =>
      metrics.journeyStages.inc({
        sender: String(journey.sender),
        recipient: String(journey.recipient),
        stage,
      }),
  });
  paras.attachJourneys(tracker);
  metrics.stuckJourneysFrom(() => tracker.stuck());
  paras.on('block', (block) => tracker.paraBlock(block));
  paras.on('finalized', (head) => tracker.paraFinalized(head));
  ingest.on('block', (write) => tracker.stored(write));
}

/** Speculative outcomes in the metrics; a contradiction is a lying or broken para node: logged as an error. */
function countSpeculative(
  event: SpeculativeEvent,
  metrics: Metrics,
  paras: ParaNodes | null,
  logger: Logger,
): void {
  const outcome = event.type === 'speculative' ? 'announced' : event.type;
  metrics.speculativeBlocks.inc({ outcome });
  if (event.type !== 'contradicted') return;
  metrics.paraContradictions.inc({ para: String(event.paraId) });
  paras?.contradicted(event.paraId);
  logger.error(
    {
      para: event.paraId,
      paraBlock: event.paraBlock,
      relayBlock: event.block.number,
      candidateHash: event.candidateHash,
      announced: event.messages.map((m) => ({ recipient: m.recipient, hash: m.hash })),
      backed: event.backed.map((m) => ({ recipient: m.recipient, hash: m.hash })),
    },
    `para ${event.paraId}'s node announced other messages than its block's backed candidate carries: ${event.detail}`,
  );
}

/** Connects to the node, saying once why the first attempt failed and once that it is up. */
/** `--prometheus-port`'s own endpoint, when given, closed with the rest. */
export async function startPrometheus(
  options: SidecarOptions,
  metrics: Metrics,
  started: Started,
): Promise<MetricsServer | null> {
  if (!options.prometheus) return null;
  const server = await startMetricsServer(metrics, options.prometheus.host, options.prometheus.port);
  started.add(() => server.close());
  return server;
}

export async function connectNode(url: string, logger: Logger): Promise<NodeClient> {
  const timeoutMs = NODE_CONNECT_TIMEOUT_MS;
  const node = await NodeClient.connect(url, {
    reconnectMs: 1_000,
    timeoutMs,
    onRetry: (reason, attempt) => {
      if (attempt === 1)
        logger.warn(
          { node: url, reason, retryForMs: timeoutMs },
          `cannot reach the node yet (${reason}): retrying`,
        );
    },
  });
  logger.info({ node: url }, 'connected to the node');
  return node;
}

export function watchNode(node: NodeClient, metrics: Metrics, logger: Logger): void {
  // NodeClient.connect resolved once the first connection was up, so every later one is a reconnect.
  metrics.connectedFrom(() => node.isConnected);
  node.on('connected', () => {
    metrics.upstreamReconnects.inc();
    logger.info({ node: node.url }, 'reconnected to the node');
  });
  node.on('disconnected', (error) => logger.warn({ node: node.url, err: error.message }, 'lost the node'));
}

interface StatusParts {
  readonly store: Store;
  readonly ingest: ChainFeed;
  readonly proxy: RelayProxy;
  readonly facts: ChainFacts;
  readonly peers: PeerReport | null;
  readonly paras: ParaNodes | null;
  readonly mesh: MeshService | null;
}

/** What `xcmp_status` shows of the store: counts, failures by kind, the latest failures. */
export async function storeFigures(
  store: Store,
): Promise<Pick<StatusJson, 'counts' | 'verificationFailures' | 'recentFailures'>> {
  const [counts, recentFailures] = await Promise.all([store.counts(), store.recentFailures(10)]);
  return {
    counts: {
      blocks: counts.blocks,
      messages: counts.messages,
      unverifiedMessages: counts.unverifiedMessages,
      candidates: counts.candidates,
    },
    verificationFailures: counts.failuresByKind,
    recentFailures,
  };
}

function statusOf(options: SidecarOptions, parts: StatusParts): () => Promise<StatusJson> {
  const { store, ingest, proxy, facts, peers, paras, mesh } = parts;
  return async () => {
    const s = ingest.status;
    const [figures, gaps] = await Promise.all([storeFigures(store), peers ? store.gaps() : []]);
    return {
      node: { url: options.nodeUrl, connected: s.connected },
      chain: facts.name,
      finalized: s.finalized,
      best: s.best,
      synced: s.cursor,
      lag: s.finalized !== null && s.cursor !== null ? Math.max(0, s.finalized - s.cursor) : null,
      ...figures,
      lastError: s.lastError,
      inbound: { mode: proxy.serveInbound, ...proxy.shadow },
      federation: peers ? peers.json(gaps) : null,
      paraNodes: paras?.status() ?? [],
      mesh: mesh?.status() ?? null,
    };
  };
}

function relayProxy(
  options: SidecarOptions,
  node: NodeClient,
  store: Store,
  metrics: Metrics,
  best: BestView,
): RelayProxy {
  const serveInbound = options.serveInbound ?? 'store';
  return new RelayProxy({
    node,
    store,
    logger: options.logger,
    rpcMethods: options.rpcMethods ?? 'safe',
    serveInbound,
    onShadow: (result) => metrics.inboundAnswers.inc({ mode: serveInbound, result }),
    best,
    onSubscriptionEnded: () => metrics.upstreamSubscriptionsEnded.inc(),
  });
}

function gaugeSubscribers(hub: SubscriptionHub, metrics: Metrics, paras: ParaNodes | null): () => void {
  const timer = setInterval(() => {
    const counts = hub.subscriberCount;
    metrics.subscribers.set({ kind: 'mailbox' }, counts.mailbox);
    metrics.subscribers.set({ kind: 'candidates' }, counts.candidates);
    if (paras)
      metrics.paraNodesUp.set(paras.status().filter((p) => p.state === 'following' && p.connected).length);
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * With peers: whenever the node has pruned the blocks after the store's cursor (at start after a
 * downtime, or after an outage while running), ingest bridges them from the peers; the report
 * says what they proved, for xcmp_status, /metrics and the log.
 */
function peerFederation(options: SidecarOptions, store: Store, node: NodeClient, metrics: Metrics) {
  const peers = options.peers ?? [];
  if (peers.length === 0) return null;
  const report = new PeerReport(peers);
  const { logger } = options;
  const pruned = peerBridge({
    store,
    node,
    peers,
    logger,
    onOutcome: (outcome) => {
      report.record(outcome);
      const result = outcome.accepted ? 'accepted' : 'rejected';
      metrics.peerAnswers.inc({ result, kind: outcome.kind ?? '' });
    },
    onBridge: (result) => {
      report.addUnproven(result.unproven);
      const level = result.unproven.length > 0 ? 'error' : 'info';
      logger[level](
        { from: result.from, to: result.to.number, unproven: result.unproven },
        result.unproven.length > 0
          ? 'bridged pruned blocks: no peer proved some channels, their history restarts after the gap'
          : 'bridged pruned blocks from peers: every channel proven',
      );
    },
  });
  return { report, pruned };
}

/** The subscription hub, its observer counting into the metrics, inbox and finality proofs read from the node. */
function createHub(parts: {
  options: SidecarOptions;
  store: Store;
  node: NodeClient;
  facts: ChainFacts;
  metrics: Metrics;
  best: BestView;
  paras: ParaNodes | null;
}): SubscriptionHub {
  const { options, store, node, facts, metrics, best, paras } = parts;
  const proofs = new InboxProofSource(node, () => metrics.proofReads.inc());
  const finality = new FinalityProofSource(node, () => metrics.finalityProofReads.inc());
  const logger = options.logger;
  return new SubscriptionHub(
    store,
    () => facts.xcm,
    {
      notified: (count, ms) => {
        metrics.notificationLatency.observe(ms / 1000);
        metrics.messagesServed.inc(count);
      },
      dropped: (reason) => metrics.pendingDropped.inc({ reason }),
      speculative: (event) => countSpeculative(event, metrics, paras, logger),
    },
    {
      speculativeWindow: options.speculativeWindow,
      best,
      finality,
      proofs: async (recipient, block) => {
        const hash = block.hash ?? (await node.blockHash(block.number));
        if (!hash) throw new Error(`the node has no block #${block.number}`);
        return proofs.proof(recipient, { number: block.number, hash });
      },
    },
  );
}

async function openSidecarStore(options: SidecarOptions, started: Started): Promise<Store> {
  const store: Store = await openStore(options.dbPath);
  started.add(() => store.close());
  if (store.created && options.dbPath !== ':memory:')
    options.logger.info({ db: options.dbPath }, 'no database at this path: created a new store');
  return store;
}

async function assemble(options: SidecarOptions, started: Started): Promise<Sidecar> {
  const { logger } = options;
  const store = await openSidecarStore(options, started);
  const node = await connectNode(options.nodeUrl, logger);
  started.add(() => node.disconnect());
  const facts = new ChainFacts(node);
  const metrics = new Metrics();
  const role = options.role ?? 'all';
  const replica = role === 'api' ? await followWriter(options, store, node, started) : null;
  const { retentionBlocks, startAt } = options;
  const federation = role === 'all' ? peerFederation(options, store, node, metrics) : null;
  const ingest: ChainFeed =
    replica?.feed ??
    new Ingest({ node, store, logger, retentionBlocks, startAt, pruned: federation?.pruned });
  metrics.heightsFrom(() => {
    const { best, finalized, cursor } = ingest.status;
    return { best, finalized, synced: cursor };
  });
  const best = new BestView(node, ingest, logger);
  const paras = options.paraNodes?.length ? new ParaNodes(options.paraNodes, logger) : null;
  if (paras) metrics.paraNodesFrom(() => paras.following().size);
  const journeys = paras ? new JourneyBook() : null;
  const hub = createHub({ options, store, node, facts, metrics, best, paras });
  const peers = federation?.report ?? null;
  feedHub(hub, ingest, facts, metrics);
  feedBestChanges(hub, best, paras, logger);
  watchNode(node, metrics, logger);
  const proxy = relayProxy(options, node, store, metrics, best);
  const extraMethods = knownUpstreamMethods(proxy, metrics);
  const mesh = startMesh(options, { store, ingest, metrics, hub, node }, started);
  const status = statusOf(options, { store, ingest, proxy, facts, peers, paras, mesh });
  const storeWatch = watchStoreFile(store, ingest, metrics, logger);
  started.add(() => storeWatch.stop());
  const api = apiHandlers({ store, hub, status, xcm: () => facts.xcm, extraMethods, journeys, mesh });
  const server = await startServer({
    host: options.host,
    port: options.port,
    handlers: {
      methods: api.methods,
      subscriptions: api.subscriptions,
      subscriptionFor: (method: string) => proxy.subscriptionFor(method),
      isUnsubscribe: isUnsubscribeMethod,
      fallback: (method: string, params: readonly unknown[], context: RpcContext) =>
        proxy.call(method, params, context),
    },
    limits: options.limits,
    cors: options.cors,
    routes: dashboardRoutes(),
    metrics,
    logger,
    ...healthPolicies({
      nodeUrl: options.nodeUrl,
      readyLag: options.readyLag ?? 3,
      ingest: () => ingest.status,
      storeProblem: () => storeWatch.problem ?? replica?.problem() ?? null,
      role: replica ? () => replica.report() : () => ({ role: 'all' }),
    }),
  });
  started.add(() => server.close());
  const metricsServer = await startPrometheus(options, metrics, started);
  await ingest.start();
  started.add(() => ingest.stop());
  started.add(gaugeSubscribers(hub, metrics, paras));
  if (paras && journeys)
    startParas(hub, paras, started, { store, ingest, metrics, logger, journeys, facts, options });
  const close = () => started.closeAll();
  return {
    server,
    store,
    ingest,
    role,
    node,
    hub,
    best,
    metrics,
    proxy,
    metricsServer,
    paras,
    journeys,
    mesh,
    status,
    close,
  };
}

/** The node's methods, as the proxy answers them, also known to the metrics' method label (asked once now). */
function knownUpstreamMethods(proxy: RelayProxy, metrics: Metrics): () => Promise<readonly string[]> {
  const extraMethods = async () => {
    const names = await proxy.upstreamMethods();
    metrics.addKnownMethods(names);
    return names;
  };
  void extraMethods();
  return extraMethods;
}

/** A mesh member counting into the metrics, closed with the rest. */
export function meshMember(
  options: MeshOptions,
  store: MeshStore,
  parts: { metrics: Metrics; logger: Logger; started: Started },
): MeshService {
  const { metrics, started } = parts;
  const mesh = new MeshService(
    options,
    store,
    {
      badChunk: (member) => metrics.meshBadChunks.inc({ member }),
      aged: (blocks) => metrics.meshAgedBlocks.inc(blocks),
    },
    parts.logger,
  );
  metrics.meshFrom(() => mesh.status().sizes);
  started.add(() => mesh.close());
  return mesh;
}

/** The mesh member this sidecar is (with --mesh-key): ages each stored block past the full retention. */
function startMesh(
  options: SidecarOptions,
  parts: { store: Store; ingest: ChainFeed; metrics: Metrics; hub: SubscriptionHub; node: NodeClient },
  started: Started,
): MeshService | null {
  const { store, ingest, metrics, hub, node } = parts;
  if (!options.mesh) return null;
  if (!store.mesh || options.role === 'api')
    throw new Error(
      'the mesh keeps its chunks in a SQLite store of a sidecar that ingests (--role all): not with PostgreSQL',
    );
  const mesh = meshMember(options.mesh, store.mesh, { metrics, logger: options.logger, started });
  const proven = hub.proven!;
  mesh.attachPusher({
    store,
    proof: (recipient, block) => proven.proof(recipient, block),
    finality: (block) => proven.finalityProof(block),
    header: async (block) => toHex(encodeHeader((await node.header(block.hash)).json)),
  });
  ingest.on('block', (write) => {
    mesh.pushStored({ number: write.number, hash: write.hash });
    void mesh.onStored(write.number);
  });
  return mesh;
}

/** How long a replica may see the writer's cursor stand still, while the node finalizes blocks, before saying the writer is down. */
const WRITER_SILENT_MS = 30_000;

/**
 * An API replica's feed: LISTEN for the writer's commits (reconnecting), the replica following
 * them, and what /health says of both: whether PostgreSQL is reachable and the writer alive.
 */
async function followWriter(options: SidecarOptions, store: Store, node: NodeClient, started: Started) {
  const { logger } = options;
  const follower = new BlockFollower(options.dbPath, async () => (await store.cursor())?.number ?? null);
  const feed = new Replica({ node, store, commits: follower, logger });
  let advancedAt = Date.now();
  let lastCursor: number | null = null;
  follower.on('advanced', (number) => {
    if (number !== lastCursor) advancedAt = Date.now();
    lastCursor = number;
  });
  follower.on('listening', (up, error) =>
    up
      ? logger.info("listening for the writer's commits")
      : logger.warn({ err: error?.message }, 'lost the PostgreSQL connection for LISTEN: reconnecting'),
  );
  await follower.start();
  started.add(() => follower.stop());
  const writerAlive = () => {
    const { finalized, cursor } = feed.status;
    const behind = finalized !== null && cursor !== null && finalized - cursor > (options.readyLag ?? 3);
    return !behind || Date.now() - advancedAt < WRITER_SILENT_MS;
  };
  return {
    feed,
    problem: () =>
      follower.listening ? null : 'cannot reach PostgreSQL (the LISTEN connection is down): reconnecting',
    report: () => ({ role: 'api', writerAlive: writerAlive(), listening: follower.listening }),
  };
}

/**
 * Checks every STORE_CHECK_MS that the database file is still the one opened: deleted or replaced,
 * ingest stops (writing on would lose the history unseen) and /health says why.
 */
function watchStoreFile(store: Store, ingest: ChainFeed, metrics: Metrics, logger: Logger) {
  let problem: string | null = null;
  metrics.storeAvailable.set(1);
  const timer = setInterval(() => {
    if (problem) return;
    problem = store.fileProblem();
    if (!problem) return;
    metrics.storeAvailable.set(0);
    logger.error({ db: store.path, reason: problem }, 'the store is gone: ingest stopped');
    void ingest.stop();
  }, STORE_CHECK_MS);
  timer.unref();
  return {
    get problem() {
      return problem;
    },
    stop: () => clearInterval(timer),
  };
}
