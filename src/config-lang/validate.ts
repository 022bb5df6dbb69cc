import { type Value, Record, Dictionary, KeyedSet, peel, positionOf } from '../preserves/index.ts';
import type { Expr, Instruction, Token } from './instruction.ts';
import { ScriptError } from './script-error.ts';
import { classifySymbol } from './symbol-class.ts';

/**
 * Static checks of a parsed script, for `--check`: mistakes that would be runtime errors
 * whatever the environment (a wildcard in a template, a set in a pattern, a record pattern
 * whose label is not literal).
 */
export function validateScript(instructions: Instruction[]): ScriptError[] {
  const errors: ScriptError[] = [];
  const at = (t: Token, fallback: Token) => positionOf(t as Value) ?? positionOf(fallback as Value);

  const template = (t: Token, root: Token): void => {
    const v = peel(t as Value);
    if (typeof v === 'symbol') {
      const c = classifySymbol(v);
      if (c.kind === 'discard' || c.kind === 'binder') errors.push(new ScriptError('Invalid use of wildcard in template', at(t, root)));
    } else if (v instanceof Record) {
      if (isAttenuation(v)) return;
      template(v.label, t);
      for (const f of v.fields) template(f, t);
    } else if (Array.isArray(v)) {
      for (const x of v) template(x, t);
    } else if (v instanceof KeyedSet) {
      for (const x of v) template(x, t);
    } else if (v instanceof Dictionary) {
      for (const [k, x] of v) { template(k, t); template(x, t); }
    }
  };

  const pattern = (t: Token, root: Token): void => {
    const v = peel(t as Value);
    if (v instanceof Record) {
      if (isAttenuation(v)) return;
      const label = peel(v.label);
      if (typeof label === 'symbol') {
        const c = classifySymbol(label);
        if (c.kind === 'binder' && v.fields.length === 1) { pattern(v.fields[0], t); return; }
        if (c.kind === 'discard' || c.kind === 'binder') {
          errors.push(new ScriptError('Record pattern must have literal label', at(t, root)));
          return;
        }
      } else if (label instanceof Record || Array.isArray(label) || label instanceof Dictionary || label instanceof KeyedSet) {
        errors.push(new ScriptError('Record pattern must have literal label', at(t, root)));
        return;
      }
      for (const f of v.fields) pattern(f, t);
    } else if (Array.isArray(v)) {
      for (const x of v) pattern(x, t);
    } else if (v instanceof Dictionary) {
      for (const x of v.values()) pattern(x, t);
    } else if (v instanceof KeyedSet) {
      errors.push(new ScriptError('Sets not permitted in patterns', at(t, root)));
    }
  };

  const expr = (e: Expr, root: Token): void => {
    switch (e.kind) {
      case 'template': template(e.template, root); break;
      case 'stringify': expr(e.arg, root); break;
      case 'join': expr(e.separator, root); expr(e.pieces, root); break;
    }
  };

  const walk = (i: Instruction): void => {
    switch (i.kind) {
      case 'assert': case 'send': template(i.template, i.template); break;
      case 'block': i.body.forEach(walk); break;
      case 'during': case 'on-message': pattern(i.pattern, i.pattern); walk(i.body); break;
      case 'on-stop': walk(i.body); break;
      case 'let': pattern(i.pattern, i.pattern); if (i.expr.kind === 'template') expr(i.expr, i.pattern); break;
      case 'match': pattern(i.pattern, i.pattern); walk(i.then); i.otherwise.forEach(walk); break;
    }
  };
  instructions.forEach(walk);
  return errors;
}

/** True for `<* $cap [caveats]>`, whose caveat patterns follow their own rules. */
export function isAttenuation(r: Record<unknown>): boolean {
  return r.hasLabel('*') && r.fields.length === 2;
}

/** A template a script asserts, and at which target variable (`config` unless `$x` prefixed). */
export interface AssertedTemplate {
  readonly target: string;
  readonly template: Token;
}

/** Every template asserted anywhere in a script, reactions' bodies included. */
export function assertedTemplates(instructions: Instruction[]): AssertedTemplate[] {
  const out: AssertedTemplate[] = [];
  const walk = (i: Instruction): void => {
    switch (i.kind) {
      case 'assert': out.push({ target: i.target, template: i.template }); break;
      case 'block': i.body.forEach(walk); break;
      case 'during': case 'on-message': case 'on-stop': walk(i.body); break;
      case 'match': walk(i.then); i.otherwise.forEach(walk); break;
    }
  };
  instructions.forEach(walk);
  return out;
}

/**
 * The value a template stands for when it holds no variable, binder, wildcard or attenuation
 * (`=x` read as the symbol `x`), else null: only such parts can be checked before running.
 */
export function literalValue(t: Token): Value<unknown> | null {
  const v = peel(t as Value);
  if (typeof v === 'symbol') {
    const c = classifySymbol(v);
    return c.kind === 'bare' || c.kind === 'literal' ? c.symbol : null;
  }
  if (v instanceof Record) {
    if (isAttenuation(v)) return null;
    const label = literalValue(v.label);
    const fields = v.fields.map(literalValue);
    return label === null || fields.includes(null) ? null : new Record(label, fields as Value<unknown>[]);
  }
  if (Array.isArray(v)) {
    const xs = v.map(literalValue);
    return xs.includes(null) ? null : (xs as Value<unknown>[]);
  }
  if (v instanceof KeyedSet) {
    const xs = [...v].map(literalValue);
    return xs.includes(null) ? null : new KeyedSet(xs as Value<unknown>[]);
  }
  if (v instanceof Dictionary) {
    const d = new Dictionary<unknown>();
    for (const [k, x] of v) {
      const lk = literalValue(k);
      const lx = literalValue(x);
      if (lk === null || lx === null) return null;
      d.set(lk, lx);
    }
    return d;
  }
  return v;
}
