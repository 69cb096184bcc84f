/**
 * Relay RPC proxy (DESIGN.md §7): every non-xcmp_* method goes to the node over the sidecar's one
 * multiplexed connection, subscriptions included (renewed after a reconnect, or ended with an
 * error), with only the node's known-safe methods forwarded in safe mode, and
 * `ParachainHost_inbound_hrmp_channels_contents` answerable from the verified store.
 */

import { AppErrors } from '../../rpc/contract.ts';
import type { NodeClient } from '../chain/node.ts';
import {
  ConnectionError,
  type SubscriptionSpec,
  UpstreamError,
  type UpstreamSubscription,
} from '../chain/upstream.ts';
import type { Logger } from '../log.ts';
import { fromHex, type Hex, readU32, toHex } from '../protocol/bytes.ts';
import { encodeInboundChannelsContents } from '../protocol/inbound.ts';
import { ErrorCode, RawJson, RpcError, type SubscriptionHandler } from '../server/transport/jsonrpc.ts';
import type { StoreReader } from '../store/interface.ts';
import type { BlockWrite } from '../store/types.ts';

export type RpcMethodsMode = 'safe' | 'unsafe';
export type ServeInboundMode = 'store' | 'node' | 'shadow';

/**
 * What safe mode forwards: the methods a Substrate node itself serves to the public (reads,
 * subscriptions, transaction submission). Deny by default: anything not named here, including
 * methods a newer node adds, is refused until it is known to be safe.
 */
const SAFE_METHODS = new Set([
  'rpc_methods',
  ...['submitExtrinsic', 'submitAndWatchExtrinsic', 'unwatchExtrinsic', 'pendingExtrinsics'].map(
    (m) => `author_${m}`,
  ),
  ...[
    'getBlock',
    'getBlockHash',
    'getHead',
    'getHeader',
    'getFinalizedHead',
    'getFinalisedHead',
    'getRuntimeVersion',
    'subscribeNewHead',
    'subscribeNewHeads',
    'unsubscribeNewHead',
    'unsubscribeNewHeads',
    'subscribeAllHeads',
    'unsubscribeAllHeads',
    'subscribeFinalizedHeads',
    'subscribeFinalisedHeads',
    'unsubscribeFinalizedHeads',
    'unsubscribeFinalisedHeads',
    'subscribeRuntimeVersion',
    'unsubscribeRuntimeVersion',
  ].map((m) => `chain_${m}`),
  'subscribe_newHead',
  'unsubscribe_newHead',
  ...[
    'call',
    'callAt',
    'getKeys',
    'getKeysPaged',
    'getKeysPagedAt',
    'getMetadata',
    'getReadProof',
    'getChildReadProof',
    'getRuntimeVersion',
    'getStorage',
    'getStorageAt',
    'getStorageHash',
    'getStorageHashAt',
    'getStorageSize',
    'getStorageSizeAt',
    'queryStorageAt',
    'subscribeRuntimeVersion',
    'unsubscribeRuntimeVersion',
    'subscribeStorage',
    'unsubscribeStorage',
  ].map((m) => `state_${m}`),
  ...['getKeys', 'getKeysPaged', 'getStorage', 'getStorageEntries', 'getStorageHash', 'getStorageSize'].map(
    (m) => `childstate_${m}`,
  ),
  ...[
    'name',
    'version',
    'chain',
    'chainType',
    'properties',
    'health',
    'localPeerId',
    'localListenAddresses',
    'nodeRoles',
    'syncState',
    'accountNextIndex',
  ].map((m) => `system_${m}`),
  'account_nextIndex',
  'payment_queryInfo',
  'payment_queryFeeDetails',
  'grandpa_roundState',
  'grandpa_proveFinality',
  'grandpa_subscribeJustifications',
  'grandpa_unsubscribeJustifications',
  'beefy_getFinalizedHead',
  'beefy_subscribeJustifications',
  'beefy_unsubscribeJustifications',
  'mmr_root',
  'mmr_generateProof',
  'mmr_verifyProof',
  'mmr_verifyProofStateless',
]);

/** True for every method safe mode refuses: all but the known-safe list. */
export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/** Methods nodes mark unsafe themselves: refused as unsafe whether or not this node lists them. */
function isKnownUnsafe(method: string): boolean {
  return /^(author_(insertKey|rotateKeys|hasKey|hasSessionKeys|removeExtrinsic)|system_(add|remove)\w*|system_\w*LogFilter|system_(peers|networkState|dryRun\w*)|state_(getPairs|queryStorage|traceBlock|trieMigrationStatus)|babe_epochAuthorship|offchain_\w+|dev_\w+|sudo_\w+)$/.test(
    method,
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
  readonly store: StoreReader;
  readonly logger: Logger;
  readonly rpcMethods: RpcMethodsMode;
  readonly serveInbound: ServeInboundMode;
  readonly onShadow?: (result: 'store' | 'match' | 'mismatch' | 'fallback') => void;
  /** The best-chain view: blocks above the stored one, for answers at best-chain blocks. */
  readonly best?: BestChainBlocks;
  /** A proxied subscription was ended because the node would not renew it. */
  readonly onSubscriptionEnded?: () => void;
}

const INBOUND = 'ParachainHost_inbound_hrmp_channels_contents';

/** A best-chain block as the best-chain view computed it. */
interface ComputedBlock {
  readonly write: BlockWrite;
}

/** The best-chain blocks above the stored one, as the best-chain view computed them. */
export interface BestChainBlocks {
  /** Blocks from just above the stored block up to `hash`, oldest first; null when not computed. */
  pathTo(hash: Hex): readonly ComputedBlock[] | null;
  /** Resolves once `hash` is computed (true) or after `ms` (false). */
  whenComputed(hash: Hex, ms: number): Promise<boolean>;
}

/** How long an inbound call at a block the best-chain view is still computing waits for it. */
const BEST_WAIT_MS = 1000;

interface InboundSource {
  /** The stored block the answer builds on. */
  readonly stored: number;
  /** Best-chain blocks above it, up to the block asked about. */
  readonly path: readonly ComputedBlock[];
}

/** The client sees the node's own error, or that the node could not be reached: never our internals. */
function upstreamError(method: string, error: unknown): RpcError {
  if (error instanceof UpstreamError) return new RpcError(error.code, error.message, error.data);
  const why = error instanceof ConnectionError ? error.message : 'the request could not be sent';
  return new RpcError(
    AppErrors.upstreamUnavailable.code,
    `${AppErrors.upstreamUnavailable.message}: ${method} could not be forwarded (${why})`,
  );
}

/** Deepest nesting of arrays and objects accepted in forwarded params (the node's JSON parser allows 128). */
const MAX_PARAMS_DEPTH = 64;

function nestingDepth(value: unknown, limit: number): number {
  const isNested = (item: unknown): item is object => item !== null && typeof item === 'object';
  let depth = 0;
  let level: unknown[] = [value];
  for (;;) {
    const nested = level.filter(isNested);
    if (nested.length === 0 || depth > limit) return depth;
    depth += 1;
    level = nested.flatMap((item) => Object.values(item));
  }
}

function checkParams(method: string, params: readonly unknown[]): void {
  if (params.every((param) => param === null || typeof param !== 'object')) return; // depth 1: the usual hash or key
  if (nestingDepth(params, MAX_PARAMS_DEPTH) > MAX_PARAMS_DEPTH) {
    throw new RpcError(
      ErrorCode.invalidParams,
      `Invalid params: ${method} params are nested deeper than ${MAX_PARAMS_DEPTH} levels`,
    );
  }
}

export class RelayProxy {
  readonly #options: ProxyOptions;
  readonly shadow: ShadowStats = { checked: 0, mismatches: 0, fallbacks: 0 };

  get serveInbound(): ServeInboundMode {
    return this.#options.serveInbound;
  }

  /** The node's own method list, asked once per connection. */
  #nodeMethods: Promise<ReadonlySet<string> | null> | null = null;

  constructor(options: ProxyOptions) {
    this.#options = options;
    options.node.on('connected', () => {
      this.#nodeMethods = null; // a restarted node may run another version
    });
  }

  #listNodeMethods(): Promise<ReadonlySet<string> | null> {
    this.#nodeMethods ??= this.#options.node.send<{ methods: string[] }>('rpc_methods').then(
      (answer) => new Set(answer.methods),
      (error: Error) => {
        this.#options.logger.warn({ err: error.message }, 'could not list the node methods for rpc_methods');
        this.#nodeMethods = null; // ask again next time
        return null;
      },
    );
    return this.#nodeMethods;
  }

  /** The node's method list as this proxy serves it (for rpc_methods), or none when it cannot be asked. */
  async upstreamMethods(): Promise<string[]> {
    const methods = await this.#listNodeMethods();
    return [...(methods ?? [])].filter((m) => this.#options.rpcMethods === 'unsafe' || !isUnsafeMethod(m));
  }

  /** Safe mode: a method the node has but that is not known to be safe is refused as the node refuses it. */
  async #refuseUnsafe(method: string): Promise<void> {
    if (this.#options.rpcMethods !== 'safe' || !isUnsafeMethod(method)) return;
    const nodeMethods = isKnownUnsafe(method) ? null : await this.#listNodeMethods();
    if (nodeMethods && !nodeMethods.has(method))
      throw new RpcError(ErrorCode.methodNotFound, 'Method not found');
    throw new RpcError(ErrorCode.methodNotFound, 'RPC call is unsafe to be called externally');
  }

  async #forward(method: string, params: readonly unknown[]): Promise<unknown> {
    return this.#toNode(method, params, () => this.#options.node.forward(method, params));
  }

  /** Sends a client's call on to the node: params checked first, the node's failure in the client's terms. */
  async #toNode<T>(method: string, params: readonly unknown[], send: () => Promise<T>): Promise<T> {
    checkParams(method, params);
    try {
      return await send();
    } catch (error) {
      throw upstreamError(method, error);
    }
  }

  /** Answers any method the sidecar does not define itself. */
  async call(method: string, params: readonly unknown[]): Promise<unknown> {
    await this.#refuseUnsafe(method);
    if (method === 'state_call' && params[0] === INBOUND && this.#options.serveInbound !== 'node') {
      return this.#inbound(params);
    }
    // The node's result is passed on as the node wrote it: not parsed, not serialized again.
    return new RawJson(
      await this.#toNode(method, params, () => this.#options.node.forwardRaw(method, params)),
    );
  }

  subscriptions(): Map<string, SubscriptionHandler> {
    const map = new Map<string, SubscriptionHandler>();
    for (const spec of UPSTREAM_SUBSCRIPTIONS) {
      const [unsubscribe, ...aliases] = spec.unsubscribe;
      for (const subscribe of spec.subscribe) {
        map.set(subscribe, {
          notification: spec.notification,
          unsubscribe: unsubscribe!,
          unsubscribeAliases: aliases,
          subscribe: (params, emit, _context, end) =>
            this.#subscribeUpstream({ method: subscribe, params, unsubscribe: unsubscribe! }, emit, end),
        });
      }
    }
    return map;
  }

  /** One client subscription held on the node; if the node will not renew it after a reconnect, it ends with an error. */
  async #subscribeUpstream(
    spec: SubscriptionSpec,
    emit: (result: unknown) => void,
    end: (error: RpcError) => void,
  ): Promise<() => void> {
    await this.#refuseUnsafe(spec.method);
    checkParams(spec.method, spec.params);
    let held: UpstreamSubscription;
    try {
      held = await this.#options.node.subscribe(spec, {
        onEvent: emit,
        onEnd: (error) => {
          this.#options.onSubscriptionEnded?.();
          this.#options.logger.warn(
            { method: spec.method, err: error.message },
            'a proxied subscription could not be renewed on the node; ending it with an error',
          );
          const cause = error instanceof UpstreamError ? `${error.code}: ${error.message}` : error.message;
          end(
            new RpcError(
              AppErrors.upstreamUnavailable.code,
              `${AppErrors.upstreamUnavailable.message}: the node ended ${spec.method} (${cause}); subscribe again`,
            ),
          );
        },
      });
    } catch (error) {
      throw upstreamError(spec.method, error);
    }
    return () => {
      void held.unsubscribe();
    };
  }

  /** Where an answer at `at` comes from: a stored block, or the best-chain view's blocks above the stored one. */
  #inboundSource(at: Hex): InboundSource | null {
    const { store, best } = this.#options;
    const stored = store.blockNumber(at);
    if (stored !== null) return { stored, path: [] };
    const path = best?.pathTo(at);
    const cursor = store.cursor();
    return path && cursor ? { stored: cursor.number, path } : null;
  }

  /**
   * The recipient's inbound channel contents at a stored or best-chain block, SCALE-encoded as the
   * runtime does; null when the sidecar cannot show it holds every message (the caller falls back).
   */
  storeInbound(data: Hex, at: Hex | undefined): Uint8Array | null {
    const { store } = this.#options;
    const bytes = fromHex(data, 'call data');
    if (bytes.length !== 4 || !at) return null;
    const recipient = readU32(bytes, 0);
    const source = this.#inboundSource(at.toLowerCase() as Hex);
    if (!source) return null;
    const writes = source.path.map((block) => block.write);
    const advanced = writes.flatMap((w) => w.watermarks).filter(([para]) => para === recipient);
    const watermark = advanced.at(-1)?.[1] ?? store.watermarkAt(recipient, source.stored);
    if (watermark === null) return null;
    const senders = new Set(store.channels({ recipient }).map((c) => c.sender));
    for (const write of writes)
      for (const c of write.channels) if (c.recipient === recipient) senders.add(c.sender);
    const inbound = [];
    for (const sender of [...senders].sort((a, b) => a - b)) {
      // Messages sent before the store holds the channel completely may still be queued.
      const history = store.channelHistory(sender, recipient);
      if (!history || history.completeFrom > watermark + 1) return null;
      const messages = [
        ...store.channelMessages(sender, recipient, watermark, source.stored),
        ...writes.flatMap((w) =>
          w.messages.filter((m) => m.sender === sender && m.recipient === recipient && m.sentAt > watermark),
        ),
      ];
      if (messages.some((m) => !m.verified)) return null;
      inbound.push({ sender, messages });
    }
    return encodeInboundChannelsContents(inbound);
  }

  /** The store's answer; at a best-chain block the view is still computing, after waiting for it. */
  async #storeInboundSettled(data: Hex, at: Hex | undefined): Promise<Uint8Array | null> {
    const answer = this.storeInbound(data, at);
    const best = this.#options.best;
    if (answer || !best || !at || this.#options.store.blockNumber(at.toLowerCase() as Hex) !== null)
      return answer;
    return (await best.whenComputed(at.toLowerCase() as Hex, BEST_WAIT_MS))
      ? this.storeInbound(data, at)
      : null;
  }

  async #inbound(params: readonly unknown[]): Promise<unknown> {
    const [, data, at] = params as [string, Hex, Hex | undefined];
    const { logger, onShadow } = this.#options;
    const storeAnswer = (
      typeof data === 'string' ? this.#storeInboundSettled(data, at) : Promise.resolve(null)
    ).catch(() => null);
    if (this.#options.serveInbound === 'store') {
      const fromStore = await storeAnswer;
      if (fromStore) {
        onShadow?.('store');
        return toHex(fromStore);
      }
      this.shadow.fallbacks += 1;
      onShadow?.('fallback');
      return this.#forward('state_call', params);
    }
    const [fromNode, fromStore] = await Promise.all([
      this.#forward('state_call', params) as Promise<Hex>,
      storeAnswer,
    ]);
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
