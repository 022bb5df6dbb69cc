// Caveats and attenuation (spec §1.7, §5.1): the sturdy pattern/template language, which is
// exact-arity unlike dataspace patterns, and refs that filter/rewrite what is sent through them.
import { Dictionary, Embedded, Kind, Record, is, kindOf, peel, sym } from '../preserves/index.ts';
import { type Assertion, type Ref, isRef } from './ref.ts';

/** Raised for a caveat that is malformed in a way the spec calls invalid (not merely unknown). */
export class CaveatError extends Error {
  constructor(message: string, readonly caveat: Assertion) {
    super(message);
    this.name = 'CaveatError';
  }
}

type SPattern =
  | { readonly k: 'discard' }
  | { readonly k: 'kind'; readonly kind: Kind }
  | { readonly k: 'bind'; readonly p: SPattern }
  | { readonly k: 'and'; readonly ps: readonly SPattern[] }
  | { readonly k: 'not'; readonly p: SPattern }
  | { readonly k: 'lit'; readonly v: Assertion }
  | { readonly k: 'rec'; readonly label: Assertion; readonly fields: readonly SPattern[] }
  | { readonly k: 'arr'; readonly items: readonly SPattern[] }
  | { readonly k: 'dict'; readonly entries: readonly (readonly [Assertion, SPattern])[] };

type STemplate =
  | { readonly k: 'ref'; readonly n: number }
  | { readonly k: 'lit'; readonly v: Assertion }
  | { readonly k: 'attenuate'; readonly t: STemplate; readonly caveats: readonly Caveat[] }
  | { readonly k: 'rec'; readonly label: Assertion; readonly fields: readonly STemplate[] }
  | { readonly k: 'arr'; readonly items: readonly STemplate[] }
  | { readonly k: 'dict'; readonly entries: readonly (readonly [Assertion, STemplate])[] };

interface Rewrite { readonly pattern: SPattern; readonly template: STemplate }

/** A compiled caveat; `value` is its Preserves form (what the wire and sturdy refs carry). */
export class Caveat {
  private constructor(
    readonly value: Assertion,
    private readonly rewrites: readonly Rewrite[],
    private readonly rejectPattern: SPattern | null,
  ) {}

  /** Compiles a caveat's Preserves form; unknown forms become a caveat rejecting everything. */
  static from(v: Assertion): Caveat {
    const x = peel(v);
    if (x instanceof Record && x.hasLabel('rewrite') && x.fields.length === 2) return new Caveat(v, [compileRewrite(x, v)], null);
    if (x instanceof Record && x.hasLabel('reject') && x.fields.length === 1) {
      const p = compilePattern(x.fields[0], v);
      return new Caveat(v, [], p.pattern);
    }
    if (x instanceof Record && x.hasLabel('or') && x.fields.length === 1) {
      const alts = peel(x.fields[0]);
      if (!Array.isArray(alts)) throw new CaveatError('<or> needs a sequence of rewrites', v);
      return new Caveat(v, alts.map((a) => {
        const r = peel(a);
        if (!(r instanceof Record && r.hasLabel('rewrite') && r.fields.length === 2)) throw new CaveatError('<or> alternatives must be rewrites', v);
        return compileRewrite(r, v);
      }), null);
    }
    return new Caveat(v, [], null);
  }

  /** The value after this caveat, or `undefined` when the caveat drops it. */
  apply(v: Assertion): Assertion | undefined {
    if (this.rejectPattern !== null) return matches(this.rejectPattern, v, null) ? undefined : v;
    const binds: Assertion[] = [];
    for (const r of this.rewrites) {
      binds.length = 0;
      if (matches(r.pattern, v, binds)) return instantiate(r.template, binds);
    }
    return undefined;
  }
}

/** Constructors for caveats in their Preserves form, compiled. */
export const C = {
  /** `<rewrite P T>` from Preserves-form sturdy pattern and template. */
  rewrite(pattern: Assertion, template: Assertion): Caveat {
    return Caveat.from(new Record<Ref>(sym('rewrite'), [pattern, template]));
  },
  /** Passes values matching the sturdy pattern unchanged (`<rewrite <bind P> <ref 0>>`). */
  accept(pattern: Assertion): Caveat {
    return C.rewrite(new Record<Ref>(sym('bind'), [pattern]), new Record<Ref>(sym('ref'), [0]));
  },
  /** `<reject P>`: drops what matches, passes everything else. */
  reject(pattern: Assertion): Caveat {
    return Caveat.from(new Record<Ref>(sym('reject'), [pattern]));
  },
  /** `<or [REWRITE …]>`: the first alternative whose pattern matches is used. */
  or(...alternatives: Caveat[]): Caveat {
    return Caveat.from(new Record<Ref>(sym('or'), [alternatives.map((c) => c.value)]));
  },
};

/** A ref like `ref` with `caveats` appended (they run before the ref's existing ones). */
export function attenuate(ref: Ref, ...caveats: (Caveat | Assertion)[]): Ref {
  if (caveats.length === 0) return ref;
  const more = caveats.map((c) => (c instanceof Caveat ? c : Caveat.from(c)));
  return { relay: ref.relay, target: ref.target, attenuation: [...(ref.attenuation ?? []), ...more] };
}

/** Runs a ref's caveats right to left over `v`; `undefined` means dropped. */
export function applyAttenuation(caveats: readonly Caveat[], v: Assertion): Assertion | undefined {
  for (let i = caveats.length - 1; i >= 0; i--) {
    const r = caveats[i].apply(v);
    if (r === undefined) return undefined;
    v = r;
  }
  return v;
}

const KIND_NAMES: { [name: string]: Kind } = {
  Boolean: Kind.Boolean, Double: Kind.Double, SignedInteger: Kind.SignedInteger, String: Kind.String,
  ByteString: Kind.ByteString, Symbol: Kind.Symbol, Embedded: Kind.Embedded,
};

function compileRewrite(r: Record<Ref>, whole: Assertion): Rewrite {
  const { pattern, binds } = compilePattern(r.fields[0], whole);
  return { pattern, template: compileTemplate(r.fields[1], binds, whole) };
}

function compilePattern(v: Assertion, whole: Assertion): { pattern: SPattern; binds: number } {
  let binds = 0;
  const go = (v0: Assertion, noBinds: boolean): SPattern => {
    const x = peel(v0);
    if (typeof x === 'symbol') {
      const kind = KIND_NAMES[x.description ?? ''];
      if (kind === undefined) throw new CaveatError('unknown pattern class ' + String(x.description), whole);
      return { k: 'kind', kind };
    }
    if (!(x instanceof Record)) throw new CaveatError('malformed caveat pattern', whole);
    const f = x.fields;
    if (x.hasLabel('_') && f.length === 0) return { k: 'discard' };
    if (x.hasLabel('bind') && f.length === 1) {
      if (noBinds) throw new CaveatError('binders are not allowed inside <not>', whole);
      binds++;
      return { k: 'bind', p: go(f[0], noBinds) };
    }
    if (x.hasLabel('and') && f.length === 1 && Array.isArray(peel(f[0]))) {
      return { k: 'and', ps: (peel(f[0]) as Assertion[]).map((p) => go(p, noBinds)) };
    }
    if (x.hasLabel('not') && f.length === 1) return { k: 'not', p: go(f[0], true) };
    if (x.hasLabel('lit') && f.length === 1) return { k: 'lit', v: f[0] };
    if (x.hasLabel('rec') && f.length === 2 && Array.isArray(peel(f[1]))) {
      return { k: 'rec', label: f[0], fields: (peel(f[1]) as Assertion[]).map((p) => go(p, noBinds)) };
    }
    if (x.hasLabel('arr') && f.length === 1 && Array.isArray(peel(f[0]))) {
      return { k: 'arr', items: (peel(f[0]) as Assertion[]).map((p) => go(p, noBinds)) };
    }
    if (x.hasLabel('dict') && f.length === 1 && peel(f[0]) instanceof Dictionary) {
      return { k: 'dict', entries: [...(peel(f[0]) as Dictionary<Ref>)].map(([k, p]) => [k, go(p, noBinds)] as const) };
    }
    throw new CaveatError('malformed caveat pattern', whole);
  };
  const pattern = go(v, false);
  return { pattern, binds };
}

function compileTemplate(v: Assertion, binds: number, whole: Assertion): STemplate {
  const x = peel(v);
  if (!(x instanceof Record)) throw new CaveatError('malformed caveat template', whole);
  const f = x.fields;
  if (x.hasLabel('ref') && f.length === 1) {
    const n = peel(f[0]);
    if (typeof n !== 'number' || n < 0 || n >= binds) throw new CaveatError('template refers to a capture the pattern does not make', whole);
    return { k: 'ref', n };
  }
  if (x.hasLabel('lit') && f.length === 1) return { k: 'lit', v: f[0] };
  if (x.hasLabel('attenuate') && f.length === 2 && Array.isArray(peel(f[1]))) {
    return { k: 'attenuate', t: compileTemplate(f[0], binds, whole), caveats: (peel(f[1]) as Assertion[]).map((c) => Caveat.from(c)) };
  }
  if (x.hasLabel('rec') && f.length === 2 && Array.isArray(peel(f[1]))) {
    return { k: 'rec', label: f[0], fields: (peel(f[1]) as Assertion[]).map((t) => compileTemplate(t, binds, whole)) };
  }
  if (x.hasLabel('arr') && f.length === 1 && Array.isArray(peel(f[0]))) {
    return { k: 'arr', items: (peel(f[0]) as Assertion[]).map((t) => compileTemplate(t, binds, whole)) };
  }
  if (x.hasLabel('dict') && f.length === 1 && peel(f[0]) instanceof Dictionary) {
    return { k: 'dict', entries: [...(peel(f[0]) as Dictionary<Ref>)].map(([k, t]) => [k, compileTemplate(t, binds, whole)] as const) };
  }
  throw new CaveatError('malformed caveat template', whole);
}

function matches(p: SPattern, v0: Assertion, binds: Assertion[] | null): boolean {
  const v = peel(v0);
  switch (p.k) {
    case 'discard': return true;
    case 'kind': return kindOf(v) === p.kind;
    case 'bind': binds?.push(v0); return matches(p.p, v, binds);
    case 'and': for (const q of p.ps) if (!matches(q, v, binds)) return false; return true;
    case 'not': return !matches(p.p, v, null);
    case 'lit': return is(p.v, v);
    case 'rec':
      if (!(v instanceof Record) || !is(v.label, p.label) || v.fields.length !== p.fields.length) return false;
      for (let i = 0; i < p.fields.length; i++) if (!matches(p.fields[i], v.fields[i], binds)) return false;
      return true;
    case 'arr':
      if (!Array.isArray(v) || v.length !== p.items.length) return false;
      for (let i = 0; i < p.items.length; i++) if (!matches(p.items[i], v[i], binds)) return false;
      return true;
    case 'dict':
      if (!(v instanceof Dictionary)) return false;
      for (const [k, q] of p.entries) {
        const x = (v as Dictionary<Ref>).get(k);
        if (x === undefined || !matches(q, x, binds)) return false;
      }
      return true;
  }
}

function instantiate(t: STemplate, binds: readonly Assertion[]): Assertion | undefined {
  switch (t.k) {
    case 'ref': return binds[t.n];
    case 'lit': return t.v;
    case 'attenuate': {
      const r = instantiate(t.t, binds);
      const e = r === undefined ? undefined : peel(r);
      if (!(e instanceof Embedded) || !isRef(e.value)) return undefined;
      return new Embedded<Ref>(attenuate(e.value, ...t.caveats));
    }
    case 'rec': {
      const fields: Assertion[] = [];
      for (const f of t.fields) { const x = instantiate(f, binds); if (x === undefined) return undefined; fields.push(x); }
      return new Record<Ref>(t.label, fields);
    }
    case 'arr': {
      const items: Assertion[] = [];
      for (const f of t.items) { const x = instantiate(f, binds); if (x === undefined) return undefined; items.push(x); }
      return items;
    }
    case 'dict': {
      const d = new Dictionary<Ref>();
      for (const [k, f] of t.entries) { const x = instantiate(f, binds); if (x === undefined) return undefined; d.set(k, x); }
      return d;
    }
  }
}
