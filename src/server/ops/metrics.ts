/** Prometheus metrics, `xcmp_` prefix, mirroring the node's RPC metrics (STYLE.md). */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { contractMethodNames } from '../../../rpc/contract.ts';
import type { MeshSizes } from '../../store/mesh.ts';
import { VERSION } from '../../version.ts';
import type { CallObserver } from '../transport/jsonrpc.ts';

/** Seconds, fine below 100 ms where push latency is judged. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15,
  0.25, 0.5, 1, 2.5,
];

/** One method's call metrics. */
interface CallSeries {
  readonly started: { inc(): void };
  readonly time: { observe(seconds: number): void };
  readonly ok: { inc(): void };
  readonly failed: { inc(): void };
}

export class Metrics {
  readonly registry = new Registry();
  readonly #known: Set<string>;
  readonly buildInfo = new Gauge({
    name: 'xcmp_build_info',
    help: 'Always 1; the version label says which xcmp-sidecar is running',
    labelNames: ['version'],
    registers: [this.registry],
  });
  readonly callsTime = new Histogram({
    name: 'xcmp_rpc_calls_time',
    help: 'RPC call time in seconds',
    labelNames: ['method'],
    registers: [this.registry],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  readonly callsStarted = new Counter({
    name: 'xcmp_rpc_calls_started',
    help: 'RPC calls started',
    labelNames: ['method'],
    registers: [this.registry],
  });
  readonly callsFinished = new Counter({
    name: 'xcmp_rpc_calls_finished',
    help: 'RPC calls finished',
    labelNames: ['method', 'is_error'],
    registers: [this.registry],
  });
  readonly sessionsOpened = new Counter({
    name: 'xcmp_rpc_sessions_opened',
    help: 'WebSocket sessions opened',
    registers: [this.registry],
  });
  readonly sessionsClosed = new Counter({
    name: 'xcmp_rpc_sessions_closed',
    help: 'WebSocket sessions closed',
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'xcmp_rpc_connections_refused',
    help: 'Connections refused at the connection limit or for an Origin not allowed by --rpc-cors',
    registers: [this.registry],
  });
  readonly slowConsumers = new Counter({
    name: 'xcmp_rpc_slow_consumers_disconnected',
    help: 'Connections closed because their send buffer was full',
    registers: [this.registry],
  });
  readonly upstreamSubscriptionsEnded = new Counter({
    name: 'xcmp_upstream_subscriptions_ended',
    help: 'Proxied subscriptions ended with an error because the node would not renew them after a reconnect',
    registers: [this.registry],
  });
  readonly candidatesNotBacked = new Counter({
    name: 'xcmp_candidates_not_backed_total',
    help: 'Candidates in ParaInherent.enter that the runtime dropped (no CandidateBacked event)',
    registers: [this.registry],
  });
  readonly pendingDropped = new Counter({
    name: 'xcmp_pending_dropped_total',
    help: 'Candidates announced as pending whose messages will not be enacted, by reason (timedOut, retracted, replaced, notEnacted)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly paraContradictions = new Counter({
    name: 'xcmp_para_contradictions_total',
    help: 'Para blocks whose backed candidate carries other messages than the para node announced (a lying or broken para node), by para',
    labelNames: ['para'] as const,
    registers: [this.registry],
  });
  readonly deliveryMismatches = new Counter({
    name: 'xcmp_delivery_mismatches_total',
    help: 'Para blocks whose LastHrmpMqcHeads differ from the heads of the verified messages they consumed (a lying or broken para node), by para',
    labelNames: ['para'] as const,
    registers: [this.registry],
  });
  readonly journeyStages = new Counter({
    name: 'xcmp_journey_stages_total',
    help: 'Journey stages seen on receiving paras whose node is attached (delivered, executed, failed, overweight, retracted, deliveryMismatch, unverifiable), by channel and stage',
    labelNames: ['sender', 'recipient', 'stage'] as const,
    registers: [this.registry],
  });
  readonly speculativeBlocks = new Counter({
    name: 'xcmp_speculative_blocks_total',
    help: 'Para blocks announced by attached para nodes with messages, by outcome (announced, matched, withdrawn, contradicted)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  #paraNodesFollowing: () => number = () => 0;
  readonly paraNodesUp: Gauge = new Gauge({
    name: 'xcmp_para_nodes_following',
    help: 'Para nodes attached with --para that are connected and followed',
    registers: [this.registry],
    collect: (): void => this.paraNodesUp.set(this.#paraNodesFollowing()),
  });
  #meshSizes: (() => MeshSizes) | null = null;
  readonly meshBytes: Gauge<'kind'> = new Gauge({
    name: 'xcmp_mesh_bytes',
    help: 'Aged history by kind: full (what it took in full), chunks (this member keeps), roots (erasure roots and branches), heads (MQC heads around each aged block)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect: (): void => {
      const sizes = this.#meshSizes?.();
      if (!sizes) return;
      this.meshBytes.set({ kind: 'full' }, sizes.fullBytes);
      this.meshBytes.set({ kind: 'chunks' }, sizes.chunkBytes);
      this.meshBytes.set({ kind: 'roots' }, sizes.rootBytes);
      this.meshBytes.set({ kind: 'heads' }, sizes.headBytes);
    },
  });
  #stuckJourneys: () => ReadonlyMap<string, number> = () => new Map();
  readonly journeysStuck: Gauge<'sender' | 'recipient'> = new Gauge({
    name: 'xcmp_journeys_stuck',
    help: 'XCMs enacted to a para whose node is attached and not delivered after --stuck-after of its blocks were included, by channel',
    labelNames: ['sender', 'recipient'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.journeysStuck.reset();
      for (const [channel, count] of this.#stuckJourneys()) {
        const [sender, recipient] = channel.split('-') as [string, string];
        this.journeysStuck.set({ sender, recipient }, count);
      }
    },
  });
  readonly peerAnswers = new Counter({
    name: 'xcmp_peer_answers_total',
    help: 'Channel histories asked of peer sidecars, by result (accepted, rejected) and why rejected',
    labelNames: ['result', 'kind'] as const,
    registers: [this.registry],
  });
  readonly proofReads = new Counter({
    name: 'xcmp_proof_reads_total',
    help: 'Inbox proofs read from the node (one per block and recipient, shared by every subscriber)',
    registers: [this.registry],
  });
  readonly meshBadChunks = new Counter({
    name: 'xcmp_mesh_bad_chunks_total',
    help: "Chunks mesh members sent that did not prove against this member's erasure root, by member key (the member is skipped; each also logged)",
    labelNames: ['member'] as const,
    registers: [this.registry],
  });
  readonly meshAgedBlocks = new Counter({
    name: 'xcmp_mesh_aged_blocks_total',
    help: "Blocks aged past --mesh-full-retention: kept as this member's erasure-coded chunks from then on",
    registers: [this.registry],
  });
  readonly finalityProofReads = new Counter({
    name: 'xcmp_finality_proof_reads_total',
    help: 'GRANDPA finality proofs asked of the node (grandpa_proveFinality: per block, shared; and per set change walked)',
    registers: [this.registry],
  });
  readonly storeAvailable = new Gauge({
    name: 'xcmp_store_available',
    help: '1 while the database file is the one opened; 0 once it was deleted or replaced (ingest stopped)',
    registers: [this.registry],
  });
  readonly subscribers = new Gauge({
    name: 'xcmp_subscribers',
    help: 'Open subscriptions',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly blocksProcessed = new Counter({
    name: 'xcmp_blocks_processed',
    help: 'Finalized blocks stored',
    registers: [this.registry],
  });
  /** Where the heights are read at each scrape (the node's best and finalized, the stored cursor). */
  #heights: (() => { best: number | null; finalized: number | null; synced: number | null }) | null = null;
  readonly blockHeight = new Gauge({
    name: 'xcmp_block_height',
    help: "Block heights: best and finalized as the node announced them, synced as stored (the node's substrate_block_height)",
    labelNames: ['status'],
    registers: [this.registry],
    collect: () => {
      const heights = this.#heights?.();
      if (!heights) return;
      for (const status of ['best', 'finalized', 'synced'] as const) {
        const height = heights[status];
        if (height !== null) this.blockHeight.set({ status }, height);
      }
    },
  });
  readonly headLag = new Gauge({
    name: 'xcmp_head_lag_blocks',
    help: 'Finalized head minus the last stored block',
    registers: [this.registry],
  });
  readonly messagesStored = new Counter({
    name: 'xcmp_messages_stored',
    help: 'Messages stored',
    labelNames: ['verified'],
    registers: [this.registry],
  });
  readonly messagesServed = new Counter({
    name: 'xcmp_messages_served',
    help: 'Messages sent in notifications',
    registers: [this.registry],
  });
  readonly verificationFailures = new Counter({
    name: 'xcmp_verification_failures',
    help: 'Verification failures',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly notificationLatency = new Histogram({
    name: 'xcmp_notification_latency_seconds',
    help: 'From a block being stored to its notifications being handed to the sockets',
    registers: [this.registry],
    buckets: LATENCY_BUCKETS,
  });
  readonly blockDelay = new Histogram({
    name: 'xcmp_block_delay_seconds',
    help: 'From the node announcing a finalized block to the block being stored (fetched, verified, written)',
    registers: [this.registry],
    buckets: LATENCY_BUCKETS,
  });
  readonly inboundAnswers = new Counter({
    name: 'xcmp_inbound_answers',
    help: 'ParachainHost_inbound_hrmp_channels_contents answered: from the store (match/mismatch in shadow mode) or by the node (fallback)',
    labelNames: ['mode', 'result'],
    registers: [this.registry],
  });
  /** Whether the node connection is up, read at each scrape. */
  #connected: (() => boolean) | null = null;
  readonly upstreamConnected = new Gauge({
    name: 'xcmp_upstream_connected',
    help: '1 while the connection to the relay node is up, 0 while it is down (ingest and the proxy wait)',
    registers: [this.registry],
    collect: () => {
      if (this.#connected) this.upstreamConnected.set(this.#connected() ? 1 : 0);
    },
  });
  readonly upstreamReconnects = new Counter({
    name: 'xcmp_upstream_reconnects',
    help: 'Reconnections to the relay node',
    registers: [this.registry],
  });

  constructor(extraMethods: readonly string[] = []) {
    this.#known = new Set([...contractMethodNames(), ...extraMethods]);
    collectDefaultMetrics({ register: this.registry, prefix: 'xcmp_' });
    this.buildInfo.set({ version: VERSION }, 1);
  }

  /** Reports `xcmp_upstream_connected` from `source`, read at each scrape. */
  connectedFrom(source: () => boolean): void {
    this.#connected = source;
  }

  /** Reports `xcmp_block_height` from `source`, read at each scrape. */
  /** Read at each scrape: how many para nodes are followed now. */
  stuckJourneysFrom(source: () => ReadonlyMap<string, number>): void {
    this.#stuckJourneys = source;
  }

  meshFrom(source: () => MeshSizes): void {
    this.#meshSizes = source;
  }

  paraNodesFrom(source: () => number): void {
    this.#paraNodesFollowing = source;
  }

  heightsFrom(source: () => { best: number | null; finalized: number | null; synced: number | null }): void {
    this.#heights = source;
  }

  /** Method label with bounded cardinality: unknown names are bucketed as "unknown". */
  methodLabel(method: string): string {
    return this.#known.has(method) ? method : 'unknown';
  }

  addKnownMethods(names: readonly string[]): void {
    for (const name of names) this.#known.add(name);
  }

  /** Each method label's series, looked up once: prom-client hashes the labels on every call otherwise. */
  readonly #callSeries = new Map<string, CallSeries>();

  #seriesOf(method: string): CallSeries {
    const label = this.methodLabel(method);
    let series = this.#callSeries.get(label);
    if (!series) {
      series = {
        started: this.callsStarted.labels(label),
        time: this.callsTime.labels(label),
        ok: this.callsFinished.labels(label, 'false'),
        failed: this.callsFinished.labels(label, 'true'),
      };
      this.#callSeries.set(label, series);
    }
    return series;
  }

  readonly observer: CallObserver = {
    started: (method) => this.#seriesOf(method).started.inc(),
    finished: (method, seconds, isError) => {
      const series = this.#seriesOf(method);
      series.time.observe(seconds);
      (isError ? series.failed : series.ok).inc();
    },
  };
}
