/**
 * The embedded devnet: a simulated relay chain (not a node) that speaks the node's JSON-RPC with
 * real Polkadot runtime encodings. `startDevnet` runs it in-process; tests drive it through the
 * returned handle, users through `xcmp-sidecar devnet`.
 */
import { type DevnetBlock, DevnetChain, type Hex } from './chain.ts';
import { type DevnetConfig, devnetConfig } from './config.ts';
import { DevnetEncoder } from './encoder.ts';
import { paraHandlers } from './para-rpc.ts';
import { ParaNodeView } from './para-view.ts';
import { devnetHandlers } from './rpc.ts';
import type { BlockFaults } from './runtime.ts';
import { listenRpc, type RpcListener } from './server.ts';

export interface Devnet {
  readonly chain: DevnetChain;
  readonly url: string;
  /** Para nodes (`paraNodes`): each one's WebSocket URL, by para id. */
  readonly paraUrls: ReadonlyMap<number, string>;
  /** What each para node shows its clients (its `lag` fault: a node behind its chain). */
  readonly paraNodes: ReadonlyMap<number, ParaNodeView>;
  readonly httpUrl: string;
  readonly port: number;
  readonly config: DevnetConfig;
  newBlocks(count?: number, faults?: BlockFaults): Promise<DevnetBlock[]>;
  fork(depth: number, faults?: BlockFaults): Promise<DevnetBlock[]>;
  dropConnections(): void;
  /** Subscriptions clients hold on the devnet now. */
  readonly subscriptionCount: number;
  /** WebSocket connections open to the devnet now. */
  readonly connectionCount: number;
  /** Starts (or restarts) timed block production. */
  startProducing(intervalMs?: number): void;
  stopProducing(): void;
  close(): Promise<void>;
}

export interface DevnetOptions extends Partial<DevnetConfig> {
  readonly port?: number;
  readonly host?: string;
  /** Blocks made before the server starts listening. */
  readonly initialBlocks?: number;
  /** What to do about a port in use, in the words of the command that chose it. */
  readonly busyHint?: string;
}

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const { port = 0, host = '127.0.0.1', initialBlocks = 0, busyHint, ...overrides } = options;
  const config = devnetConfig(overrides);
  const chain = await DevnetChain.create(config, new DevnetEncoder(config.runtime));
  for (let i = 0; i < initialBlocks; i++) await chain.produce();
  let listener: RpcListener | null = null;
  let timer: NodeJS.Timeout | null = null;
  const newBlocks = (count = 1, faults?: BlockFaults) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => chain.produce({ faults: i === 0 ? faults : undefined })),
    );
  const handlers = devnetHandlers(chain, {
    newBlocks: async (count, faults) => (await newBlocks(count, faults)).map((b) => b.hash as Hex),
    fork: async (depth) => (await chain.fork(depth)).map((b) => b.hash),
    dropConnections: () => listener?.dropConnections(),
  });
  const paraNodes = new Map(
    [...(chain.collators?.chains ?? [])].map(([paraId, para]) => [paraId, new ParaNodeView(para)]),
  );
  const paths = new Map([...paraNodes].map(([paraId, view]) => [`/para/${paraId}`, paraHandlers(view)]));
  listener = await listenRpc(handlers, { port, host, busyHint, paths });
  const devnet: Devnet = {
    chain,
    config,
    url: listener.url,
    paraNodes,
    paraUrls: new Map(
      [...paths.keys()].map((path) => [Number(path.split('/')[2]), `${listener!.url}${path}`]),
    ),
    httpUrl: listener.httpUrl,
    port: listener.port,
    newBlocks,
    fork: (depth, faults) => chain.fork(depth, faults),
    dropConnections: () => listener?.dropConnections(),
    get subscriptionCount() {
      return listener?.subscriptionCount ?? 0;
    },
    get connectionCount() {
      return listener?.connectionCount ?? 0;
    },
    startProducing(intervalMs = config.blockTimeMs) {
      devnet.stopProducing();
      if (intervalMs > 0) timer = setInterval(() => void chain.produce(), intervalMs);
    },
    stopProducing() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    async close() {
      devnet.stopProducing();
      await listener?.close();
    },
  };
  if (config.blockTimeMs > 0) devnet.startProducing();
  return devnet;
}

export type { DevnetBlock, DevnetChain, DevnetConfig, Hex };
