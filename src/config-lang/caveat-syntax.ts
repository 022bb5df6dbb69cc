// Script caveats (spec §1.7): `<accept P>`, `<rewrite P T>`, `<or [...]>`, `<reject P>` written
// in script syntax, compiled to the exact-arity sturdy caveat language of src/bus/rewrite.ts.
import { Dictionary, KeyedSet, Record, peel, sym } from '../preserves/index.ts';
import { Caveat, CaveatError, type Assertion, type Ref } from '../bus/index.ts';
import type { Environment } from './environment.ts';
import type { Token } from './instruction.ts';
import { ScriptRuntimeError } from './runtime-error.ts';
import { classifySymbol } from './symbol-class.ts';
import { lookup } from './template.ts';
import { isAttenuation } from './validate.ts';

const rec = (label: string, ...fields: Assertion[]): Assertion => new Record<Ref>(sym(label), fields);

/** Compiles a list of script caveats; errors name the caveat's position. */
export function compileCaveats(list: readonly Token[], env: Environment): Caveat[] {
  return list.map((c) => {
    try {
      return Caveat.from(caveatValue(c, env));
    } catch (e) {
      if (e instanceof CaveatError) throw ScriptRuntimeError.at('Invalid caveat: ' + e.message, c);
      throw e;
    }
  });
}

function caveatValue(t: Token, env: Environment): Assertion {
  const v = peel(t);
  if (!(v instanceof Record)) throw ScriptRuntimeError.at('Invalid caveat: expected <accept P>, <rewrite P T>, <or [...]> or <reject P>', t);
  if (v.hasLabel('accept') && v.fields.length === 1) return rewrite(v.fields[0], null, env);
  if (v.hasLabel('rewrite') && v.fields.length === 2) return rewrite(v.fields[0], v.fields[1], env);
  if (v.hasLabel('reject') && v.fields.length === 1) return rec('reject', sturdyPattern(v.fields[0], env, []));
  if (v.hasLabel('or') && v.fields.length === 1) {
    const alts = peel(v.fields[0]);
    if (!Array.isArray(alts)) throw ScriptRuntimeError.at('Invalid caveat: <or> needs a sequence', t);
    return rec('or', alts.map((a) => {
      const r = peel(a);
      if (r instanceof Record && r.hasLabel('accept') && r.fields.length === 1) return rewrite(r.fields[0], null, env);
      if (r instanceof Record && r.hasLabel('rewrite') && r.fields.length === 2) return rewrite(r.fields[0], r.fields[1], env);
      throw ScriptRuntimeError.at('Invalid caveat: <or> alternatives must be <accept> or <rewrite>', a);
    }));
  }
  throw ScriptRuntimeError.at('Invalid caveat: expected <accept P>, <rewrite P T>, <or [...]> or <reject P>', t);
}

/** `<rewrite P T>` in sturdy form; `accept` is `<rewrite <bind P> <ref 0>>`. */
function rewrite(p: Token, template: Token | null, env: Environment): Assertion {
  const binders: string[] = [];
  if (template === null) return rec('rewrite', rec('bind', sturdyPattern(p, env, binders)), rec('ref', 0));
  const pattern = sturdyPattern(p, env, binders);
  return rec('rewrite', pattern, sturdyTemplate(template, env, binders));
}

/** A script pattern as a sturdy pattern; binder names are collected in capture order. */
function sturdyPattern(t: Token, env: Environment, binders: string[]): Assertion {
  const v = peel(t);
  if (typeof v === 'symbol') {
    const c = classifySymbol(v);
    switch (c.kind) {
      case 'discard': return rec('_');
      case 'binder': binders.push(c.name); return rec('bind', rec('_'));
      case 'reference': return rec('lit', lookup(env, c.name, t));
      default: return rec('lit', c.symbol);
    }
  }
  if (v instanceof Record) {
    const label = peel(v.label);
    if (typeof label === 'symbol') {
      const c = classifySymbol(label);
      if (c.kind === 'binder' && v.fields.length === 1) {
        binders.push(c.name);
        return rec('bind', sturdyPattern(v.fields[0], env, binders));
      }
      if (c.kind === 'discard' || c.kind === 'binder') throw ScriptRuntimeError.at('Record pattern must have literal label', t);
      const l = c.kind === 'reference' ? lookup(env, c.name, v.label) : c.symbol;
      return rec('rec', l, v.fields.map((f) => sturdyPattern(f, env, binders)));
    }
    return rec('rec', label as Assertion, v.fields.map((f) => sturdyPattern(f, env, binders)));
  }
  if (Array.isArray(v)) return rec('arr', v.map((x) => sturdyPattern(x, env, binders)));
  if (v instanceof Dictionary) {
    const d = new Dictionary<Ref>();
    for (const [k, x] of v) d.set(peel(k) as Assertion, sturdyPattern(x, env, binders));
    return rec('dict', d);
  }
  if (v instanceof KeyedSet) throw ScriptRuntimeError.at('Sets not permitted in patterns', t);
  return rec('lit', v as Assertion);
}

/** A script template as a sturdy template: `$b` for a binder `b` refers to its capture. */
function sturdyTemplate(t: Token, env: Environment, binders: readonly string[]): Assertion {
  const v = peel(t);
  if (typeof v === 'symbol') {
    const c = classifySymbol(v);
    switch (c.kind) {
      case 'discard': case 'binder': throw ScriptRuntimeError.at('Invalid use of wildcard in template', t);
      case 'reference': {
        const i = binders.lastIndexOf(c.name);
        return i >= 0 ? rec('ref', i) : rec('lit', lookup(env, c.name, t));
      }
      default: return rec('lit', c.symbol);
    }
  }
  if (v instanceof Record) {
    if (isAttenuation(v)) {
      const cap = peel(v.fields[0]);
      const c = typeof cap === 'symbol' ? classifySymbol(cap) : null;
      const list = peel(v.fields[1]);
      if (c?.kind === 'reference' && binders.includes(c.name) && Array.isArray(list)) {
        const caveats = list.map((x) => caveatValue(x, env));
        return rec('attenuate', rec('ref', binders.lastIndexOf(c.name)), caveats);
      }
    }
    const label = peel(v.label);
    if (typeof label === 'symbol') {
      const c = classifySymbol(label);
      if (c.kind === 'discard' || c.kind === 'binder') throw ScriptRuntimeError.at('Record template must have literal label', t);
      const l = c.kind === 'reference' ? lookup(env, c.name, v.label) : c.symbol;
      return rec('rec', l, v.fields.map((f) => sturdyTemplate(f, env, binders)));
    }
    return rec('rec', label as Assertion, v.fields.map((f) => sturdyTemplate(f, env, binders)));
  }
  if (Array.isArray(v)) return rec('arr', v.map((x) => sturdyTemplate(x, env, binders)));
  if (v instanceof Dictionary) {
    const d = new Dictionary<Ref>();
    for (const [k, x] of v) d.set(peel(k) as Assertion, sturdyTemplate(x, env, binders));
    return rec('dict', d);
  }
  if (v instanceof KeyedSet) throw ScriptRuntimeError.at('Sets not permitted in templates', t);
  return rec('lit', v as Assertion);
}
