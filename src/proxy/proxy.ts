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
import {
  ErrorCode,
  RawJson,
  type RpcContext,
  RpcError,
  type SubscriptionHandler,
} from '../server/transport/jsonrpc.ts';
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
  // The new JSON-RPC spec (paritytech/json-rpc-interface-spec): what a node serves to the public.
  ...['follow', 'unfollow', 'header', 'body', 'storage', 'call', 'continue', 'stopOperation', 'unpin'].map(
    (m) => `chainHead_v1_${m}`,
  ),
  ...['chainName', 'genesisHash', 'properties'].map((m) => `chainSpec_v1_${m}`),
  'transactionWatch_v1_submitAndWatch',
  'transactionWatch_v1_unwatch',
  'transaction_v1_broadcast',
  'transaction_v1_stop',
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

/**
 * The naming rules of Substrate's RPC that pair a subscribe method with its unsubscribe
 * (`x_subscribeY`/`x_unsubscribeY`, `subscribe_x`, `…_follow`/`…_unfollow`,
 * `…_submitAndWatch…`/`…_unwatch…`), each with the shape of that unsubscribe. These rules, not a
 * list, decide what the proxy forwards as a subscription, so methods a newer node adds need no change.
 */
const SUBSCRIPTION_RULES: readonly { subscribe: RegExp; unsubscribe: string; unsubscribeShape: RegExp }[] = [
  {
    subscribe: /^(\w+?)_subscribe(\w*)$/,
    unsubscribe: '$1_unsubscribe$2',
    unsubscribeShape: /^\w+?_unsubscribe\w*$/,
  },
  { subscribe: /^subscribe_(\w+)$/, unsubscribe: 'unsubscribe_$1', unsubscribeShape: /^unsubscribe_\w+$/ },
  { subscribe: /^(\w+)_follow$/, unsubscribe: '$1_unfollow', unsubscribeShape: /^\w+_unfollow$/ },
  {
    subscribe: /^(\w+?)_submitAndWatch(\w*)$/,
    unsubscribe: '$1_unwatch$2',
    unsubscribeShape: /^\w+?_unwatch\w*$/,
  },
];

/** The unsubscribe method `method` pairs with by SUBSCRIPTION_RULES; null when it is not a subscribe. */
export function unsubscribeFor(method: string): string | null {
  const rule = SUBSCRIPTION_RULES.find(({ subscribe }) => subscribe.test(method));
  return rule ? method.replace(rule.subscribe, rule.unsubscribe) : null;
}

/** The other names Substrate nodes answer an unsubscribe to: singular and plural, British spelling. */
function unsubscribeAliases(unsubscribe: string): string[] {
  const variants = new Set<string>([
    unsubscribe.replace(/Heads$/, 'Head'),
    unsubscribe.replace(/Head$/, 'Heads'),
  ]);
  for (const name of [...variants]) variants.add(name.replace('Finalized', 'Finalised'));
  if (/^chain_unsubscribeNewHeads?$/.test(unsubscribe)) variants.add('unsubscribe_newHead');
  if (unsubscribe === 'unsubscribe_newHead')
    variants.add('chain_unsubscribeNewHeads').add('chain_unsubscribeNewHead');
  variants.delete(unsubscribe);
  return [...variants];
}

/** True for the unsubscribe methods `unsubscribeFor` pairs subscribe methods with. */
export function isUnsubscribeMethod(method: string): boolean {
  return SUBSCRIPTION_RULES.some(({ unsubscribeShape }) => unsubscribeShape.test(method));
}

/**
 * The notification a subscription is ended with (an error, or the spec's own last event) before the
 * node has sent any: afterwards the node's own method name is used. Only the few whose name cannot be
 * derived are named here.
 */
function notificationBeforeFirstEvent(method: string): string {
  const legacy: Record<string, string> = {
    chain_subscribeNewHeads: 'chain_newHead',
    chain_subscribeNewHead: 'chain_newHead',
    subscribe_newHead: 'chain_newHead',
    chain_subscribeAllHeads: 'chain_allHead',
    chain_subscribeFinalizedHeads: 'chain_finalizedHead',
    chain_subscribeFinalisedHeads: 'chain_finalizedHead',
    state_subscribeRuntimeVersion: 'state_runtimeVersion',
    chain_subscribeRuntimeVersion: 'state_runtimeVersion',
    state_subscribeStorage: 'state_storage',
    author_submitAndWatchExtrinsic: 'author_extrinsicUpdate',
    grandpa_subscribeJustifications: 'grandpa_justifications',
    beefy_subscribeJustifications: 'beefy_justifications',
  };
  if (legacy[method]) return legacy[method];
  if (method.endsWith('_follow')) return `${method}Event`;
  return method.replace(/_submitAndWatch$/, '_watchEvent');
}

/**
 * New-spec subscriptions whose state lives on the node (a chainHead follow and the blocks it pinned,
 * a watched transaction): the events after which the node sends nothing more on them (the proxy ends
 * them too, so they stop counting against the connection), and the spec's last event they end with
 * when the node connection is lost (they are not renewed: the client follows again, or learns the
 * transaction's fate another way).
 */
const STATEFUL_SUBSCRIPTIONS: readonly {
  method: RegExp;
  lastEvents: ReadonlySet<string>;
  onLoss: { event: string; error?: string };
}[] = [
  { method: /^chainHead_v\d+_follow$/, lastEvents: new Set(['stop']), onLoss: { event: 'stop' } },
  {
    method: /^transactionWatch_v\d+_submitAndWatch$/,
    lastEvents: new Set(['finalized', 'invalid', 'dropped', 'error']),
    onLoss: { event: 'dropped', error: 'the connection to the node was lost' },
  },
];

const statefulKind = (method: string) => STATEFUL_SUBSCRIPTIONS.find((kind) => kind.method.test(method));

function isLastEvent(method: string, result: unknown): boolean {
  const event = (result as { event?: unknown } | null)?.event;
  return typeof event === 'string' && statefulKind(method)?.lastEvents.has(event) === true;
}

function lastEventOnLoss(method: string): { event: string; error?: string } | null {
  return statefulKind(method)?.onLoss ?? null;
}

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

/** How long a new subscription waits for a node connection being re-established. */
const NODE_BACK_WAIT_MS = 10_000;

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
  async call(method: string, params: readonly unknown[], context?: RpcContext): Promise<unknown> {
    await this.#refuseUnsafe(method);
    if (method === 'state_call' && params[0] === INBOUND && this.#options.serveInbound !== 'node') {
      return this.#inbound(params);
    }
    const forwarded = context ? this.#withNodeIds(params, context.session) : params;
    // Params the client wrote go on as written when nothing in them changed (large ones are not copied).
    const paramsJson = forwarded === params ? context?.paramsJson : undefined;
    // The node's result is passed on as the node wrote it: not parsed, not serialized again.
    return new RawJson(
      await this.#toNode(method, forwarded, () =>
        this.#options.node.forwardRaw(method, forwarded, paramsJson),
      ),
    );
  }

  /**
   * Any upstream subscription, recognized by its name (`unsubscribeFor`): notifications are routed by
   * the node's subscription id to the connection that opened it, under the client's own id and with
   * the node's notification method. Undefined for anything that is not a subscribe.
   */
  subscriptionFor(method: string): SubscriptionHandler | undefined {
    const unsubscribe = unsubscribeFor(method);
    if (unsubscribe === null) return undefined;
    let notification = notificationBeforeFirstEvent(method);
    return {
      get notification() {
        return notification;
      },
      unsubscribe,
      unsubscribeAliases: unsubscribeAliases(unsubscribe),
      subscribe: (params, emit, context, end) =>
        this.#subscribeUpstream(
          { method, params, unsubscribe, renew: lastEventOnLoss(method) === null },
          (result, name) => {
            notification = name;
            emit(result, name);
          },
          context,
          // Ended by the node (its last event already sent), by a lost connection (the spec's last
          // event here), or with an error notification.
          (error, lastEvent) => {
            if (lastEvent) emit(lastEvent, notification);
            end(lastEvent ? null : error);
          },
        ),
    };
  }

  /**
   * One client subscription held on the node. If the node will not renew it after a reconnect it
   * ends with an error; one that cannot be renewed ends with its spec's last event instead.
   */
  async #subscribeUpstream(
    spec: SubscriptionSpec,
    emit: (result: unknown, notification: string) => void,
    context: RpcContext,
    end: (error: RpcError | null, lastEvent: object | null) => void,
  ): Promise<() => void> {
    await this.#refuseUnsafe(spec.method);
    checkParams(spec.method, spec.params);
    const clientId = context.subscriptionId;
    const held = this.#heldBy(context.session);
    await this.#nodeBack();
    let subscription: UpstreamSubscription | undefined;
    let over = false;
    const release = () => {
      if (clientId !== undefined) held.delete(clientId);
      void subscription?.unsubscribe();
    };
    try {
      subscription = await this.#options.node.subscribe(spec, {
        onEvent: (result, method) => {
          emit(result, method);
          if (over || !isLastEvent(spec.method, result)) return;
          over = true;
          // The node has ended it: release it here too (an unsubscribe it answers false costs nothing).
          queueMicrotask(release);
          end(null, null);
        },
        onEnd: (error) => {
          if (clientId !== undefined) held.delete(clientId);
          this.#options.onSubscriptionEnded?.();
          this.#options.logger.warn(
            { method: spec.method, err: error.message },
            'a proxied subscription could not be continued on the node; ending it',
          );
          const cause = error instanceof UpstreamError ? `${error.code}: ${error.message}` : error.message;
          const message = `${AppErrors.upstreamUnavailable.message}: the node ended ${spec.method} (${cause}); subscribe again`;
          end(new RpcError(AppErrors.upstreamUnavailable.code, message), lastEventOnLoss(spec.method));
        },
      });
    } catch (error) {
      throw upstreamError(spec.method, error);
    }
    if (clientId !== undefined && !over) held.set(clientId, subscription);
    return release;
  }

  /**
   * While the node connection is being re-established, a new subscription waits for it (at most
   * NODE_BACK_WAIT_MS): a client told to follow again (a chainHead `stop`) does so at once, and
   * should not be refused for the second it takes to reconnect.
   */
  async #nodeBack(): Promise<void> {
    const { node } = this.#options;
    if (node.isConnected) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, NODE_BACK_WAIT_MS);
      function done() {
        clearTimeout(timer);
        node.off('connected', done);
        resolve();
      }
      node.on('connected', done);
    });
  }

  /** The upstream subscriptions a connection holds, by the ids its client knows them by. */
  readonly #held = new WeakMap<object, Map<string, UpstreamSubscription>>();

  #heldBy(session: object): Map<string, UpstreamSubscription> {
    let held = this.#held.get(session);
    if (!held) {
      held = new Map();
      this.#held.set(session, held);
    }
    return held;
  }

  /**
   * A call naming one of the connection's subscriptions by the client's id (chainHead_v1_header and
   * the other operations of a follow, its first param) goes to the node under the node's id. An id
   * of another connection is not translated: the node does not know it, and answers so.
   */
  #withNodeIds(params: readonly unknown[], session: object): readonly unknown[] {
    const [first, ...rest] = params;
    if (typeof first !== 'string') return params;
    const nodeId = this.#held.get(session)?.get(first)?.id;
    return nodeId === undefined || nodeId === null ? params : [nodeId, ...rest];
  }

  /** Where an answer at `at` comes from: a stored block, or the best-chain view's blocks above the stored one. */
  async #inboundSource(at: Hex): Promise<InboundSource | null> {
    const { store, best } = this.#options;
    const stored = await store.blockNumber(at);
    if (stored !== null) return { stored, path: [] };
    // The path starts just above the block the view built on; the store holds that one and older.
    const path = best?.pathTo(at);
    return path && path.length > 0 ? { stored: path[0]!.write.number - 1, path } : null;
  }

  /**
   * The recipient's inbound channel contents at a stored or best-chain block, SCALE-encoded as the
   * runtime does; null when the sidecar cannot show it holds every message (the caller falls back).
   */
  async storeInbound(data: Hex, at: Hex | undefined): Promise<Uint8Array | null> {
    const { store } = this.#options;
    const bytes = fromHex(data, 'call data');
    if (bytes.length !== 4 || !at) return null;
    const recipient = readU32(bytes, 0);
    const source = await this.#inboundSource(at.toLowerCase() as Hex);
    if (!source) return null;
    const writes = source.path.map((block) => block.write);
    const advanced = writes.flatMap((w) => w.watermarks).filter(([para]) => para === recipient);
    const watermark = advanced.at(-1)?.[1] ?? (await store.watermarkAt(recipient, source.stored));
    if (watermark === null) return null;
    const senders = new Set((await store.channels({ recipient })).map((c) => c.sender));
    for (const write of writes)
      for (const c of write.channels) if (c.recipient === recipient) senders.add(c.sender);
    const inbound = [];
    for (const sender of [...senders].sort((a, b) => a - b)) {
      // Messages sent before the store holds the channel completely may still be queued.
      const history = await store.channelHistory(sender, recipient);
      if (!history || history.completeFrom > watermark + 1) return null;
      const messages = [
        ...(await store.channelMessages(sender, recipient, watermark, source.stored)),
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
    const answer = await this.storeInbound(data, at);
    const best = this.#options.best;
    if (answer || !best || !at || (await this.#options.store.blockNumber(at.toLowerCase() as Hex)) !== null)
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
