/** Subscribers kept in sets by what they follow (a view, a para), and the replay they get first. */
import { type RawJson, tooBig } from '../transport/jsonrpc.ts';

/** Adds `item` to the set under `key`; the returned function removes it, and the set once empty. */
export function addListener<K, T>(sets: Map<K, Set<T>>, key: K, item: T): () => void {
  const set = sets.get(key) ?? new Set<T>();
  set.add(item);
  sets.set(key, set);
  return () => {
    set.delete(item);
    if (set.size === 0) sets.delete(key);
  };
}

/** Subscribers in all the sets. */
export function countListeners<K, T>(sets: Map<K, Set<T>>): number {
  let count = 0;
  for (const set of sets.values()) count += set.size;
  return count;
}

/**
 * A replay held for a subscriber until its subscribe response is sent, so it counts as a response:
 * it is built only while it fits `maxBytes`, else the subscription is refused (-32008, `tooBigWhy`)
 * before anything is sent or registered.
 */
export class ReplayBudget {
  readonly #maxBytes: number;
  readonly #why: string;
  #bytes = 0;

  constructor(maxBytes: number, tooBigWhy: string) {
    this.#maxBytes = maxBytes;
    this.#why = tooBigWhy;
  }

  /** Counts one update against the budget (throws -32008 past it) and returns it. */
  count(update: RawJson): RawJson {
    this.#bytes += update.json.length;
    if (this.#bytes > this.#maxBytes) throw tooBig(this.#maxBytes, this.#why);
    return update;
  }

  /** Counts every update, one at a time, so encoding stops where the budget does. */
  take(updates: Iterable<RawJson>): RawJson[] {
    const held: RawJson[] = [];
    for (const update of updates) held.push(this.count(update));
    return held;
  }
}
