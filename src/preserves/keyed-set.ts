import type { Value } from './value.ts';
import { memberKey } from './key.ts';

/** A Preserves Set: members are distinct under Preserves equality, not JS identity. */
export class KeyedSet<T = unknown> implements Iterable<Value<T>> {
  private readonly items = new Map<string, Value<T>>();
  private changes = 0;

  constructor(members: Iterable<Value<T>> = []) {
    for (const m of members) this.add(m);
  }

  /** Counts changes, so that a cached sorted order (see compare.ts) knows when it is stale. */
  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.items.size;
  }

  /** Adds a member; returns false if an equal member was already there. */
  add(v: Value<T>): boolean {
    const k = memberKey(v);
    if (this.items.has(k)) return false;
    this.items.set(k, v);
    this.changes++;
    return true;
  }

  has(v: Value<T>): boolean {
    return this.items.has(memberKey(v));
  }

  delete(v: Value<T>): boolean {
    const deleted = this.items.delete(memberKey(v));
    if (deleted) this.changes++;
    return deleted;
  }

  /** The equality keys of the members (see `valueKey`). */
  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  [Symbol.iterator](): IterableIterator<Value<T>> {
    return this.items.values();
  }
}
