/**
 * The devnet's `grandpa_*` JSON-RPC, as a node answers it when GRANDPA is on: `grandpa_proveFinality`
 * (a SCALE `FinalityProof { block, justification: Vec<u8>, unknown_headers: Vec<Header> }`) and
 * `grandpa_subscribeJustifications` (each finalized block's justification, hex).
 */
import { u8aConcat, u8aToHex } from '@polkadot/util';
import type { MethodHandler, SubscriptionHandler } from '../server/transport/jsonrpc.ts';
import type { DevnetBlock, DevnetChain } from './chain.ts';

type Entry = [string, MethodHandler];

function compact(value: number): Uint8Array {
  if (value < 64) return Uint8Array.of(value << 2);
  if (value < 16384) return Uint8Array.of(((value << 2) | 1) & 0xff, value >> 6);
  const out = new Uint8Array(5);
  out[0] = 3;
  new DataView(out.buffer).setUint32(1, value, true);
  return out;
}

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
            Buffer.from(block.hash.slice(2), 'hex'),
            compact(justification.length),
            justification,
            compact(0),
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
