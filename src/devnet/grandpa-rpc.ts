/**
 * The devnet's `grandpa_*` JSON-RPC, as a node answers it when GRANDPA is on:
 * `grandpa_proveFinality(n)`, a SCALE `FinalityProof { block, justification: Vec<u8>,
 * unknown_headers: Vec<Header> }`: the justification of a block F ≥ n of n's set (a set that has
 * ended: its last block, the one that enacted the change; else n itself), F's hash as `block`, and
 * the headers (n; F] in ascending order; `grandpa_subscribeJustifications` (each finalized
 * block's justification, hex).
 */
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { encodeCompact, fromHex } from '../protocol/bytes.ts';
import { encodeHeader } from '../protocol/header.ts';
import type { MethodHandler, SubscriptionHandler } from '../server/transport/jsonrpc.ts';
import type { DevnetBlock, DevnetChain } from './chain.ts';

type Entry = [string, MethodHandler];

/** The block whose justification proves `number` final: the last block of its set, if that set has ended. */
function justifiedBlockFor(chain: DevnetChain, number: number): number {
  const grandpa = chain.grandpa!;
  const setId = grandpa.setIdAt(number);
  const setEnd = grandpa.setEvery > 0 ? (setId + 1) * grandpa.setEvery : Number.POSITIVE_INFINITY;
  return setEnd <= chain.finalized.number && number > 0 ? setEnd : number;
}

/** The SCALE FinalityProof of finalized block `number`, or null (not finalized, pruned, or genesis). */
export function proveFinality(chain: DevnetChain, number: number): `0x${string}` | null {
  if (number > chain.finalized.number) return null;
  const block = chain.blockAt(number);
  const target = chain.blockAt(justifiedBlockFor(chain, number));
  const justification = target && chain.justifications.get(target.hash);
  if (!block || !target || !justification) return null;
  const unknown: Uint8Array[] = [];
  for (let n = number + 1; n <= target.number; n++) {
    const header = chain.blockAt(n);
    if (!header) return null;
    unknown.push(encodeHeader(header.header));
  }
  return u8aToHex(
    u8aConcat(
      fromHex(target.hash), // the justified block F, as polkadot-sdk's FinalityProof has it
      encodeCompact(justification.length),
      justification,
      encodeCompact(unknown.length),
      ...unknown,
    ),
  );
}

export function grandpaMethods(chain: DevnetChain): Entry[] {
  if (!chain.grandpa) return [];
  return [
    [
      'grandpa_proveFinality',
      ([number]) => (typeof number === 'number' ? proveFinality(chain, number) : null),
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
