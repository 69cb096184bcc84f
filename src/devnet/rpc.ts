/**
 * The node JSON-RPC surface the devnet serves: what `@polkadot/api` needs to connect and what the
 * sidecar and collators call (DESIGN.md §2, §6). Hashes and storage are answered at any retained block.
 */

import { u8aConcat, u8aToHex } from '@polkadot/util';
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
import type { BlockFaults, Candidate } from './runtime.ts';
import { readProof } from './trie.ts';

const u32 = (value: number) => new Uint8Array(new Uint32Array([value]).buffer);
const VERSION = '0.1.0';
const CHAIN_NAME = 'Devnet (simulated Polkadot relay chain)';
const PROPERTIES = { ss58Format: 0, tokenDecimals: 10, tokenSymbol: 'DOT' };

export interface DevnetControl {
  /** Makes `count` blocks now; returns their hashes. */
  newBlocks(count: number, faults?: BlockFaults): Promise<Hex[]>;
  fork(depth: number): Promise<Hex[]>;
  dropConnections(): void;
}

export function hexParam(value: unknown, what: string): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value) || value.length % 2 !== 0) {
    throw new RpcError(ErrorCode.invalidParams, `Invalid params: ${what} must be 0x-prefixed hex`);
  }
  return value.toLowerCase() as Hex;
}

function paraIdArg(data: Hex, fn: string): number {
  if (data.length !== 10)
    throw new RpcError(4003, `Client error: Execution failed: ${fn} expects a u32 argument`);
  return Number.parseInt(data.slice(2).match(/../g)!.reverse().join(''), 16);
}

function compact(n: number): Uint8Array {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 16384) return Uint8Array.of(((n << 2) | 1) & 0xff, n >>> 6);
  const v = ((n << 2) | 2) >>> 0;
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}

type Entry = [string, MethodHandler];

/** The block at `hash` (best when absent), or the node's error for an unknown or pruned block. */
export function blockAt(chain: DevnetChain, hash: unknown): DevnetBlock {
  if (hash === undefined || hash === null) return chain.best;
  const block = chain.block(hexParam(hash, 'block hash'));
  if (!block)
    throw new RpcError(4003, `Client error: UnknownBlock: State already discarded for ${String(hash)}`);
  return block;
}

/** Whether a pruned node would still have this block's state and body (`--state-pruning`). */
function prunedAway(chain: DevnetChain, block: DevnetBlock): boolean {
  const keep = chain.config.statePruning;
  return keep !== null && block.number > 0 && block.number <= chain.best.number - keep;
}

/** The block whose state is asked for, answering as a pruned node does when it is gone. */
export function stateAt(chain: DevnetChain, hash: unknown): DevnetBlock {
  const block = blockAt(chain, hash);
  if (prunedAway(chain, block))
    throw new RpcError(4003, `Client error: State already discarded for ${block.hash}`);
  return block;
}

export const storageValue = (key: Hex, block: DevnetBlock): Hex | null => block.storage.get(key) ?? null;

/** `state_call`: the runtime APIs the sidecar and its clients use. */
export function runtimeCall(chain: DevnetChain, fn: string, data: Hex, block: DevnetBlock): Uint8Array {
  const state = block.state;
  switch (fn) {
    case 'Core_version':
      return chain.encoder.encode('RuntimeVersion', chain.encoder.version);
    case 'Metadata_metadata_versions':
      return chain.encoder.encode('Vec<u32>', chain.encoder.metadata.version >= 15 ? [14, 15] : [14]);
    case 'Metadata_metadata_at_version': {
      const version = paraIdArg(data, fn);
      return version === 14 || version === chain.encoder.metadata.version
        ? chain.encoder.opaqueMetadata
        : Uint8Array.of(0);
    }
    case 'ParachainHost_inbound_hrmp_channels_contents': {
      const recipient = paraIdArg(data, fn);
      const senders = chain.runtime.ingress(state, recipient);
      return u8aConcat(
        compact(senders.length),
        ...senders.flatMap((sender) => {
          const key = `${sender}:${recipient}`;
          const channel = state.channels.get(key);
          const last = channel?.contents.at(-1);
          if (!chain.tamperedInbound.has(key) || !channel || !last)
            return [u32(sender), chain.channelContentsBytes(channel)];
          const data = last.data.slice();
          data[data.length - 1]! ^= 0xff;
          const contents = [...channel.contents.slice(0, -1), { ...last, data }];
          return [u32(sender), chain.channelContentsBytes({ ...channel, contents })];
        }),
      );
    }
    case 'ParachainHost_candidate_events': {
      const kinds = { CandidateBacked: 0, CandidateIncluded: 1, CandidateTimedOut: 2 } as const;
      return u8aConcat(
        compact(block.candidateEvents.length),
        ...block.candidateEvents.map((event) => {
          const c = event.candidate;
          const head = chain.encoder.encode('Bytes', c.commitments.headData);
          const tail =
            event.kind === 'CandidateTimedOut' ? [u32(c.coreIndex)] : [u32(c.coreIndex), u32(c.groupIndex)];
          return u8aConcat(Uint8Array.of(kinds[event.kind]), chain.receiptBytes(c), head, ...tail);
        }),
      );
    }
    case 'ParachainHost_candidate_pending_availability': {
      const candidate = state.pending.get(paraIdArg(data, fn));
      return candidate
        ? u8aConcat(Uint8Array.of(1), chain.committedReceiptBytes(candidate))
        : Uint8Array.of(0);
    }
    case 'ParachainHost_candidates_pending_availability': {
      const candidate = state.pending.get(paraIdArg(data, fn));
      return candidate ? u8aConcat(compact(1), chain.committedReceiptBytes(candidate)) : compact(0);
    }
    case 'ParachainHost_availability_cores':
      return availabilityCores(chain, block);
    default:
      throw new RpcError(4003, `Client error: Execution failed: Other: Exported method ${fn} is not found`);
  }
}

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
          ? { block: { header: block.header, extrinsics: block.extrinsics }, justifications: null }
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

function devnetSubscriptions(chain: DevnetChain): Map<string, SubscriptionHandler> {
  const headSubscription = (
    notification: string,
    unsubscribe: string,
    event: 'best' | 'finalized' | 'block',
    initial: () => DevnetBlock | null,
  ): SubscriptionHandler => ({
    notification,
    unsubscribe,
    subscribe: (_params, emit) => {
      const first = initial();
      if (first) emit(first.header);
      const listener = (block: DevnetBlock) => emit(block.header);
      chain.on(event, listener);
      return () => chain.off(event, listener);
    },
  });

  const subscriptions = new Map<string, SubscriptionHandler>([
    [
      'chain_subscribeNewHeads',
      headSubscription('chain_newHead', 'chain_unsubscribeNewHeads', 'best', () => chain.best),
    ],
    [
      'chain_subscribeFinalizedHeads',
      headSubscription(
        'chain_finalizedHead',
        'chain_unsubscribeFinalizedHeads',
        'finalized',
        () => chain.finalized,
      ),
    ],
    [
      'chain_subscribeAllHeads',
      headSubscription('chain_allHead', 'chain_unsubscribeAllHeads', 'block', () => chain.best),
    ],
    [
      'state_subscribeRuntimeVersion',
      {
        notification: 'state_runtimeVersion',
        unsubscribe: 'state_unsubscribeRuntimeVersion',
        subscribe: (_params, emit) => {
          emit(chain.encoder.version);
          return () => {};
        },
      },
    ],
    ['state_subscribeStorage', storageSubscription(chain)],
  ]);
  // Aliases the node also answers to.
  subscriptions.set('chain_subscribeNewHead', subscriptions.get('chain_subscribeNewHeads')!);
  subscriptions.set('subscribe_newHead', subscriptions.get('chain_subscribeNewHeads')!);
  subscriptions.set('chain_subscribeFinalisedHeads', subscriptions.get('chain_subscribeFinalizedHeads')!);

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

function availabilityCores(chain: DevnetChain, block: DevnetBlock): Uint8Array {
  const cores = chain.config.paras.map((paraId, core) => {
    const pending = [...block.state.pending.values()].find((c) => c.coreIndex === core);
    const scheduled = u8aConcat(u32(paraId), Uint8Array.of(0));
    if (!pending) return u8aConcat(Uint8Array.of(1), scheduled);
    return u8aConcat(Uint8Array.of(0), occupiedCore(block, pending, scheduled));
  });
  return u8aConcat(compact(cores.length), ...cores);
}

function occupiedCore(block: DevnetBlock, candidate: Candidate, scheduled: Uint8Array): Uint8Array {
  const votes = block.bitfieldVotes.map((bitvec) => {
    const bits = bitvec.encoded;
    // Skip the compact bit-length prefix (one byte below 64 bits, else two).
    const first = (bits[0]! & 3) === 0 ? 1 : 2;
    return ((bits[first + (candidate.coreIndex >>> 3)] ?? 0) >>> (candidate.coreIndex & 7)) & 1;
  });
  const availability = new Uint8Array(Math.ceil(votes.length / 8));
  votes.forEach((vote, i) => {
    if (vote) availability[i >>> 3]! |= 1 << (i & 7);
  });
  return u8aConcat(
    Uint8Array.of(1),
    scheduled,
    u32(candidate.backedIn),
    u32(candidate.timesOutAt),
    Uint8Array.of(1),
    scheduled,
    compact(votes.length),
    availability,
    u32(candidate.groupIndex),
    candidate.candidateHash,
    candidate.descriptorBytes,
  );
}
