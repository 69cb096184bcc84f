/**
 * The relay node, as the rest of the sidecar sees it. The only module that talks to the node
 * (DESIGN.md §4): raw JSON-RPC over one reconnecting WebSocket (upstream.ts), so blocks, events and
 * storage arrive as the node's own bytes and are decoded by the pure rooms.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlockInput } from '../derive/observe.ts';
import { fromHex, type Hex } from '../protocol/bytes.ts';
import { type HeaderJson, headerNumber } from '../protocol/header.ts';
import { parseMetadata, type RuntimeMetadata } from '../protocol/metadata.ts';
import {
  type SubscriptionCallbacks,
  type SubscriptionSpec,
  UpstreamConnection,
  UpstreamError,
  type UpstreamSubscription,
} from './upstream.ts';

/** `twox128("System") ‖ twox128("Events")`. */
export const SYSTEM_EVENTS_KEY = '0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7';

export class NodeError extends Error {
  override readonly name: string = 'NodeError';
}

/** The node no longer holds a block or its state (pruned); asking again will not help. */
export class HistoryUnavailableError extends NodeError {
  override readonly name = 'HistoryUnavailableError';
}

/** Why a first connection failed, in the operator's terms (refused, unknown host, …). */
function describeConnectError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'unknown host';
  return e.message || String(error);
}

/** How Substrate nodes word a request for pruned state or an unknown block. */
const PRUNED = /State already discarded|UnknownBlock|Unknown block/i;

export interface RuntimeVersion {
  readonly specName: string;
  readonly specVersion: number;
}

export interface NodeBlock {
  readonly header: HeaderJson;
  readonly extrinsics: readonly Hex[];
}

export interface NodeClientEvents {
  connected: [];
  disconnected: [Error];
}

export class NodeClient extends EventEmitter<NodeClientEvents> {
  readonly url: string;
  readonly #upstream: UpstreamConnection;
  readonly #metadataBySpec = new Map<string, Promise<RuntimeMetadata>>();

  private constructor(url: string, upstream: UpstreamConnection) {
    super();
    this.url = url;
    this.#upstream = upstream;
    upstream.on('connected', () => this.emit('connected'));
    upstream.on('disconnected', (error) => this.emit('disconnected', error));
  }

  /**
   * Connects to `url`. With `reconnectMs` > 0 the connection is re-opened by itself after a drop
   * and the first one is retried until `timeoutMs`; without, a refused connection is final at once.
   */
  static async connect(
    url: string,
    options: {
      timeoutMs?: number;
      reconnectMs?: number;
      onRetry?: (reason: string, attempt: number) => void;
    } = {},
  ): Promise<NodeClient> {
    const { timeoutMs = 10_000, reconnectMs = 0 } = options;
    const upstream = new UpstreamConnection(url, { reconnectMs });
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await upstream.connect();
        return new NodeClient(url, upstream);
      } catch (error) {
        const reason = describeConnectError(error);
        // A name the resolver says does not exist will not start to exist by retrying (EAI_AGAIN may).
        const final = (error as { code?: string }).code === 'ENOTFOUND';
        if (final || reconnectMs === 0 || Date.now() + reconnectMs > deadline) {
          await upstream.disconnect();
          throw new NodeError(
            `cannot connect to the node at ${url}: ${reason} (${attempt} ${attempt === 1 ? 'attempt' : 'attempts'})`,
          );
        }
        options.onRetry?.(reason, attempt);
        await sleep(reconnectMs);
      }
    }
  }

  get isConnected(): boolean {
    return this.#upstream.isConnected;
  }

  /** Subscriptions held on the node for this client (proxied ones and ingest's own). */
  get subscriptionCount(): number {
    return this.#upstream.subscriptionCount;
  }

  /** Sends one request; node errors and lost connections become NodeError (pruned state: HistoryUnavailableError). */
  async send<T>(method: string, params: readonly unknown[] = []): Promise<T> {
    try {
      return await this.#upstream.request<T>(method, params);
    } catch (error) {
      const detail =
        error instanceof UpstreamError
          ? `${error.code}: ${error.message}${error.data === undefined ? '' : `: ${String(error.data)}`}`
          : (error as Error).message;
      const message = `${method} failed at ${this.url}: ${detail}`;
      throw PRUNED.test(message) ? new HistoryUnavailableError(message) : new NodeError(message);
    }
  }

  /**
   * Forwards a client's request as it is: the node's error answer comes back as an UpstreamError
   * with the node's code, message and data; no answer at all is a ConnectionError.
   */
  forward(method: string, params: readonly unknown[]): Promise<unknown> {
    return this.#upstream.request(method, params);
  }

  /** `forward`, resolving with the result's JSON text as the node wrote it: passed on, never parsed. */
  forwardRaw(method: string, params: readonly unknown[], paramsJson?: string): Promise<string> {
    return this.#upstream.requestRaw(method, params, paramsJson);
  }

  /** A subscription that survives reconnects (see UpstreamConnection.subscribe). */
  subscribe(spec: SubscriptionSpec, callbacks: SubscriptionCallbacks): Promise<UpstreamSubscription> {
    return this.#upstream.subscribe(spec, callbacks);
  }

  blockHash(number?: number): Promise<Hex | null> {
    return this.send<Hex | null>('chain_getBlockHash', number === undefined ? [] : [number]);
  }

  finalizedHead(): Promise<Hex> {
    return this.send<Hex>('chain_getFinalizedHead');
  }

  /** The header of block `hash`, with its number and parent; HistoryUnavailableError if the node has none. */
  async header(hash: Hex): Promise<{ number: number; parentHash: Hex; json: HeaderJson }> {
    const json = await this.send<HeaderJson | null>('chain_getHeader', [hash]);
    if (!json) throw new HistoryUnavailableError(`the node has no header ${hash}`);
    return { number: headerNumber(json), parentHash: json.parentHash.toLowerCase() as Hex, json };
  }

  /** The number of the finalized head. */
  async finalizedNumber(): Promise<number> {
    return (await this.header(await this.finalizedHead())).number;
  }

  async block(hash: Hex): Promise<NodeBlock> {
    const result = await this.send<{ block: NodeBlock } | null>('chain_getBlock', [hash]);
    if (!result) throw new HistoryUnavailableError(`the node has no block ${hash}`);
    return result.block;
  }

  storage(key: string, at: Hex): Promise<Hex | null> {
    return this.send<Hex | null>('state_getStorage', [key, at]);
  }

  runtimeVersion(at: Hex): Promise<RuntimeVersion> {
    return this.send<RuntimeVersion>('state_getRuntimeVersion', [at]);
  }

  /** The metadata in force at `at`, fetched once per runtime version. */
  async metadata(at: Hex): Promise<RuntimeMetadata> {
    const version = await this.runtimeVersion(at);
    const key = `${version.specName}/${version.specVersion}`;
    let metadata = this.#metadataBySpec.get(key);
    if (!metadata) {
      metadata = this.send<Hex>('state_getMetadata', [at]).then((hex) =>
        parseMetadata(fromHex(hex, 'metadata')),
      );
      this.#metadataBySpec.set(key, metadata);
      metadata.catch(() => this.#metadataBySpec.delete(key));
    }
    return metadata;
  }

  /** Resolves a block number or hash to a hash. */
  async resolve(at: string | number): Promise<Hex> {
    if (typeof at === 'string' && at.startsWith('0x')) return at.toLowerCase() as Hex;
    const number = typeof at === 'number' ? at : Number(at);
    if (!Number.isInteger(number) || number < 0)
      throw new NodeError(`"${at}" is neither a block hash nor a block number`);
    const hash = await this.blockHash(number);
    if (!hash) throw new HistoryUnavailableError(`the node has no block #${number}`);
    return hash;
  }

  /** Block, events and metadata at `hash`: everything derive needs for one block (derive re-hashes the header). */
  async blockInput(hash: Hex): Promise<{ metadata: RuntimeMetadata; input: BlockInput }> {
    const [metadata, block, events] = await Promise.all([
      this.metadata(hash),
      this.block(hash),
      this.storage(SYSTEM_EVENTS_KEY, hash),
    ]);
    return {
      metadata,
      input: {
        header: block.header,
        extrinsics: block.extrinsics.map((hex) => fromHex(hex, 'extrinsic')),
        events: events === null ? null : fromHex(events, 'events'),
      },
    };
  }

  async disconnect(): Promise<void> {
    await this.#upstream.disconnect();
  }
}
