/**
 * The relay node, as the rest of the sidecar sees it. The only module that talks to the node
 * (DESIGN.md §4): raw JSON-RPC through @polkadot/api's WsProvider, so blocks, events and storage
 * arrive as the node's own bytes and are decoded by the pure rooms.
 */
import { WsProvider } from '@polkadot/api';
import type { BlockInput } from '../derive/observe.ts';
import { fromHex, type Hex } from '../protocol/bytes.ts';
import type { HeaderJson } from '../protocol/header.ts';
import { parseMetadata, type RuntimeMetadata } from '../protocol/metadata.ts';

/** `twox128("System") ‖ twox128("Events")`. */
export const SYSTEM_EVENTS_KEY = '0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7';

export class NodeError extends Error {
  override readonly name: string = 'NodeError';
}

/** The node no longer holds a block or its state (pruned); asking again will not help. */
export class HistoryUnavailableError extends NodeError {
  override readonly name = 'HistoryUnavailableError';
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

export class NodeClient {
  readonly url: string;
  readonly provider: WsProvider;
  readonly #metadataBySpec = new Map<string, Promise<RuntimeMetadata>>();

  private constructor(url: string, provider: WsProvider) {
    this.url = url;
    this.provider = provider;
  }

  /**
   * Connects to `url`. With `reconnectMs` > 0 the provider reconnects by itself after a drop;
   * the first connection must succeed within `timeoutMs`.
   */
  static async connect(
    url: string,
    options: { timeoutMs?: number; reconnectMs?: number } = {},
  ): Promise<NodeClient> {
    const { timeoutMs = 10_000, reconnectMs = 0 } = options;
    const provider = new WsProvider(url, reconnectMs > 0 ? reconnectMs : false, {}, timeoutMs);
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // With reconnection on, the provider connects by itself; otherwise connect once, by hand.
        (reconnectMs > 0 ? Promise.resolve() : provider.connect()).then(() => provider.isReady),
        new Promise((_, reject) => {
          // Without reconnection a refused connection is final at once.
          if (reconnectMs === 0) unsubscribe = provider.on('error', (error: unknown) => reject(error));
          timer = setTimeout(() => reject(new NodeError(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      await provider.disconnect().catch(() => undefined);
      const reason = (error as { message?: string }).message ?? String(error);
      throw new NodeError(`cannot connect to the node at ${url}: ${reason || 'connection refused'}`);
    } finally {
      unsubscribe();
      clearTimeout(timer);
    }
    return new NodeClient(url, provider);
  }

  async send<T>(method: string, params: unknown[] = []): Promise<T> {
    try {
      return (await this.provider.send(method, params)) as T;
    } catch (error) {
      const message = `${method} failed at ${this.url}: ${(error as Error).message}`;
      throw PRUNED.test(message) ? new HistoryUnavailableError(message) : new NodeError(message);
    }
  }

  blockHash(number?: number): Promise<Hex | null> {
    return this.send<Hex | null>('chain_getBlockHash', number === undefined ? [] : [number]);
  }

  finalizedHead(): Promise<Hex> {
    return this.send<Hex>('chain_getFinalizedHead');
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
    await this.provider.disconnect().catch(() => undefined);
  }
}
