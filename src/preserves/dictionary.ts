import type { Value } from './value.ts';
import { memberKey } from './key.ts';

/** A Preserves Dictionary: keys compare by Preserves equality, not JS identity. */
export class Dictionary<T = unknown, V extends Value<T> = Value<T>> implements Iterable<[Value<T>, V]> {
  private readonly items = new Map<string, [Value<T>, V]>();
  private changes = 0;

  constructor(entries: Iterable<[Value<T>, V]> = []) {
    for (const [k, v] of entries) this.set(k, v);
  }

  /** A dictionary whose keys are the symbols named by the object's own keys. */
  static fromObject<T>(o: { [name: string]: Value<T> }): Dictionary<T> {
    const d = new Dictionary<T>();
    for (const k of Object.keys(o)) d.set(Symbol.for(k), o[k]);
    return d;
  }

  /** Counts changes, so that a cached sorted order (see compare.ts) knows when it is stale. */
  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.items.size;
  }

  get(k: Value<T>): V | undefined {
    return this.items.get(memberKey(k))?.[1];
  }

  has(k: Value<T>): boolean {
    return this.items.has(memberKey(k));
  }

  set(k: Value<T>, v: V): this {
    this.items.set(memberKey(k), [k, v]);
    this.changes++;
    return this;
  }

  delete(k: Value<T>): boolean {
    const deleted = this.items.delete(memberKey(k));
    if (deleted) this.changes++;
    return deleted;
  }

  /** Entries together with their keys' equality keys (see `valueKey`). */
  *entriesByKey(): IterableIterator<[string, V]> {
    for (const [k, e] of this.items) yield [k, e[1]];
  }

  keys(): IterableIterator<Value<T>> {
    return (function* (m) { for (const e of m.values()) yield e[0]; })(this.items);
  }

  values(): IterableIterator<V> {
    return (function* (m) { for (const e of m.values()) yield e[1]; })(this.items);
  }

  [Symbol.iterator](): IterableIterator<[Value<T>, V]> {
    return this.items.values();
  }
}
