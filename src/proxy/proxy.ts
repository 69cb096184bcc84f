/**
 * Relay RPC proxy (DESIGN.md §7): every non-xcmp_* method goes to the node over the sidecar's one
 * multiplexed connection, subscriptions included (re-established by the provider after a
 * reconnect), with the node's unsafe methods refused in safe mode, and
 * `ParachainHost_inbound_hrmp_channels_contents` answerable from the verified store.
 */

import { AppErrors } from '../../rpc/contract.ts';
import type { NodeClient } from '../chain/node.ts';
import type { Logger } from '../log.ts';
import { fromHex, type Hex, readU32, toHex } from '../protocol/bytes.ts';
import { encodeInboundChannelsContents } from '../protocol/inbound.ts';
import { ErrorCode, RpcError, type SubscriptionHandler } from '../server/jsonrpc.ts';
import type { MessageStore } from '../store/store.ts';

export type RpcMethodsMode = 'safe' | 'unsafe';
export type ServeInboundMode = 'store' | 'node' | 'shadow';

const UNSAFE_METHODS = new Set([
  'author_insertKey',
  'author_rotateKeys',
  'author_hasKey',
  'author_hasSessionKeys',
  'author_removeExtrinsic',
  'babe_epochAuthorship',
  'state_getPairs',
  'state_queryStorage',
  'state_traceBlock',
  'state_trieMigrationStatus',
  'system_networkState',
  'system_peers',
  'system_dryRun',
  'system_dryRunAt',
]);

export function isUnsafeMethod(method: string): boolean {
  return (
    UNSAFE_METHODS.has(method) ||
    /^system_(add|remove)/.test(method) ||
    /^system_\w*LogFilter$/.test(method) ||
    /^offchain_/.test(method) ||
    /^dev_/.test(method) ||
    /^sudo_/.test(method)
  );
}

/** Substrate subscriptions the proxy forwards: subscribe names → notification, unsubscribe names. */
const UPSTREAM_SUBSCRIPTIONS: readonly {
  subscribe: readonly string[];
  notification: string;
  unsubscribe: readonly string[];
}[] = [
  {
    subscribe: ['chain_subscribeNewHeads', 'chain_subscribeNewHead', 'subscribe_newHead'],
    notification: 'chain_newHead',
    unsubscribe: ['chain_unsubscribeNewHeads', 'chain_unsubscribeNewHead', 'unsubscribe_newHead'],
  },
  {
    subscribe: ['chain_subscribeAllHeads'],
    notification: 'chain_allHead',
    unsubscribe: ['chain_unsubscribeAllHeads'],
  },
  {
    subscribe: ['chain_subscribeFinalizedHeads', 'chain_subscribeFinalisedHeads'],
    notification: 'chain_finalizedHead',
    unsubscribe: ['chain_unsubscribeFinalizedHeads', 'chain_unsubscribeFinalisedHeads'],
  },
  {
    subscribe: ['state_subscribeRuntimeVersion', 'chain_subscribeRuntimeVersion'],
    notification: 'state_runtimeVersion',
    unsubscribe: ['state_unsubscribeRuntimeVersion', 'chain_unsubscribeRuntimeVersion'],
  },
  {
    subscribe: ['state_subscribeStorage'],
    notification: 'state_storage',
    unsubscribe: ['state_unsubscribeStorage'],
  },
  {
    subscribe: ['author_submitAndWatchExtrinsic'],
    notification: 'author_extrinsicUpdate',
    unsubscribe: ['author_unwatchExtrinsic'],
  },
  {
    subscribe: ['grandpa_subscribeJustifications'],
    notification: 'grandpa_justifications',
    unsubscribe: ['grandpa_unsubscribeJustifications'],
  },
  {
    subscribe: ['beefy_subscribeJustifications'],
    notification: 'beefy_justifications',
    unsubscribe: ['beefy_unsubscribeJustifications'],
  },
];

export interface ShadowStats {
  checked: number;
  mismatches: number;
  /** Answers the store could not give (block or channel not held): the node's was used. */
  fallbacks: number;
}

export interface ProxyOptions {
  readonly node: NodeClient;
  readonly store: MessageStore;
  readonly logger: Logger;
  readonly rpcMethods: RpcMethodsMode;
  readonly serveInbound: ServeInboundMode;
  readonly onShadow?: (result: 'store' | 'match' | 'mismatch' | 'fallback') => void;
}

const INBOUND = 'ParachainHost_inbound_hrmp_channels_contents';

function upstreamError(method: string, error: unknown): RpcError {
  const e = error as { code?: unknown; message?: string; data?: unknown };
  if (typeof e.code === 'number' && e.code !== -99999) {
    return new RpcError(e.code, (e.message ?? '').replace(/^-?\d+: /, ''), e.data);
  }
  return new RpcError(
    AppErrors.upstreamUnavailable.code,
    `${AppErrors.upstreamUnavailable.message}: ${method} could not be forwarded (${e.message ?? 'connection lost'})`,
  );
}

export class RelayProxy {
  readonly #options: ProxyOptions;
  readonly shadow: ShadowStats = { checked: 0, mismatches: 0, fallbacks: 0 };

  constructor(options: ProxyOptions) {
    this.#options = options;
  }

  /** The node's method list (for rpc_methods), or none when it cannot be asked. */
  async upstreamMethods(): Promise<string[]> {
    try {
      const answer = await this.#options.node.send<{ methods: string[] }>('rpc_methods');
      return answer.methods.filter((m) => this.#options.rpcMethods === 'unsafe' || !isUnsafeMethod(m));
    } catch (error) {
      this.#options.logger.warn(
        { err: (error as Error).message },
        'could not list the node methods for rpc_methods',
      );
      return [];
    }
  }

  #refuseUnsafe(method: string): void {
    if (this.#options.rpcMethods === 'safe' && isUnsafeMethod(method)) {
      throw new RpcError(ErrorCode.methodNotFound, 'RPC call is unsafe to be called externally');
    }
  }

  async #forward(method: string, params: readonly unknown[]): Promise<unknown> {
    try {
      return await this.#options.node.provider.send(method, params as unknown[]);
    } catch (error) {
      throw upstreamError(method, error);
    }
  }

  /** Answers any method the sidecar does not define itself. */
  async call(method: string, params: readonly unknown[]): Promise<unknown> {
    this.#refuseUnsafe(method);
    if (method === 'state_call' && params[0] === INBOUND && this.#options.serveInbound !== 'node') {
      return this.#inbound(params);
    }
    return this.#forward(method, params);
  }

  subscriptions(): Map<string, SubscriptionHandler> {
    const map = new Map<string, SubscriptionHandler>();
    for (const spec of UPSTREAM_SUBSCRIPTIONS) {
      for (const subscribe of spec.subscribe) {
        const [unsubscribe, ...aliases] = spec.unsubscribe;
        map.set(subscribe, {
          notification: spec.notification,
          unsubscribe: unsubscribe!,
          unsubscribeAliases: aliases,
          subscribe: async (params, emit) => {
            this.#refuseUnsafe(subscribe);
            const provider = this.#options.node.provider;
            let upstreamId: string | number;
            try {
              upstreamId = await provider.subscribe(
                spec.notification,
                subscribe,
                params as unknown[],
                (error: Error | null, result: unknown) => {
                  if (!error) emit(result);
                },
              );
            } catch (error) {
              throw upstreamError(subscribe, error);
            }
            return () => {
              provider.unsubscribe(spec.notification, unsubscribe!, upstreamId).catch(() => undefined);
            };
          },
        });
      }
    }
    return map;
  }

  /** The recipient's inbound channel contents at a stored block, SCALE-encoded as the runtime does; null if not held. */
  storeInbound(data: Hex, at: Hex | undefined): Uint8Array | null {
    const { store } = this.#options;
    const bytes = fromHex(data, 'call data');
    if (bytes.length !== 4 || !at) return null;
    const recipient = readU32(bytes, 0);
    const number = store.blockNumber(at.toLowerCase() as Hex);
    if (number === null) return null;
    const watermark = store.watermarkAt(recipient, number);
    const first = store.firstBlock();
    // Messages sent before the first stored block may still be queued: then the store is incomplete.
    if (watermark === null || first === null || watermark + 1 < first) return null;
    const channels = store.channels({ recipient });
    const inbound = [];
    for (const channel of channels) {
      const messages = store.channelMessages(channel.sender, recipient, watermark, number);
      if (messages.some((m) => !m.verified)) return null;
      inbound.push({ sender: channel.sender, messages });
    }
    return encodeInboundChannelsContents(inbound);
  }

  async #inbound(params: readonly unknown[]): Promise<unknown> {
    const [, data, at] = params as [string, Hex, Hex | undefined];
    const { logger, onShadow } = this.#options;
    let fromStore: Uint8Array | null = null;
    try {
      fromStore = typeof data === 'string' ? this.storeInbound(data, at) : null;
    } catch {
      fromStore = null;
    }
    if (this.#options.serveInbound === 'store') {
      if (fromStore) {
        onShadow?.('store');
        return toHex(fromStore);
      }
      this.shadow.fallbacks += 1;
      onShadow?.('fallback');
      return this.#forward('state_call', params);
    }
    const fromNode = (await this.#forward('state_call', params)) as Hex;
    if (!fromStore) {
      this.shadow.fallbacks += 1;
      onShadow?.('fallback');
      return fromNode;
    }
    this.shadow.checked += 1;
    if (toHex(fromStore) !== fromNode.toLowerCase()) {
      this.shadow.mismatches += 1;
      onShadow?.('mismatch');
      logger.error(
        { recipient: data, at, node: fromNode.slice(0, 66), store: toHex(fromStore).slice(0, 66) },
        'shadow: the node and the verified store disagree on inbound HRMP contents',
      );
    } else {
      onShadow?.('match');
    }
    return fromNode;
  }
}
