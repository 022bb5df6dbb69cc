import { createRequire } from 'node:module';
import type { Value } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded, identityOf } from './embedded.ts';
import { Annotated } from './annotated.ts';

// node:crypto is loaded at the first long key, not at start: loading it costs a short program
// (syndicate-ctl status) some 5 ms of CPU, 4-9% of its run.
const nodeRequire = createRequire(import.meta.url);
let crypto: typeof import('node:crypto') | undefined;

/**
 * A string that is equal for two values exactly when the values are equal (annotations
 * ignored; integers compared by value whether number or bigint). Use it as a JS Map key.
 * Each part is self-delimiting, so concatenations stay injective.
 */
export function valueKey(v: Value<any>): string {
  switch (typeof v) {
    case 'boolean': return v ? 't' : 'f';
    case 'number': return 'i' + v + ';';
    case 'bigint': return 'i' + v + ';';
    case 'string': return 's' + v.length + ':' + v;
    case 'symbol': return symbolKey(v);
  }
  if (v instanceof Record) {
    // Records of atoms (service names, states, the usual assertion) are keyed again and again
    // as parts of bigger values and projections: their key is kept once made. A record with
    // something mutable inside (sequence, dictionary, set, bytes) is keyed afresh each time.
    const m = v.memoKey;
    if (m !== undefined) return m;
    const outer = mutableSeen;
    mutableSeen = false;
    let s = '<' + valueKey(v.label);
    const f = v.fields;
    for (let i = 0; i < f.length; i++) s += valueKey(f[i]);
    s += '>';
    if (!mutableSeen) v.memoKey = s;
    mutableSeen ||= outer;
    return s;
  }
  if (Array.isArray(v)) {
    mutableSeen = true;
    let s = '[';
    for (let i = 0; i < v.length; i++) s += valueKey(v[i]);
    return s + ']';
  }
  if (v instanceof Annotated) return valueKey(v.item);
  if (v instanceof Double) {
    const n = v.value;
    if (Number.isNaN(n)) return 'n' + new Bytes(v.nanBits!).toHex() + ';';
    return 'd' + (Object.is(n, -0) ? '-0' : String(n)) + ';';
  }
  if (v instanceof Embedded) {
    // A ref's identity never changes; a generic payload is keyed (and judged) as a value.
    return v.generic ? 'e' + valueKey(v.value as Value<any>) : 'E' + identityOf(v.value) + ';';
  }
  mutableSeen = true;
  if (v instanceof Bytes) return 'b' + v.length + ':' + v.toLatin1();
  if (v instanceof KeyedSet) return '#{' + [...v.keys()].sort().join('') + '}';
  if (v instanceof Dictionary) {
    const parts: string[] = [];
    for (const [k, x] of v.entriesByKey()) parts.push(k + valueKey(x));
    return '{' + parts.sort().join('') + '}';
  }
  throw new TypeError('not a Preserves value: ' + String(v));
}

/** Set while keying a record when a part of it could change later (its key is then not kept). */
let mutableSeen = false;

/** Keys of registered symbols (all symbols of Preserves data are): made once each. */
const symbolKeys = new Map<symbol, string>();

function symbolKey(v: symbol): string {
  let k = symbolKeys.get(v);
  if (k !== undefined) return k;
  const n = v.description!;
  k = 'y' + n.length + ':' + n;
  // Only registered symbols are kept: they live for ever anyway; others would leak here.
  if (Symbol.keyFor(v) !== undefined) symbolKeys.set(v, k);
  return k;
}

/** Member keys longer than this are replaced by a digest (see `memberKey`). */
export const MAX_MEMBER_KEY_LENGTH = 256;

/**
 * The key a set member or dictionary key is stored under: `valueKey`, or, when that is long, a
 * SHA-256 digest of it. A set's own key is made of its members' stored keys, so with full keys
 * each level of nested sets would copy everything below it (1 MB of 1000-deep sets took 8 s to
 * decode); digests keep every level's key short. `H` starts no other kind of key.
 */
export function memberKey(v: Value<any>): string {
  const k = valueKey(v);
  return k.length <= MAX_MEMBER_KEY_LENGTH ? k : 'H' + (crypto ??= nodeRequire('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(k).digest('base64') + ';';
}

/** A 32-bit hash of a value, consistent with Preserves equality. */
export function hash(v: Value<any>): number {
  const s = valueKey(v);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
