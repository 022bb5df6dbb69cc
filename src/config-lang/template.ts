// Template instantiation (spec §1.5): turning a script value into an assertion, with `$x`
// substituted and `<* $cap [...]>` evaluated to an attenuated ref.
import { Dictionary, Embedded, KeyedSet, Record, peel } from '../preserves/index.ts';
import { attenuate, type Assertion, type Ref, isRef } from '../bus/index.ts';
import { type Environment, envDictionary } from './environment.ts';
import type { Token } from './instruction.ts';
import { ScriptRuntimeError } from './runtime-error.ts';
import { classifySymbol } from './symbol-class.ts';
import { isAttenuation } from './validate.ts';
import { compileCaveats } from './caveat-syntax.ts';

/** The value of variable `name` (`.` is the whole environment); a runtime error if undefined. */
export function lookup(env: Environment, name: string, token: Token | null): Assertion {
  if (name === '.') return envDictionary(env);
  const v = env.get(name);
  if (v === undefined) throw ScriptRuntimeError.at(`Undefined variable $${name}`, token);
  return v;
}

/** The ref held by variable `name`, or a runtime error naming it. */
export function lookupRef(env: Environment, name: string, token: Token | null): Ref {
  const v = peel(lookup(env, name, token));
  if (v instanceof Embedded && isRef(v.value)) return v.value;
  throw ScriptRuntimeError.at(`$${name} is not a ref`, token);
}

/**
 * The most nodes (atoms and compounds, counted as a tree) a template may build. A variable can
 * appear twice in a template, so `let` after `let` doubles a value's size while its memory stays
 * small (shared); comparing, hashing or sending it would then take exponential time.
 */
export const MAX_TEMPLATE_NODES = 1 << 20;

/** Builds the value a template denotes in `env`; a runtime error past MAX_TEMPLATE_NODES. */
export function instantiate(token: Token, env: Environment): Assertion {
  const v = build(token, env);
  // The usual template is a handful of nodes: counted plainly, without the memo's map and
  // closures (they were most of what a script's `?` body allocated per match).
  if (smallTreeSize(v, SMALL_TREE) <= SMALL_TREE) return v;
  if (treeSize(v, new Map(), MAX_TEMPLATE_NODES) > MAX_TEMPLATE_NODES) {
    throw ScriptRuntimeError.at(`Template builds a value of more than ${MAX_TEMPLATE_NODES} nodes`, token);
  }
  return v;
}

/** Past this many nodes (counted plainly) the size is counted again with `treeSize`'s memo. */
const SMALL_TREE = 4096;

/** Nodes of `v` as a tree (shared parts counted each time), counting stops once past `budget`. */
function smallTreeSize(v: Assertion, budget: number): number {
  if (typeof v !== 'object' || v === null) return 1;
  let n = 1;
  const p = peel(v);
  if (p instanceof Record) {
    n += smallTreeSize(p.label, budget - n);
    for (let i = 0; i < p.fields.length && n <= budget; i++) n += smallTreeSize(p.fields[i], budget - n);
  } else if (Array.isArray(p)) {
    for (let i = 0; i < p.length && n <= budget; i++) n += smallTreeSize(p[i], budget - n);
  } else if (p instanceof KeyedSet) {
    for (const x of p) { if (n > budget) break; n += smallTreeSize(x, budget - n); }
  } else if (p instanceof Dictionary) {
    for (const [k, x] of p) { if (n > budget) break; n += smallTreeSize(k, budget - n); n += smallTreeSize(x, budget - n); }
  }
  return n;
}

/** Nodes of `v` as a tree, counting shared parts each time, in time linear in distinct objects. */
function treeSize(v: Assertion, memo: Map<object, number>, cap: number): number {
  if (typeof v !== 'object' || v === null) return 1;
  const known = memo.get(v);
  if (known !== undefined) return known;
  let n = 1;
  const add = (x: Assertion) => { if (n <= cap) n += treeSize(x, memo, cap); };
  const p = peel(v);
  if (p instanceof Record) { add(p.label); p.fields.forEach(add); }
  else if (Array.isArray(p)) p.forEach(add);
  else if (p instanceof KeyedSet) for (const x of p) add(x);
  else if (p instanceof Dictionary) for (const [k, x] of p) { add(k); add(x); }
  memo.set(v, n);
  return n;
}

function build(token: Token, env: Environment): Assertion {
  const v = peel(token);
  switch (typeof v) {
    case 'symbol': {
      const c = classifySymbol(v);
      switch (c.kind) {
        case 'discard': case 'binder': throw ScriptRuntimeError.at('Invalid use of wildcard in template', token);
        case 'reference': return lookup(env, c.name, token);
        case 'literal': return c.symbol;
        case 'bare': return c.symbol;
      }
    }
    // falls through: not reached
    case 'boolean': case 'number': case 'bigint': case 'string':
      return v as Assertion;
  }
  if (v instanceof Record) {
    if (isAttenuation(v)) return new Embedded<Ref>(evaluateAttenuation(v, token, env));
    return new Record<Ref>(build(v.label, env), v.fields.map((f) => build(f, env)));
  }
  if (Array.isArray(v)) return v.map((x) => build(x, env));
  if (v instanceof KeyedSet) {
    const s = new KeyedSet<Ref>();
    for (const x of v) s.add(build(x, env));
    return s;
  }
  if (v instanceof Dictionary) {
    const d = new Dictionary<Ref>();
    for (const [k, x] of v) d.set(build(k, env), build(x, env));
    return d;
  }
  return v as Assertion; // doubles, byte strings
}

/** `<* $cap [caveat ...]>`: the ref in `$cap` with the caveats appended (spec §1.7). */
export function evaluateAttenuation(r: Record<unknown>, token: Token, env: Environment): Ref {
  const capTok = r.fields[0];
  const cap = peel(capTok);
  const c = typeof cap === 'symbol' ? classifySymbol(cap) : null;
  if (c === null || c.kind !== 'reference') throw ScriptRuntimeError.at('Attenuation needs a $variable holding a ref', capTok, null);
  const ref = lookupRef(env, c.name, capTok);
  const list = peel(r.fields[1]);
  if (!Array.isArray(list)) throw ScriptRuntimeError.at('Attenuation caveats must be a sequence', r.fields[1], null);
  void token;
  return attenuate(ref, ...compileCaveats(list, env));
}
