// Pattern instantiation (spec §1.5): a script pattern becomes a dataspace pattern plus the
// names of its binders, listed in capture order. Divergence (spec README): `<?x P>` names the
// outer capture first, matching the order in which the dataspace produces captures.
import { Dictionary, Embedded, KeyedSet, Record, compare, peel } from '../preserves/index.ts';
import { P, type Assertion, type Pattern, type Ref } from '../bus/index.ts';
import type { Environment } from './environment.ts';
import type { Token } from './instruction.ts';
import { ScriptRuntimeError } from './runtime-error.ts';
import { classifySymbol } from './symbol-class.ts';
import { evaluateAttenuation, lookup } from './template.ts';
import { isAttenuation } from './validate.ts';

/** A dataspace pattern and the variable names its captures bind, in order. */
export interface ScriptPattern {
  readonly pattern: Pattern;
  readonly names: readonly string[];
}

/** Compiles a script pattern in `env` (so `$x` uses x's value now). */
export function compileScriptPattern(token: Token, env: Environment): ScriptPattern {
  const names: string[] = [];
  const go = (t: Token): Pattern => {
    const v = peel(t);
    if (typeof v === 'symbol') {
      const c = classifySymbol(v);
      switch (c.kind) {
        case 'discard': return P.discard();
        case 'binder': names.push(c.name); return P.bind();
        case 'reference': return literal(lookup(env, c.name, t), t);
        case 'literal': return P.lit(c.symbol);
        case 'bare': return P.lit(c.symbol);
      }
    }
    if (v instanceof Record) {
      if (isAttenuation(v)) return P.lit(new Embedded<Ref>(evaluateAttenuation(v, t, env)));
      const label = peel(v.label);
      if (typeof label === 'symbol') {
        const c = classifySymbol(label);
        if (c.kind === 'binder' && v.fields.length === 1) {
          names.push(c.name);
          return P.bind(go(v.fields[0]));
        }
        if (c.kind === 'discard' || c.kind === 'binder') throw ScriptRuntimeError.at('Record pattern must have literal label', t);
        const l = c.kind === 'reference' ? lookup(env, c.name, v.label) : c.symbol;
        return P.rec(l, ...v.fields.map(go));
      }
      if (label instanceof Record || Array.isArray(label) || label instanceof Dictionary || label instanceof KeyedSet) {
        throw ScriptRuntimeError.at('Record pattern must have literal label', t);
      }
      return P.rec(label as Assertion, ...v.fields.map(go));
    }
    if (Array.isArray(v)) return P.arr(...v.map(go));
    if (v instanceof Dictionary) {
      // Keys are literal; entries are visited in key order, the order captures come in.
      const entries = [...(v as Dictionary<unknown>)].map(([k, x]) => [peel(k) as Assertion, x] as const);
      entries.sort((a, b) => compare(a[0], b[0]));
      return P.dict(entries.map(([k, x]) => [k, go(x)] as const));
    }
    if (v instanceof KeyedSet) throw ScriptRuntimeError.at('Sets not permitted in patterns', t);
    return P.lit(v as Assertion);
  };
  const pattern = go(token);
  return { pattern, names };
}

function literal(v: Assertion, t: Token): Pattern {
  try {
    return P.lit(v);
  } catch {
    throw ScriptRuntimeError.at('Cannot express a literal set in a pattern', t);
  }
}

/** Binds the captures of a match to the pattern's names (a repeated name: the later wins). */
export function bindCaptures(env: Environment, names: readonly string[], captures: readonly Assertion[]): void {
  for (let i = 0; i < names.length; i++) env.set(names[i], captures[i]);
}
