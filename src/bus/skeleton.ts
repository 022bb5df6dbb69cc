// The dataspace index (spec §7.3). Patterns are split into a *shape* (class guards at paths),
// the paths of their literals, and the paths of their captures. Patterns sharing shape and
// literal paths form a family; a family maps the tuple of literal values, with one lookup, to
// the leaf holding its observers. Families are bucketed by the class of the value's root, so a
// value only meets the families that could match it, never the whole list of observers.
import { Dictionary, Record, is, peel, valueKey } from '../preserves/index.ts';
import { Bag, Change } from './bag.ts';
import { compilePattern, type CompiledPattern, type Pattern } from './pattern.ts';
import type { Assertion, Handle, Ref } from './ref.ts';
import type { Turn } from './actor.ts';

type Path = readonly Assertion[];

/** A guard: the value at `path` must exist and (unless `exists`) be of the given class. */
type Guard =
  | { readonly path: Path; readonly kind: 'exists' }
  | { readonly path: Path; readonly kind: 'rec'; readonly label: Assertion }
  | { readonly path: Path; readonly kind: 'arr' }
  | { readonly path: Path; readonly kind: 'dict' };

/** What the index keeps of one pattern. */
interface Analysis {
  readonly rootKey: string;
  readonly guards: readonly Guard[];
  readonly constPaths: readonly Path[];
  readonly constValues: readonly Assertion[];
  readonly capturePaths: readonly Path[];
}

/** The observers of one (family, literal values, capture paths): they share a capture bag. */
interface Handler {
  readonly capturePaths: readonly Path[];
  readonly captures: Bag<Assertion[]>;
  /** Observer → capture-tuple key → the handle of the assertion made to that observer. */
  readonly observers: Map<Ref, Map<string, Handle>>;
}

interface Leaf {
  readonly handlers: Map<string, Handler>;
}

interface Family {
  readonly guards: readonly Guard[];
  readonly constPaths: readonly Path[];
  readonly leaves: Map<string, Leaf>;
  /**
   * The present assertions that pass the guards, by literal-values key: a new observer of the
   * family is populated with one lookup instead of a scan (spec §7.3, "each node caches").
   */
  readonly cache: Map<string, Map<string, Assertion>>;
}

/** The bucket of patterns whose root is a discard or a bare capture: they see every value. */
const ANY = '*';

/** The bucket key of records with this label (symbol labels, the usual case, stay cheap). */
function recordKey(label: Assertion): string {
  const l = peel(label);
  return typeof l === 'symbol' ? 'r' + l.description : 'R' + valueKey(l);
}

/** The bucket key of a value: its record label, or its compound class, or itself. */
export function rootKeyOfValue(v: Assertion): string {
  v = peel(v);
  if (v instanceof Record) return recordKey(v.label);
  if (Array.isArray(v)) return 'a';
  if (v instanceof Dictionary) return 'd';
  return 'v' + valueKey(v);
}

function analyse(p: CompiledPattern): Analysis {
  const guards: Guard[] = [];
  const constPaths: Path[] = [];
  const constValues: Assertion[] = [];
  const capturePaths: Path[] = [];
  let rootKey = ANY;
  const walk = (p: CompiledPattern, path: Path): void => {
    switch (p.kind) {
      case 'discard':
        if (path.length > 0) guards.push({ path, kind: 'exists' });
        return;
      case 'bind':
        capturePaths.push(path);
        if (path.length > 0) guards.push({ path, kind: 'exists' });
        walk(p.pattern, path);
        return;
      case 'lit':
        if (path.length === 0) rootKey = rootKeyOfValue(p.value);
        else guards.push({ path, kind: 'exists' });
        constPaths.push(path);
        constValues.push(p.value);
        return;
      case 'group': {
        const t = p.type;
        if (path.length === 0) rootKey = t.kind === 'rec' ? recordKey(t.label) : t.kind === 'arr' ? 'a' : 'd';
        guards.push(t.kind === 'rec' ? { path, kind: 'rec', label: t.label } : { path, kind: t.kind });
        for (const [k, sub] of p.entries) walk(sub, [...path, k]);
        return;
      }
    }
  };
  walk(p, []);
  return { rootKey, guards, constPaths, constValues, capturePaths };
}

function at(v: Assertion, path: Path): Assertion | undefined {
  if (path.length === 0) return v;
  let x: Assertion | undefined = v;
  for (let i = 0; i < path.length; i++) {
    const y: Assertion = peel(x!);
    const k = path[i];
    if (y instanceof Record) x = typeof k === 'number' ? y.fields[k] : undefined;
    else if (Array.isArray(y)) x = typeof k === 'number' ? y[k] : undefined;
    else if (y instanceof Dictionary) x = (y as Dictionary<Ref>).get(k);
    else return undefined;
    if (x === undefined) return undefined;
  }
  return x;
}

function passes(guards: readonly Guard[], v: Assertion): boolean {
  for (let i = 0; i < guards.length; i++) {
    const g = guards[i];
    const x = at(v, g.path);
    if (x === undefined) return false;
    switch (g.kind) {
      case 'exists': break;
      case 'rec': {
        const y = peel(x);
        if (!(y instanceof Record) || !is(y.label, g.label)) return false;
        break;
      }
      case 'arr': if (!Array.isArray(peel(x))) return false; break;
      case 'dict': if (!(peel(x) instanceof Dictionary)) return false; break;
    }
  }
  return true;
}

function pathsKey(paths: readonly Path[]): string {
  let s = '';
  for (const p of paths) {
    s += '(';
    for (const k of p) s += valueKey(k);
    s += ')';
  }
  return s;
}

function guardsKey(guards: readonly Guard[]): string {
  let s = '';
  for (const g of guards) {
    s += pathsKey([g.path]) + g.kind[0] + (g.kind === 'rec' ? valueKey(g.label) : '') + ';';
  }
  return s;
}

function project(v: Assertion, paths: readonly Path[]): Assertion[] {
  const out = new Array<Assertion>(paths.length);
  for (let i = 0; i < paths.length; i++) out[i] = at(v, paths[i])!;
  return out;
}

/** The key of the values at `paths` in `v`, without building the tuple. */
function projectKey(v: Assertion, paths: readonly Path[]): string {
  if (paths.length === 0) return '';
  if (paths.length === 1) return valueKey(at(v, paths[0])!);
  let s = '';
  for (let i = 0; i < paths.length; i++) s += valueKey(at(v, paths[i])!);
  return s;
}

function tupleKey(vs: readonly Assertion[]): string {
  if (vs.length === 1) return valueKey(vs[0]);
  let s = '';
  for (const v of vs) s += valueKey(v);
  return s;
}

/**
 * The index of a dataspace: current assertions (for late observers) and observers grouped so
 * that an assertion costs one guard check and one lookup per compatible family.
 */
export class Index {
  /** Root key → family key → family. */
  private readonly buckets = new Map<string, Map<string, Family>>();
  /** Root key → value key → value: the distinct assertions present, for new observers. */
  private readonly present = new Map<string, Map<string, Assertion>>();

  /** Records a new distinct assertion and tells every matching observer about it. */
  addAssertion(t: Turn, v: Assertion, vKey: string): void {
    const rk = rootKeyOfValue(v);
    let m = this.present.get(rk);
    if (m === undefined) this.present.set(rk, (m = new Map()));
    m.set(vKey, v);
    // The hot path of every assertion: loops written out, no closures made per call.
    this.addToBucket(t, this.buckets.get(rk), v, vKey);
    if (rk !== ANY) this.addToBucket(t, this.buckets.get(ANY), v, vKey);
  }

  private addToBucket(t: Turn, b: Map<string, Family> | undefined, v: Assertion, vKey: string): void {
    if (b === undefined) return;
    for (const fam of b.values()) {
      if (!passes(fam.guards, v)) continue;
      const lk = projectKey(v, fam.constPaths);
      let c = fam.cache.get(lk);
      if (c === undefined) fam.cache.set(lk, (c = new Map()));
      c.set(vKey, v);
      const leaf = fam.leaves.get(lk);
      if (leaf === undefined) continue;
      for (const h of leaf.handlers.values()) {
        const cs = project(v, h.capturePaths);
        const ck = tupleKey(cs);
        if (h.captures.add(ck, cs) !== Change.Appeared) continue;
        for (const [obs, handles] of h.observers) handles.set(ck, t.assert(obs, cs));
      }
    }
  }

  /** Forgets a distinct assertion and retracts what observers saw of it, when it was the last source. */
  removeAssertion(t: Turn, v: Assertion, vKey: string): void {
    const rk = rootKeyOfValue(v);
    const m = this.present.get(rk);
    if (m !== undefined) {
      m.delete(vKey);
      if (m.size === 0) this.present.delete(rk);
    }
    this.visit(v, rk, (h) => {
      const ck = projectKey(v, h.capturePaths);
      if (h.captures.remove(ck) !== Change.Disappeared) return;
      for (const handles of h.observers.values()) {
        const hd = handles.get(ck);
        if (hd !== undefined) {
          handles.delete(ck);
          t.retract(hd);
        }
      }
    }, (fam, lk) => {
      const c = fam.cache.get(lk);
      if (c === undefined) return;
      c.delete(vKey);
      if (c.size === 0) fam.cache.delete(lk);
    });
  }

  /** Delivers a message to every matching observer (nothing is kept). */
  sendMessage(t: Turn, v: Assertion): void {
    this.visit(v, rootKeyOfValue(v), (h) => {
      const cs = project(v, h.capturePaths);
      for (const obs of h.observers.keys()) t.message(obs, cs);
    });
  }

  private visit(v: Assertion, rk: string, f: (h: Handler) => void, cache?: (fam: Family, lk: string) => void): void {
    this.visitBucket(this.buckets.get(rk), v, f, cache);
    if (rk !== ANY) this.visitBucket(this.buckets.get(ANY), v, f, cache);
  }

  private visitBucket(b: Map<string, Family> | undefined, v: Assertion, f: (h: Handler) => void, cache?: (fam: Family, lk: string) => void): void {
    if (b === undefined) return;
    for (const fam of b.values()) {
      if (!passes(fam.guards, v)) continue;
      const lk = projectKey(v, fam.constPaths);
      cache?.(fam, lk);
      const leaf = fam.leaves.get(lk);
      if (leaf === undefined) continue;
      for (const h of leaf.handlers.values()) f(h);
    }
  }

  /** Registers an observer; it at once receives the captures of every matching assertion present. */
  addObserver(t: Turn, pattern: Pattern, observer: Ref): void {
    const a = analyse(compilePattern(pattern));
    let bucket = this.buckets.get(a.rootKey);
    if (bucket === undefined) this.buckets.set(a.rootKey, (bucket = new Map()));
    const fk = guardsKey(a.guards) + '|' + pathsKey(a.constPaths);
    let fam = bucket.get(fk);
    if (fam === undefined) {
      bucket.set(fk, (fam = { guards: a.guards, constPaths: a.constPaths, leaves: new Map(), cache: new Map() }));
      this.fill(fam, a.rootKey);
    }
    const lk = tupleKey(a.constValues);
    let leaf = fam.leaves.get(lk);
    if (leaf === undefined) fam.leaves.set(lk, (leaf = { handlers: new Map() }));
    const hk = pathsKey(a.capturePaths);
    let h = leaf.handlers.get(hk);
    if (h === undefined) {
      h = { capturePaths: a.capturePaths, captures: new Bag(), observers: new Map() };
      leaf.handlers.set(hk, h);
      for (const v of fam.cache.get(lk)?.values() ?? []) {
        const cs = project(v, a.capturePaths);
        h.captures.add(tupleKey(cs), cs);
      }
    }
    let handles = h.observers.get(observer);
    if (handles !== undefined) return;
    h.observers.set(observer, (handles = new Map()));
    for (const [ck, e] of h.captures.entries()) handles.set(ck, t.assert(observer, e.value));
  }

  /** Fills a new family's cache from the assertions already present (of its bucket only). */
  private fill(fam: Family, rootKey: string): void {
    const scan = (m: Map<string, Assertion> | undefined): void => {
      if (m === undefined) return;
      for (const [vKey, v] of m) {
        if (!passes(fam.guards, v)) continue;
        const lk = projectKey(v, fam.constPaths);
        let c = fam.cache.get(lk);
        if (c === undefined) fam.cache.set(lk, (c = new Map()));
        c.set(vKey, v);
      }
    };
    if (rootKey === ANY) for (const m of this.present.values()) scan(m);
    else scan(this.present.get(rootKey));
  }

  /** Unregisters an observer and retracts everything it was shown. */
  removeObserver(t: Turn, pattern: Pattern, observer: Ref): void {
    const a = analyse(compilePattern(pattern));
    const bucket = this.buckets.get(a.rootKey);
    const fk = guardsKey(a.guards) + '|' + pathsKey(a.constPaths);
    const fam = bucket?.get(fk);
    const lk = tupleKey(a.constValues);
    const leaf = fam?.leaves.get(lk);
    const hk = pathsKey(a.capturePaths);
    const h = leaf?.handlers.get(hk);
    if (h === undefined) return;
    const handles = h.observers.get(observer);
    if (handles === undefined) return;
    h.observers.delete(observer);
    for (const hd of handles.values()) t.retract(hd);
    if (h.observers.size > 0) return;
    leaf!.handlers.delete(hk);
    if (leaf!.handlers.size > 0) return;
    fam!.leaves.delete(lk);
    if (fam!.leaves.size > 0) return;
    bucket!.delete(fk);
    if (bucket!.size === 0) this.buckets.delete(a.rootKey);
  }
}
