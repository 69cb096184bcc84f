/**
 * The JSON-RPC a devnet para node serves (at `/para/<id>` on the devnet's port): what a cumulus
 * collator node answers that the sidecar and tools ask of one — heads and blocks, storage and
 * metadata at a block, runtime version, read proofs, head subscriptions — in the para runtime's own
 * encodings (Asset Hub metadata).
 */
import { u8aToHex } from '@polkadot/util';
import { ErrorCode, type MethodHandler, RpcError, type RpcHandlers } from '../server/transport/jsonrpc.ts';
import type { Hex } from './chain.ts';
import { headSubscriptions } from './head-subscriptions.ts';
import type { ParaBlock } from './para-chain.ts';
import type { ParaNodeView } from './para-view.ts';
import { hexParam } from './relay-state.ts';
import { buildTrie, readProof } from './trie.ts';

type Entry = [string, MethodHandler];

/** The block a request names (best when absent), or the node's error for one it does not have. */
function paraBlockAt(chain: ParaNodeView, hash: unknown): ParaBlock {
  if (hash === undefined || hash === null) return chain.best;
  const block = chain.block(hexParam(hash, 'block hash'));
  if (!block)
    throw new RpcError(4003, `Client error: UnknownBlock: State already discarded for ${String(hash)}`);
  return block;
}

function systemMethods(chain: ParaNodeView): Entry[] {
  const name = `Devnet para ${chain.paraId} (simulated ${chain.encoder.version.specName} runtime)`;
  return [
    ['system_name', () => 'xcmp-sidecar devnet (simulated para node)'],
    ['system_version', () => '0.1.0'],
    ['system_chain', () => name],
    ['system_chainType', () => 'Development'],
    ['system_properties', () => ({ ss58Format: 0, tokenDecimals: 10, tokenSymbol: 'DOT' })],
    ['system_health', () => ({ peers: 0, isSyncing: false, shouldHavePeers: false })],
    ['system_peers', () => []],
    [
      'system_syncState',
      () => ({ startingBlock: 0, currentBlock: chain.best.number, highestBlock: chain.best.number }),
    ],
  ];
}

function chainMethods(chain: ParaNodeView): Entry[] {
  return [
    [
      'chain_getBlockHash',
      ([number]) => {
        if (number === undefined || number === null) return chain.best.hash;
        if (typeof number !== 'number' || !Number.isInteger(number) || number < 0)
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: block number');
        return chain.blockAt(number)?.hash ?? null;
      },
    ],
    ['chain_getHead', () => chain.best.hash],
    ['chain_getFinalizedHead', () => chain.finalized.hash],
    ['chain_getFinalisedHead', () => chain.finalized.hash],
    [
      'chain_getHeader',
      ([hash]) =>
        (hash === undefined || hash === null ? chain.best : chain.block(hexParam(hash, 'block hash')))
          ?.header ?? null,
    ],
    [
      'chain_getBlock',
      ([hash]) => {
        const block =
          hash === undefined || hash === null ? chain.best : chain.block(hexParam(hash, 'block hash'));
        return block
          ? { block: { header: block.header, extrinsics: block.extrinsics }, justifications: null }
          : null;
      },
    ],
  ];
}

function stateMethods(chain: ParaNodeView): Entry[] {
  const value = (key: unknown, hash: unknown) =>
    chain.storageValue(hexParam(key, 'storage key'), paraBlockAt(chain, hash));
  return [
    ['state_getStorage', ([key, hash]) => value(key, hash)],
    ['state_getStorageAt', ([key, hash]) => value(key, hash)],
    [
      'state_getKeysPaged',
      ([prefix, count, startKey, hash]) => {
        const p = prefix === undefined || prefix === null ? '0x' : hexParam(prefix, 'prefix');
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 1000)
          throw new RpcError(ErrorCode.invalidParams, `Invalid params: count must be 0..1000`);
        const start = startKey === undefined || startKey === null ? null : hexParam(startKey, 'start key');
        return [...paraBlockAt(chain, hash).storage.keys()]
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
        const block = paraBlockAt(chain, hash);
        return [
          { block: block.hash, changes: keys.map((k) => [hexParam(k, 'storage key'), value(k, block.hash)]) },
        ];
      },
    ],
    [
      'state_getReadProof',
      async ([keys, hash]) => {
        if (!Array.isArray(keys))
          throw new RpcError(ErrorCode.invalidParams, 'Invalid params: keys must be an array');
        const block = paraBlockAt(chain, hash);
        const trie = await buildTrie(block.storage, block.header.stateRoot);
        return {
          at: block.hash,
          proof: readProof(
            trie,
            keys.map((k) => hexParam(k, 'storage key')),
          ),
        };
      },
    ],
    ['state_getMetadata', ([hash]) => paraBlockAt(chain, hash) && u8aToHex(chain.encoder.metadataBytes)],
    ['state_getRuntimeVersion', ([hash]) => paraBlockAt(chain, hash) && chain.encoder.version],
    ['state_call', ([fn, data, hash]) => u8aToHex(runtimeCall(chain, fn, data, paraBlockAt(chain, hash)))],
  ];
}

/** `state_call`: the runtime APIs tools ask a para node before anything else. */
function runtimeCall(chain: ParaNodeView, fn: unknown, data: unknown, _block: ParaBlock): Uint8Array {
  const { encoder } = chain;
  switch (fn) {
    case 'Core_version':
      return encoder.encode('RuntimeVersion', encoder.version);
    case 'Metadata_metadata_versions':
      return encoder.encode('Vec<u32>', [encoder.metadata.version]);
    case 'Metadata_metadata_at_version': {
      const arg = hexParam(data ?? '0x', 'call data');
      const version = Number.parseInt(arg.slice(2, 4) || '0', 16);
      return version === encoder.metadata.version ? encoder.opaqueMetadata : Uint8Array.of(0);
    }
    default:
      throw new RpcError(
        4003,
        `Client error: Execution failed: Other: Exported method ${String(fn)} is not found`,
      );
  }
}

/** A para node's JSON-RPC, grouped by namespace; `rpc_methods` lists them all. */
export function paraHandlers(chain: ParaNodeView): RpcHandlers {
  const methods = new Map<string, MethodHandler>([
    ...systemMethods(chain),
    ...chainMethods(chain),
    ...stateMethods(chain),
  ]);
  const subscriptions = headSubscriptions(chain);
  const names = [
    ...methods.keys(),
    ...subscriptions.keys(),
    ...[...subscriptions.values()].map((s) => s.unsubscribe),
  ];
  methods.set('rpc_methods', () => ({ version: 1, methods: [...new Set([...names, 'rpc_methods'])].sort() }));
  return { methods, subscriptions };
}

export type { Hex };
