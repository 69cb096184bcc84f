/**
 * The new JSON-RPC spec on the devnet (paritytech/json-rpc-interface-spec, v1): `chainHead_v1_*`
 * (follow with initialized / newBlock / bestBlockChanged / finalized / stop events, and the header,
 * body, storage and call operations whose results come as events on the follow subscription),
 * `chainSpec_v1_*`. Enough for a polkadot-api client; answers follow polkadot-sdk's server.
 */
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { encodeHeader } from '../protocol/header.ts';
import {
  ErrorCode,
  type MethodHandler,
  type RpcContext,
  RpcError,
  type SubscriptionHandler,
} from '../server/transport/jsonrpc.ts';
import type { DevnetBlock, DevnetChain, Hex } from './chain.ts';
import { hexParam, runtimeCall, stateAt } from './relay-state.ts';

const FOLLOW_EVENT = 'chainHead_v1_followEvent';
/** Blocks one follow may hold pinned (reported and not unpinned); one more and it is stopped. */
export const MAX_PINNED_BLOCKS = 512;
/** polkadot-sdk's code for a block hash the subscription did not report or has unpinned. */
const INVALID_BLOCK = -32801;

type Event = Record<string, unknown> & { readonly event: string };

/** One follow subscription: the blocks it reported (pinned until unpinned) and its emitter. */
interface Follow {
  readonly emit: (event: Event) => void;
  readonly withRuntime: boolean;
  /** Reported blocks not yet finalized or pruned, with their parent and number. */
  readonly live: Map<Hex, { readonly parent: Hex; readonly number: number }>;
  readonly pinned: Set<Hex>;
  nextOperation: number;
}

/** Follow subscriptions by connection, then by the id the client knows. */
const follows = new WeakMap<object, Map<string, Follow>>();

/** The connection's follow subscription the client names `id`, if it holds one. */
function followNamed(context: RpcContext, id: unknown): Follow | undefined {
  return typeof id === 'string' ? follows.get(context.session)?.get(id) : undefined;
}

function followsOf(session: object): Map<string, Follow> {
  let map = follows.get(session);
  if (!map) {
    map = new Map();
    follows.set(session, map);
  }
  return map;
}

function runtimeOf(chain: DevnetChain): Record<string, unknown> {
  const v = chain.encoder.version;
  return {
    type: 'valid',
    spec: {
      specName: v.specName,
      implName: v.implName,
      specVersion: v.specVersion,
      implVersion: v.implVersion,
      transactionVersion: v.transactionVersion,
      apis: Object.fromEntries(v.apis),
    },
  };
}

function newBlockEvent(block: DevnetBlock, withRuntime: boolean): Event {
  return {
    event: 'newBlock',
    blockHash: block.hash,
    parentBlockHash: block.parentHash,
    ...(withRuntime ? { newRuntime: null } : {}),
  };
}

/** Reported blocks that can no longer be finalized once `finalized` is: not it, and not its descendants. */
function prunedBy(follow: Follow, finalized: DevnetBlock): Hex[] {
  const onChain = (hash: Hex): boolean => {
    let cursor: Hex | undefined = hash;
    for (;;) {
      if (cursor === finalized.hash) return true;
      const known: { parent: Hex; number: number } | undefined =
        cursor === undefined ? undefined : follow.live.get(cursor);
      if (!known || known.number <= finalized.number) return false;
      cursor = known.parent;
    }
  };
  return [...follow.live.keys()].filter((hash) => hash !== finalized.hash && !onChain(hash));
}

function followSubscription(chain: DevnetChain): SubscriptionHandler {
  return {
    notification: FOLLOW_EVENT,
    unsubscribe: 'chainHead_v1_unfollow',
    subscribe: ([withRuntime], emit, context, end) => {
      if (typeof withRuntime !== 'boolean')
        throw new RpcError(ErrorCode.invalidParams, 'Invalid params: withRuntime must be a boolean');
      const follow: Follow = { emit, withRuntime, live: new Map(), pinned: new Set(), nextOperation: 1 };
      const finalized = chain.finalized;
      follow.pinned.add(finalized.hash);
      emit({
        event: 'initialized',
        finalizedBlockHashes: [finalized.hash],
        ...(withRuntime ? { finalizedBlockRuntime: runtimeOf(chain) } : {}),
      });
      for (const block of chain.unfinalized()) report(follow, block);
      emit({ event: 'bestBlockChanged', bestBlockHash: chain.best.hash });
      const id = context.subscriptionId!;
      const listeners = followChain(chain, follow, () => {
        // As a node does when a client pins more than it may: the last event, then nothing.
        release();
        emit({ event: 'stop' });
        end(null);
      });
      const release = () => {
        followsOf(context.session).delete(id);
        for (const [event, listener] of listeners) chain.off(event, listener);
      };
      followsOf(context.session).set(id, follow);
      return release;
    },
  };
}

/** Reports a block to a follow (pinned until unpinned). */
function report(follow: Follow, block: DevnetBlock): void {
  follow.live.set(block.hash, { parent: block.parentHash, number: block.number });
  follow.pinned.add(block.hash);
  follow.emit(newBlockEvent(block, follow.withRuntime));
}

/** The chain's events as a follow's events; `stop` when the client has pinned too many blocks. */
function followChain(
  chain: DevnetChain,
  follow: Follow,
  stop: () => void,
): ['block' | 'best' | 'finalized', (block: DevnetBlock) => void][] {
  const listeners: ['block' | 'best' | 'finalized', (block: DevnetBlock) => void][] = [
    [
      'block',
      (block) => {
        if (!follow.live.has(block.parentHash) && block.parentHash !== chain.finalized.hash) return;
        if (follow.pinned.size >= MAX_PINNED_BLOCKS) stop();
        else report(follow, block);
      },
    ],
    ['best', (block) => follow.emit({ event: 'bestBlockChanged', bestBlockHash: block.hash })],
    [
      'finalized',
      (block) => {
        const pruned = prunedBy(follow, block);
        for (const hash of [...pruned, block.hash]) follow.live.delete(hash);
        follow.emit({ event: 'finalized', finalizedBlockHashes: [block.hash], prunedBlockHashes: pruned });
      },
    ],
  ];
  for (const [event, listener] of listeners) chain.on(event, listener);
  return listeners;
}

/** The follow subscription and pinned block an operation names; null for an unknown subscription. */
function target(chain: DevnetChain, params: readonly unknown[], context: RpcContext) {
  const [id, hash] = params;
  const follow = followNamed(context, id);
  if (!follow) return null;
  const blockHash = hexParam(hash, 'block hash');
  const block = chain.block(blockHash);
  if (!follow.pinned.has(blockHash) || !block)
    throw new RpcError(
      INVALID_BLOCK,
      'Invalid block hash',
      `${blockHash} is not pinned by this subscription`,
    );
  return { follow, block };
}

/**
 * Runs an operation: answers `started` with its id, then (after the answer is on the wire) emits
 * the events `run` makes. An unknown subscription gets `limitReached`, as polkadot-sdk answers.
 */
function operation(
  chain: DevnetChain,
  run: (block: DevnetBlock, params: readonly unknown[]) => Event[],
): MethodHandler {
  return (params, context) => {
    const found = target(chain, params, context);
    if (!found) return { result: 'limitReached' };
    const operationId = String(found.follow.nextOperation++);
    let events: Event[];
    try {
      events = run(found.block, params.slice(2));
    } catch (error) {
      events = [{ event: 'operationError', error: (error as Error).message }];
    }
    setImmediate(() => {
      for (const event of events) found.follow.emit({ ...event, operationId });
    });
    return { result: 'started', operationId };
  };
}

/** chainHead_v1_storage items: value, hash and their descendants forms. */
function storageItems(block: DevnetBlock, items: unknown): Event[] {
  if (!Array.isArray(items))
    throw new RpcError(ErrorCode.invalidParams, 'Invalid params: items must be an array');
  const found: Record<string, unknown>[] = [];
  for (const item of items as { key?: unknown; type?: unknown }[]) {
    const key = hexParam(item.key, 'storage key');
    const asHash = item.type === 'hash' || item.type === 'descendantsHashes';
    const keys =
      item.type === 'descendantsValues' || item.type === 'descendantsHashes'
        ? [...block.storage.keys()].filter((k) => k.startsWith(key)).sort()
        : item.type === 'value' || item.type === 'hash'
          ? [key]
          : null;
    if (keys === null)
      throw new Error(`storage item type ${String(item.type)} is not supported by the devnet`);
    for (const k of keys) {
      const value = block.storage.get(k);
      if (value === undefined) continue;
      found.push(asHash ? { key: k, hash: blake2AsHex(value, 256) } : { key: k, value });
    }
  }
  return [{ event: 'operationStorageItems', items: found }, { event: 'operationStorageDone' }];
}

function chainHeadMethods(chain: DevnetChain): [string, MethodHandler][] {
  return [
    [
      'chainHead_v1_header',
      (params, context) => {
        const found = target(chain, params, context);
        return found ? u8aToHex(encodeHeader(found.block.header)) : null;
      },
    ],
    [
      'chainHead_v1_body',
      operation(chain, (block) => [{ event: 'operationBodyDone', value: block.extrinsics }]),
    ],
    [
      'chainHead_v1_call',
      operation(chain, (block, [fn, data]) => {
        if (typeof fn !== 'string')
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: function name');
        stateAt(chain, block.hash);
        // polkadot-api sends "" for no parameters, as the spec's examples do.
        const args = data === undefined || data === '' ? '0x' : hexParam(data, 'call parameters');
        const output = runtimeCall(chain, fn, args, block);
        return [{ event: 'operationCallDone', output: u8aToHex(output) }];
      }),
    ],
    ['chainHead_v1_storage', operation(chain, (block, [items]) => storageItems(block, items))],
    ['chainHead_v1_continue', () => null],
    ['chainHead_v1_stopOperation', () => null],
    [
      'chainHead_v1_unpin',
      ([id, hashes], context) => {
        const follow = followNamed(context, id);
        if (!follow) return null;
        const list = (Array.isArray(hashes) ? hashes : [hashes]).map((h) => hexParam(h, 'block hash'));
        const unknown = list.find((hash) => !follow.pinned.has(hash));
        if (unknown) throw new RpcError(INVALID_BLOCK, 'Invalid block hash', `${unknown} is not pinned`);
        for (const hash of list) follow.pinned.delete(hash);
        return null;
      },
    ],
  ];
}

function chainSpecMethods(
  chain: DevnetChain,
  chainName: string,
  properties: object,
): [string, MethodHandler][] {
  return [
    ['chainSpec_v1_chainName', () => chainName],
    ['chainSpec_v1_genesisHash', () => chain.blockAt(0)?.hash ?? null],
    ['chainSpec_v1_properties', () => properties],
  ];
}

/**
 * `transactionWatch_v1_submitAndWatch` / `transaction_v1_broadcast`: the devnet has no transaction
 * pool, and says so: a watched transaction is `dropped` at once; a broadcast gets an operation id
 * (broadcasting is best effort by the spec) that `transaction_v1_stop` ends.
 */
function transactionHandlers(): { methods: [string, MethodHandler][]; watch: SubscriptionHandler } {
  const broadcasts = new WeakMap<object, Set<string>>();
  let next = 1;
  const watch: SubscriptionHandler = {
    notification: 'transactionWatch_v1_watchEvent',
    unsubscribe: 'transactionWatch_v1_unwatch',
    subscribe: ([transaction], emit, _context, end) => {
      hexParam(transaction, 'transaction');
      emit({ event: 'dropped', error: 'the devnet has no transaction pool: nothing is included' });
      end(null);
      return () => {};
    },
  };
  const methods: [string, MethodHandler][] = [
    [
      'transaction_v1_broadcast',
      ([transaction], context) => {
        hexParam(transaction, 'transaction');
        const id = `broadcast-${next++}`;
        const ids = broadcasts.get(context.session) ?? new Set<string>();
        broadcasts.set(context.session, ids.add(id));
        return id;
      },
    ],
    [
      'transaction_v1_stop',
      ([id], context) => {
        if (typeof id !== 'string' || !broadcasts.get(context.session)?.delete(id))
          throw new RpcError(ErrorCode.invalidParams, 'Invalid operation id');
        return null;
      },
    ],
  ];
  return { methods, watch };
}

/** The new spec's methods and subscriptions, for the devnet's handlers. */
export function newSpecHandlers(
  chain: DevnetChain,
  facts: { chainName: string; properties: object },
): { methods: [string, MethodHandler][]; subscriptions: [string, SubscriptionHandler][] } {
  const transactions = transactionHandlers();
  return {
    methods: [
      ...chainHeadMethods(chain),
      ...chainSpecMethods(chain, facts.chainName, facts.properties),
      ...transactions.methods,
    ],
    subscriptions: [
      ['chainHead_v1_follow', followSubscription(chain)],
      ['transactionWatch_v1_submitAndWatch', transactions.watch],
    ],
  };
}
