/**
 * The devnet's `grandpa_*` JSON-RPC, as a node answers it when GRANDPA is on: `grandpa_proveFinality`
 * (a SCALE `FinalityProof { block, justification: Vec<u8>, unknown_headers: Vec<Header> }`) and
 * `grandpa_subscribeJustifications` (each finalized block's justification, hex).
 */
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { encodeCompact, fromHex } from '../protocol/bytes.ts';
import type { MethodHandler, SubscriptionHandler } from '../server/transport/jsonrpc.ts';
import type { DevnetBlock, DevnetChain } from './chain.ts';

type Entry = [string, MethodHandler];

export function grandpaMethods(chain: DevnetChain): Entry[] {
  if (!chain.grandpa) return [];
  return [
    [
      'grandpa_proveFinality',
      ([number]) => {
        const block = typeof number === 'number' ? chain.blockAt(number) : undefined;
        const justification = block && chain.justifications.get(block.hash);
        if (!block || !justification) return null;
        return u8aToHex(
          u8aConcat(
            fromHex(block.hash),
            encodeCompact(justification.length),
            justification,
            encodeCompact(0),
          ),
        );
      },
    ],
  ];
}

export function grandpaSubscriptions(chain: DevnetChain): [string, SubscriptionHandler][] {
  if (!chain.grandpa) return [];
  return [
    [
      'grandpa_subscribeJustifications',
      {
        notification: 'grandpa_justifications',
        unsubscribe: 'grandpa_unsubscribeJustifications',
        subscribe: (_params, emit) => {
          const listener = (block: DevnetBlock) => {
            const justification = chain.justifications.get(block.hash);
            if (justification) emit(u8aToHex(justification));
          };
          chain.on('finalized', listener);
          return () => chain.off('finalized', listener);
        },
      },
    ],
  ];
}
