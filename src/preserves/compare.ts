import { type Value, Kind, kindOf } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded, identityOf } from './embedded.ts';
import { Annotated } from './annotated.ts';
import { valueKey } from './key.ts';

/** Compares two strings by Unicode scalar value (not by UTF-16 code unit). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (the first unit of an astral char) must sort above U+E000..U+FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Compares byte arrays as unsigned bytes; a proper prefix is smaller. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function doubleOrderKey(d: Double): bigint {
  const bits = d.bits();
  return bits & 0x8000000000000000n ? ~bits & 0xffffffffffffffffn : bits | 0x8000000000000000n;
}

function compareSeq<T>(a: Value<T>[], b: Value<T>[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

// Sorted orders are cached per set and dictionary (until it changes): comparing two sets sorts
// their members, whose comparisons sort *their* members, so without the cache nested sets cost
// a sort per comparison per level, exponential in the depth.
const sortedCache = new WeakMap<object, { version: number; sorted: unknown[] }>();

function cachedSort<X>(c: KeyedSet<any> | Dictionary<any>, make: () => X[]): X[] {
  const hit = sortedCache.get(c);
  if (hit && hit.version === c.version) return hit.sorted as X[];
  const sorted = make();
  sortedCache.set(c, { version: c.version, sorted });
  return sorted;
}

function membersShared<T>(s: KeyedSet<T>): Value<T>[] {
  return cachedSort(s, () => [...s].sort(compare));
}

function entriesShared<T>(d: Dictionary<T>): [Value<T>, Value<T>][] {
  return cachedSort(d, () => [...d].sort((x, y) => compare(x[0], y[0])));
}

/** The members of a set in ascending total order (a fresh array). */
export function sortedMembers<T>(s: KeyedSet<T>): Value<T>[] {
  return membersShared(s).slice();
}

/** The entries of a dictionary in ascending total order of their keys (a fresh array). */
export function sortedEntries<T>(d: Dictionary<T>): [Value<T>, Value<T>][] {
  return entriesShared(d).slice();
}

/** The Preserves total order: negative, zero or positive. Annotations are ignored. */
export function compare<T>(a: Value<T>, b: Value<T>): number {
  if (a instanceof Annotated) return compare(a.item, b);
  if (b instanceof Annotated) return compare(a, b.item);
  const ka = kindOf(a), kb = kindOf(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  switch (ka) {
    case Kind.Boolean: return a === b ? 0 : a ? 1 : -1;
    case Kind.Double: {
      const x = a as Double, y = b as Double;
      if (!x.nanBits && !y.nanBits && x.value !== y.value) return x.value < y.value ? -1 : 1;
      const p = doubleOrderKey(x), q = doubleOrderKey(y);
      return p === q ? 0 : p < q ? -1 : 1;
    }
    case Kind.SignedInteger: return a === b ? 0 : (a as number | bigint) < (b as number | bigint) ? -1 : 1;
    case Kind.String: return compareStrings(a as string, b as string);
    case Kind.ByteString: return compareBytes((a as Bytes).bytes, (b as Bytes).bytes);
    case Kind.Symbol: return a === b ? 0 : compareStrings((a as symbol).description!, (b as symbol).description!);
    case Kind.Record: {
      const x = a as Record<T>, y = b as Record<T>;
      return compare(x.label, y.label) || compareSeq(x.fields, y.fields);
    }
    case Kind.Sequence: return compareSeq(a as Value<T>[], b as Value<T>[]);
    case Kind.Set:
      return compareSeq(membersShared(a as KeyedSet<T>), membersShared(b as KeyedSet<T>));
    case Kind.Dictionary: {
      const x = entriesShared(a as Dictionary<T>), y = entriesShared(b as Dictionary<T>);
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i][0], y[i][0]) || compare(x[i][1], y[i][1]);
        if (c !== 0) return c;
      }
      return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
    }
    case Kind.Embedded: {
      const x = a as Embedded<T>, y = b as Embedded<T>;
      if (x.generic !== y.generic) return x.generic ? -1 : 1;
      if (x.generic) return compare(x.value as Value<T>, y.value as Value<T>);
      if (x.value === y.value) return 0;
      return identityOf(x.value) < identityOf(y.value) ? -1 : 1;
    }
  }
}

/** Preserves equality: true when neither value is less than the other. Annotations ignored. */
export function is<T>(a: Value<T>, b: Value<T>): boolean {
  if (a === b) return true;
  if (a instanceof Annotated) return is(a.item, b);
  if (b instanceof Annotated) return is(a, b.item);
  switch (typeof a) {
    case 'number': case 'bigint':
      return (typeof b === 'number' || typeof b === 'bigint') && a == b;
    case 'object':
      if (typeof b !== 'object') return false;
      if (Array.isArray(a)) {
        if (!Array.isArray(b) || a.length !== b.length) return false;
        for (let i = 0; i < a.length; i++) if (!is(a[i], b[i])) return false;
        return true;
      }
      if (a instanceof Record) {
        if (!(b instanceof Record) || a.fields.length !== b.fields.length || !is(a.label, b.label)) return false;
        for (let i = 0; i < a.fields.length; i++) if (!is(a.fields[i], b.fields[i])) return false;
        return true;
      }
      if (a instanceof Double) {
        if (!(b instanceof Double)) return false;
        if (a.nanBits || b.nanBits) return doubleOrderKey(a) === doubleOrderKey(b);
        return Object.is(a.value, b.value);
      }
      if (a instanceof Embedded) {
        if (!(b instanceof Embedded) || a.generic !== b.generic) return false;
        return a.generic ? is(a.value as Value<T>, b.value as Value<T>) : a.value === b.value;
      }
      return kindOf(a) === kindOf(b) && valueKey(a) === valueKey(b);
    default:
      return false;
  }
}
