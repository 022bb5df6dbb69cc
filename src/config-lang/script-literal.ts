// Writing a value as script text that asserts exactly that value: symbols the script language
// would read as variables, binders or wildcards are escaped with `=`.
import { Dictionary, Embedded, KeyedSet, Record, peel, stringify, sym, type Value } from '../preserves/index.ts';
import { classifySymbol } from './symbol-class.ts';

/** Raised for values scripts cannot express (embedded refs). */
export class NotScriptable extends Error {}

function escape(v: Value<unknown>): Value<unknown> {
  const x = peel(v);
  if (typeof x === 'symbol') return classifySymbol(x).kind === 'bare' ? x : sym('=' + x.description);
  if (x instanceof Record) {
    // `<* $cap [...]>` is attenuation syntax: a plain `*` label is written `=*`.
    const l = peel(x.label);
    return new Record(l === sym('*') ? sym('=*') : escape(l), x.fields.map(escape));
  }
  if (Array.isArray(x)) return x.map(escape);
  if (x instanceof KeyedSet) return new KeyedSet([...x].map(escape));
  if (x instanceof Dictionary) return new Dictionary([...x].map(([k, y]) => [k, escape(y)] as [Value<unknown>, Value<unknown>]));
  if (x instanceof Embedded) throw new NotScriptable('a value holding a ref cannot be written into a script');
  return x;
}

/** Script text (`+= VALUE`) that, loaded by a config watcher, asserts `v` into `$config`. */
export function scriptAsserting(v: Value<unknown>): string {
  return '+= ' + stringify(escape(v)) + '\n';
}
