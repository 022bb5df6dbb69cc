// A counted multiset keyed by `valueKey` strings: how the dataspace keeps duplicate assertions.

/** One distinct item of a bag and how many copies are held. */
export interface BagEntry<V> {
  readonly value: V;
  count: number;
}

/** What a change did to an item's visibility. */
export const enum Change {
  /** The count went from zero to positive: the item appeared. */
  Appeared = 1,
  /** The count went from positive to zero: the item disappeared. */
  Disappeared = -1,
  /** The item was present before and after (or absent and stayed absent). */
  Unchanged = 0,
}

/** A multiset; only transitions across zero are visible to callers, as dataspace observers need. */
export class Bag<V> {
  private readonly items = new Map<string, BagEntry<V>>();

  /** The number of distinct items. */
  get size(): number {
    return this.items.size;
  }

  /** Adds one copy of `value` under `key`; `Appeared` when it is the first. */
  add(key: string, value: V): Change {
    const e = this.items.get(key);
    if (e !== undefined) {
      e.count++;
      return Change.Unchanged;
    }
    this.items.set(key, { value, count: 1 });
    return Change.Appeared;
  }

  /** Removes one copy; `Disappeared` when it was the last, `Unchanged` otherwise (also if absent). */
  remove(key: string): Change {
    const e = this.items.get(key);
    if (e === undefined) return Change.Unchanged;
    if (--e.count > 0) return Change.Unchanged;
    this.items.delete(key);
    return Change.Disappeared;
  }

  /** The count held for `key` (zero when absent). */
  count(key: string): number {
    return this.items.get(key)?.count ?? 0;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get(key: string): V | undefined {
    return this.items.get(key)?.value;
  }

  /** Distinct items with their keys, in the order they (last) appeared. */
  entries(): IterableIterator<[string, BagEntry<V>]> {
    return this.items.entries();
  }

  /** Distinct values in the order they (last) appeared. */
  *values(): IterableIterator<V> {
    for (const e of this.items.values()) yield e.value;
  }
}
