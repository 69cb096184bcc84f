/**
 * Fetching what ingest needs from the node, batched: a block with its events and metadata in
 * parallel, relay storage in one `state_queryStorageAt` per block, and a bounded prefetch window so
 * catch-up keeps several blocks in flight instead of waiting on each round trip.
 */

import type { BlockInput } from '../derive/observe.ts';
import { fromHex, type Hex } from '../protocol/bytes.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import { HistoryUnavailableError, type NodeClient } from './node.ts';

/** `System::Number`, present in every block's state. */
const SYSTEM_NUMBER_KEY = '0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac';

export interface FetchedBlock {
  readonly number: number;
  readonly hash: Hex;
  readonly metadata: RuntimeMetadata;
  readonly input: BlockInput;
}

/** Block `number` (by `knownHash` when the caller has it, saving a lookup); derive re-checks the hash. */
export async function fetchBlock(node: NodeClient, number: number, knownHash?: Hex): Promise<FetchedBlock> {
  const hash = knownHash ?? (await node.blockHash(number));
  if (!hash) throw new HistoryUnavailableError(`the node has no block #${number}`);
  const { metadata, input } = await node.blockInput(hash);
  return { number, hash, metadata, input };
}

/** Values of `keys` at `at`, in one round trip; absent keys map to null. */
export async function readStorage(
  node: NodeClient,
  keys: readonly Hex[],
  at: Hex,
): Promise<Map<Hex, Uint8Array | null>> {
  const out = new Map<Hex, Uint8Array | null>();
  if (keys.length === 0) return out;
  const result = await node.send<{ block: Hex; changes: [Hex, Hex | null][] }[]>('state_queryStorageAt', [
    keys,
    at,
  ]);
  for (const key of keys) out.set(key, null);
  for (const set of result) {
    for (const [key, value] of set.changes)
      out.set(key.toLowerCase() as Hex, value === null ? null : fromHex(value, `storage ${key}`));
  }
  return out;
}

/** Whether the node still serves block `number` and the state before it (what ingest needs to start there). */
async function servable(node: NodeClient, number: number): Promise<boolean> {
  try {
    const [hash, parent] = await Promise.all([node.blockHash(number), node.blockHash(number - 1)]);
    if (!hash || !parent) return false;
    await Promise.all([node.block(hash), node.storage(SYSTEM_NUMBER_KEY, parent)]);
    return true;
  } catch (error) {
    if (error instanceof HistoryUnavailableError) return false;
    throw error;
  }
}

/**
 * The first block in [from, to] from which a (pruned) node can be followed: it still has that
 * block's body and the state before it. Pruning keeps a suffix of the chain, so this is a search.
 */
export async function firstServable(node: NodeClient, from: number, to: number): Promise<number | null> {
  if (await servable(node, from)) return from;
  if (!(await servable(node, to))) return null;
  let low = from; // not servable
  let high = to; // servable
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await servable(node, middle)) high = middle;
    else low = middle;
  }
  return high;
}

/** Every key under `prefix` at `at`, paged by 1000 as nodes allow. */
export async function listKeys(node: NodeClient, prefix: Hex, at: Hex): Promise<Hex[]> {
  const keys: Hex[] = [];
  let start: Hex | null = null;
  for (;;) {
    const page: Hex[] = await node.send<Hex[]>('state_getKeysPaged', [prefix, 1000, start, at]);
    keys.push(...page);
    if (page.length < 1000) return keys;
    start = page[page.length - 1]!;
  }
}

/** Keeps up to `depth` upcoming blocks in flight; `take(n)` hands them out in order. */
export class BlockPrefetcher<T> {
  readonly #fetch: (number: number) => Promise<T>;
  readonly #depth: number;
  readonly #inFlight = new Map<number, Promise<T>>();

  constructor(fetch: (number: number) => Promise<T>, depth: number) {
    this.#fetch = fetch;
    this.#depth = Math.max(1, depth);
  }

  /** The block `number`, starting fetches up to `number + depth - 1` (never past `last`). */
  take(number: number, last: number): Promise<T> {
    for (let n = number; n <= Math.min(last, number + this.#depth - 1); n++) {
      if (!this.#inFlight.has(n)) {
        const promise = this.#fetch(n);
        promise.catch(() => undefined); // surfaced when taken
        this.#inFlight.set(n, promise);
      }
    }
    const promise = this.#inFlight.get(number)!;
    this.#inFlight.delete(number);
    return promise;
  }

  /** Drops everything in flight (after an error, a reconnect, or a restart of the loop). */
  reset(): void {
    this.#inFlight.clear();
  }
}
