/** Subscribers kept in sets by what they follow (a view, a para). */

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
