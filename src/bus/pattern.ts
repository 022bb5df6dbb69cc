// Dataspace patterns (spec §7.1): their Preserves form, TypeScript constructors, compilation
// to a checked tree, and a direct matcher (the index in skeleton.ts does the same job faster).
import {
  Annotated, Dictionary, Embedded, KeyedSet, Record, compare, is, peel, record, sym,
} from '../preserves/index.ts';
import type { Assertion, Ref } from './ref.ts';

/** A dataspace pattern in its Preserves form: `<_>`, `<bind P>`, `<lit V>`, `<group TYPE {K: P}>`. */
export type Pattern = Assertion;

/** Raised for a value that is not a well-formed dataspace pattern. */
export class PatternError extends Error {
  constructor(message: string, readonly pattern: Assertion) {
    super(message);
    this.name = 'PatternError';
  }
}

/** The compound class a group pattern constrains its value to. */
export type GroupType =
  | { readonly kind: 'rec'; readonly label: Assertion }
  | { readonly kind: 'arr' }
  | { readonly kind: 'dict' };

/** A pattern checked and turned into a tree; group entries are sorted by key (Preserves order). */
export type CompiledPattern =
  | { readonly kind: 'discard' }
  | { readonly kind: 'bind'; readonly pattern: CompiledPattern }
  | { readonly kind: 'lit'; readonly value: Assertion }
  | { readonly kind: 'group'; readonly type: GroupType; readonly entries: readonly (readonly [Assertion, CompiledPattern])[] };

const $_ = sym('_'), $bind = sym('bind'), $lit = sym('lit'), $group = sym('group');
const $rec = sym('rec'), $arr = sym('arr'), $dict = sym('dict');
const DISCARD: Pattern = new Record<Ref>($_, []);

/** Constructors for patterns in their Preserves form. */
export const P = {
  /** `<_>`: matches anything, captures nothing. */
  discard(): Pattern {
    return DISCARD;
  },
  /** `<bind P>`: captures the value here (and requires it to match `p`, by default anything). */
  bind(p: Pattern = DISCARD): Pattern {
    return record('bind', p);
  },
  /**
   * `<lit V>` for an atom or embedded. A compound value becomes nested groups of literals, so,
   * like every dataspace pattern, it ignores extra fields (spec §1.5). Sets cannot be matched.
   */
  lit(v: Assertion): Pattern {
    v = peel(v);
    if (v instanceof Record) return P.group({ kind: 'rec', label: v.label }, v.fields.map((f, i) => [i, P.lit(f)]));
    if (Array.isArray(v)) return P.group({ kind: 'arr' }, v.map((f, i) => [i, P.lit(f)]));
    if (v instanceof Dictionary) return P.group({ kind: 'dict' }, [...v].map(([k, f]) => [k, P.lit(f)]));
    if (v instanceof KeyedSet) throw new PatternError('sets cannot be matched', v);
    return record('lit', v);
  },
  /** A record pattern: label (a JS string names a symbol) and positional field patterns. */
  rec(label: Assertion, ...fields: Pattern[]): Pattern {
    const l = typeof label === 'string' ? sym(label) : label;
    return P.group({ kind: 'rec', label: l }, fields.map((f, i) => [i, f]));
  },
  /** A sequence pattern with positional element patterns (longer sequences match too). */
  arr(...items: Pattern[]): Pattern {
    return P.group({ kind: 'arr' }, items.map((f, i) => [i, f]));
  },
  /** A dictionary pattern; object keys name symbols. Keys not listed are ignored. */
  dict(entries: Iterable<readonly [Assertion, Pattern]> | { readonly [name: string]: Pattern }): Pattern {
    const es: (readonly [Assertion, Pattern])[] = Symbol.iterator in entries
      ? [...(entries as Iterable<readonly [Assertion, Pattern]>)]
      : Object.entries(entries as { [name: string]: Pattern }).map(([k, p]) => [sym(k), p] as const);
    return P.group({ kind: 'dict' }, es);
  },
  /** A group pattern given its type and (key, pattern) entries in any order. */
  group(type: GroupType, entries: Iterable<readonly [Assertion, Pattern]>): Pattern {
    const t = type.kind === 'rec' ? record<Ref>('rec', type.label) : record<Ref>(type.kind);
    const d = new Dictionary<Ref>();
    for (const [k, p] of entries) d.set(k, p);
    return record<Ref>('group', t, d);
  },
};

const compiled = new WeakMap<object, CompiledPattern>();

/** Checks a pattern's Preserves form and returns its tree (cached per pattern object). */
export function compilePattern(p: Pattern): CompiledPattern {
  if (typeof p === 'object' && !(p instanceof Annotated)) {
    const c = compiled.get(p);
    if (c !== undefined) return c;
    const r = compileUncached(p);
    compiled.set(p, r);
    return r;
  }
  return compileUncached(p);
}

function compileUncached(p0: Pattern): CompiledPattern {
  const p = peel(p0);
  if (!(p instanceof Record)) throw new PatternError('pattern must be a record', p0);
  const label = peel(p.label), f = p.fields;
  if (label === $_ && f.length === 0) return { kind: 'discard' };
  if (label === $bind && f.length === 1) return { kind: 'bind', pattern: compilePattern(f[0]) };
  if (label === $lit && f.length === 1) return { kind: 'lit', value: f[0] };
  if (label === $group && f.length === 2) {
    const t = peel(f[0]), d = peel(f[1]);
    if (!(d instanceof Dictionary)) throw new PatternError('group entries must be a dictionary', p0);
    let type: GroupType;
    if (t instanceof Record && peel(t.label) === $rec && t.fields.length === 1) type = { kind: 'rec', label: t.fields[0] };
    else if (t instanceof Record && peel(t.label) === $arr && t.fields.length === 0) type = { kind: 'arr' };
    else if (t instanceof Record && peel(t.label) === $dict && t.fields.length === 0) type = { kind: 'dict' };
    else throw new PatternError('unknown group type', p0);
    const entries: [Assertion, CompiledPattern][] = [];
    for (const [k, sub] of d as Dictionary<Ref>) entries.push([peel(k), compilePattern(sub)]);
    entries.sort((a, b) => compare(a[0], b[0]));
    return { kind: 'group', type, entries };
  }
  throw new PatternError('unknown pattern form', p0);
}

/** The child of `v` at `key` by the dataspace's rules (record field, sequence index, dict key). */
export function step(v: Assertion, key: Assertion): Assertion | undefined {
  v = peel(v);
  if (v instanceof Record) return typeof key === 'number' ? v.fields[key] : undefined;
  if (Array.isArray(v)) return typeof key === 'number' ? v[key] : undefined;
  if (v instanceof Dictionary) return v.get(key);
  return undefined;
}

/**
 * Matches `v` against a pattern directly (no index); returns the captures in pattern order
 * (pre-order, group entries in key order) or `undefined` when it does not match.
 */
export function match(p: Pattern | CompiledPattern, v: Assertion): Assertion[] | undefined {
  const c = isCompiled(p) ? p : compilePattern(p);
  const out: Assertion[] = [];
  return walk(c, v, out) ? out : undefined;
}

function isCompiled(p: Pattern | CompiledPattern): p is CompiledPattern {
  return typeof p === 'object' && p !== null && 'kind' in p && !(p instanceof Record) && !(p instanceof Embedded);
}

function walk(p: CompiledPattern, v: Assertion, out: Assertion[]): boolean {
  switch (p.kind) {
    case 'discard': return true;
    case 'bind': out.push(v); return walk(p.pattern, v, out);
    case 'lit': return is(p.value, v);
    case 'group': {
      const x = peel(v);
      switch (p.type.kind) {
        case 'rec': if (!(x instanceof Record) || !is(x.label, p.type.label)) return false; break;
        case 'arr': if (!Array.isArray(x)) return false; break;
        case 'dict': if (!(x instanceof Dictionary)) return false; break;
      }
      for (const [k, sub] of p.entries) {
        const child = step(x, k);
        if (child === undefined || !walk(sub, child, out)) return false;
      }
      return true;
    }
  }
}
