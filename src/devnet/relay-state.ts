/**
 * The relay chain's state as the devnet answers for it: the block a request names (as a pruned node
 * would when it is gone), its storage, and the runtime calls the sidecar and collators make. Shared
 * by the legacy JSON-RPC (rpc.ts) and the new spec (chain-head.ts).
 */
import { u8aConcat } from '@polkadot/util';
import { ErrorCode, RpcError } from '../server/transport/jsonrpc.ts';
import type { DevnetBlock, DevnetChain, Hex } from './chain.ts';
import type { Candidate } from './runtime.ts';

export const u32 = (value: number) => new Uint8Array(new Uint32Array([value]).buffer);

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

export function compact(n: number): Uint8Array {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 16384) return Uint8Array.of(((n << 2) | 1) & 0xff, n >>> 6);
  const v = ((n << 2) | 2) >>> 0;
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}

/** The block at `hash` (best when absent), or the node's error for an unknown or pruned block. */
export function blockAt(chain: DevnetChain, hash: unknown): DevnetBlock {
  if (hash === undefined || hash === null) return chain.best;
  const block = chain.block(hexParam(hash, 'block hash'));
  if (!block)
    throw new RpcError(4003, `Client error: UnknownBlock: State already discarded for ${String(hash)}`);
  return block;
}

/** Whether a pruned node would still have this block's state and body (`--state-pruning`). */
export function prunedAway(chain: DevnetChain, block: DevnetBlock): boolean {
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
