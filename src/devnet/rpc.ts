/**
 * The node JSON-RPC surface the devnet serves: what `@polkadot/api` needs to connect and what the
 * sidecar and collators call (DESIGN.md §2, §6). Hashes and storage are answered at any retained block.
 */

import { u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import {
  ErrorCode,
  type MethodHandler,
  RpcError,
  type RpcHandlers,
  type SubscriptionHandler,
} from '../server/transport/jsonrpc.ts';
import type { DevnetBlock, DevnetChain, Hex } from './chain.ts';
import { newSpecHandlers } from './chain-head.ts';
import { GRANDPA_ENGINE } from './grandpa.ts';
import { grandpaMethods, grandpaSubscriptions } from './grandpa-rpc.ts';
import { headSubscriptions } from './head-subscriptions.ts';
import { hexParam, prunedAway, runtimeCall, stateAt, storageValue } from './relay-state.ts';
import type { BlockFaults } from './runtime.ts';
import { readProof } from './trie.ts';

const VERSION = '0.1.0';
const CHAIN_NAME = 'Devnet (simulated Polkadot relay chain)';
const PROPERTIES = { ss58Format: 0, tokenDecimals: 10, tokenSymbol: 'DOT' };

export interface DevnetControl {
  /** Makes `count` blocks now; returns their hashes. */
  newBlocks(count: number, faults?: BlockFaults): Promise<Hex[]>;
  fork(depth: number): Promise<Hex[]>;
  dropConnections(): void;
}

type Entry = [string, MethodHandler];

function systemMethods(chain: DevnetChain): Entry[] {
  return [
    ['system_name', () => 'xcmp-sidecar devnet (simulated relay chain)'],
    ['system_version', () => VERSION],
    ['system_chain', () => CHAIN_NAME],
    ['system_chainType', () => 'Development'],
    ['system_properties', () => PROPERTIES],
    ['system_health', () => ({ peers: 0, isSyncing: false, shouldHavePeers: false })],
    ['system_peers', () => []],
    ['system_localPeerId', () => '12D3KooWDevnetSimulatedRelayChainNoPeers'],
    [
      'system_syncState',
      () => ({ startingBlock: 0, currentBlock: chain.best.number, highestBlock: chain.best.number }),
    ],
  ];
}

function chainMethods(chain: DevnetChain): Entry[] {
  const header = (block: DevnetBlock) => block.header;
  return [
    [
      'chain_getBlockHash',
      ([number]) => {
        if (number === undefined || number === null) return chain.best.hash;
        const n =
          typeof number === 'string' ? Number.parseInt(number, number.startsWith('0x') ? 16 : 10) : number;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: block number');
        return chain.blockAt(n)?.hash ?? null;
      },
    ],
    ['chain_getHead', () => chain.best.hash],
    ['chain_getFinalizedHead', () => chain.finalized.hash],
    [
      'chain_getHeader',
      ([hash]) =>
        hash === undefined || hash === null
          ? header(chain.best)
          : (chain.block(hexParam(hash, 'block hash'))?.header ?? null),
    ],
    [
      'chain_getBlock',
      ([hash]) => {
        const block =
          hash === undefined || hash === null ? chain.best : chain.block(hexParam(hash, 'block hash'));
        // A pruned node keeps headers but not bodies: chain_getBlock answers null.
        return block && !prunedAway(chain, block)
          ? {
              block: { header: block.header, extrinsics: block.extrinsics },
              justifications: justificationsOf(chain, block),
            }
          : null;
      },
    ],
    ['chain_getFinalisedHead', () => chain.finalized.hash],
  ];
}

function stateStorageMethods(chain: DevnetChain): Entry[] {
  const at = (hash: unknown) => stateAt(chain, hash);
  return [
    ['state_getStorage', ([key, hash]) => storageValue(hexParam(key, 'storage key'), at(hash))],
    [
      'state_getStorageHash',
      ([key, hash]) => {
        const value = storageValue(hexParam(key, 'storage key'), at(hash));
        return value === null ? null : blake2AsHex(value, 256);
      },
    ],
    [
      'state_getStorageSize',
      ([key, hash]) => {
        const value = storageValue(hexParam(key, 'storage key'), at(hash));
        return value === null ? null : (value.length - 2) / 2;
      },
    ],
    [
      'state_getKeysPaged',
      ([prefix, count, startKey, hash]) => {
        const p = prefix === undefined || prefix === null ? '0x' : hexParam(prefix, 'prefix');
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: count');
        if (count > 1000)
          throw new RpcError(
            ErrorCode.invalidParams,
            `count exceeds maximum value. value: ${count}, max: 1000`,
          );
        const start = startKey === undefined || startKey === null ? null : hexParam(startKey, 'start key');
        return [...at(hash).storage.keys()]
          .filter((k) => k.startsWith(p) && (start === null || k > start))
          .sort()
          .slice(0, count);
      },
    ],
    [
      'state_queryStorageAt',
      ([keys, hash]) => {
        if (!Array.isArray(keys))
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: keys must be an array');
        const block = at(hash);
        return [
          {
            block: block.hash,
            changes: keys.map((k) => [
              hexParam(k, 'storage key'),
              storageValue(hexParam(k, 'storage key'), block),
            ]),
          },
        ];
      },
    ],
    [
      'state_getReadProof',
      async ([keys, hash]) => {
        if (!Array.isArray(keys))
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: keys must be an array');
        const wanted = keys.map((k) => hexParam(k, 'storage key'));
        const block = at(hash);
        return { at: block.hash, proof: readProof(await chain.trie(block), wanted) };
      },
    ],
  ];
}

function stateRuntimeMethods(chain: DevnetChain): Entry[] {
  const at = (hash: unknown) => stateAt(chain, hash);
  return [
    [
      'state_getMetadata',
      ([hash]) => {
        at(hash);
        return u8aToHex(chain.encoder.metadataBytes);
      },
    ],
    [
      'state_getRuntimeVersion',
      ([hash]) => {
        at(hash);
        return chain.encoder.version;
      },
    ],
    [
      'state_call',
      ([fn, data, hash]) => {
        if (typeof fn !== 'string')
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: method name');
        return u8aToHex(
          runtimeCall(
            chain,
            fn,
            data === undefined || data === null ? '0x' : hexParam(data, 'call data'),
            at(hash),
          ),
        );
      },
    ],
  ];
}

function devMethods(control: DevnetControl): Entry[] {
  return [
    [
      'dev_newBlock',
      ([options]) => {
        const o = (options ?? {}) as {
          count?: number;
          timeOut?: number[];
          tamperCommitments?: number[];
          dropBacked?: number[];
          dispute?: number[];
          free?: number[];
          withhold?: number[];
          lie?: number[];
          paraFork?: number[];
        };
        const count = o.count ?? 1;
        if (!Number.isInteger(count) || count < 1 || count > 1000)
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: count must be 1..1000');
        return control.newBlocks(count, {
          timeOut: new Set(o.timeOut ?? []),
          tamperCommitments: new Set(o.tamperCommitments ?? []),
          dropBacked: new Set(o.dropBacked ?? []),
          dispute: new Set(o.dispute ?? []),
          free: new Set(o.free ?? []),
          withhold: new Set(o.withhold ?? []),
          lie: new Set(o.lie ?? []),
          paraFork: new Set(o.paraFork ?? []),
        });
      },
    ],
    [
      'dev_fork',
      async ([depth]) => {
        if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1)
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: depth');
        try {
          return await control.fork(depth);
        } catch (error) {
          throw new RpcError(ErrorCode.invalidParams, (error as Error).message);
        }
      },
    ],
  ];
}

/** `state_subscribeStorage`: the values first, then the changes of each new best block. */
function storageSubscription(chain: DevnetChain): SubscriptionHandler {
  return {
    notification: 'state_storage',
    unsubscribe: 'state_unsubscribeStorage',
    subscribe: (params, emit) => {
      const [keys] = params;
      if (!Array.isArray(keys))
        throw new RpcError(ErrorCode.invalidParams, 'Invalid params: keys must be an array');
      const wanted = keys.map((k) => hexParam(k, 'storage key'));
      let last = new Map<string, Hex | null>();
      const send = (block: DevnetBlock, all: boolean) => {
        const changes = wanted
          .map((k): [Hex, Hex | null] => [k, storageValue(k, block)])
          .filter(([k, v]) => all || last.get(k) !== v);
        last = new Map(wanted.map((k) => [k, storageValue(k, block)]));
        if (changes.length > 0 || all) emit({ block: block.hash, changes });
      };
      send(chain.best, true);
      const listener = (block: DevnetBlock) => send(block, false);
      chain.on('best', listener);
      return () => chain.off('best', listener);
    },
  };
}

/** A finalized block's stored justifications, as `chain_getBlock` gives them: `[[engine, data]]`, or null. */
function justificationsOf(chain: DevnetChain, block: DevnetBlock): [string, string][] | null {
  const justification = chain.justifications.get(block.hash);
  return justification ? [[GRANDPA_ENGINE, u8aToHex(justification)]] : null;
}

function devnetSubscriptions(chain: DevnetChain): Map<string, SubscriptionHandler> {
  const subscriptions = headSubscriptions(chain);
  for (const [name, handler] of grandpaSubscriptions(chain)) subscriptions.set(name, handler);
  subscriptions.set('state_subscribeStorage', storageSubscription(chain));
  // Another alias the node also answers to.
  subscriptions.set('subscribe_newHead', subscriptions.get('chain_subscribeNewHeads')!);
  return subscriptions;
}

/** The devnet's JSON-RPC, grouped by namespace as a node's is; `rpc_methods` lists them all. */
export function devnetHandlers(chain: DevnetChain, control: DevnetControl): RpcHandlers {
  const newSpec = newSpecHandlers(chain, { chainName: CHAIN_NAME, properties: PROPERTIES });
  const methods = new Map<string, MethodHandler>([
    ...newSpec.methods,
    ...systemMethods(chain),
    ...chainMethods(chain),
    ...stateStorageMethods(chain),
    ...stateRuntimeMethods(chain),
    ...devMethods(control),
    ...grandpaMethods(chain),
  ]);
  methods.set('state_getStorageAt', methods.get('state_getStorage')!);
  methods.set('state_getKeysPagedAt', methods.get('state_getKeysPaged')!);
  const subscriptions = new Map([...devnetSubscriptions(chain), ...newSpec.subscriptions]);
  const names = [
    ...methods.keys(),
    ...subscriptions.keys(),
    ...[...subscriptions.values()].map((s) => s.unsubscribe),
    'rpc_methods',
  ];
  methods.set('rpc_methods', () => ({ version: 1, methods: [...new Set(names)].sort() }));
  return { methods, subscriptions };
}
