import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { Annotated } from './annotated.ts';

/**
 * A Preserves value, generic over what embedded values hold. Integers are JS `number`s (safe
 * integers only) or `bigint`s; doubles are always `Double`; symbols are registered JS symbols
 * (`Symbol.for`); sequences are arrays.
 */
export type Value<T = unknown> =
  | boolean
  | Double
  | number
  | bigint
  | string
  | Bytes
  | symbol
  | Record<T>
  | Value<T>[]
  | KeyedSet<T>
  | Dictionary<T>
  | Embedded<T>
  | Annotated<T>;

/** The kinds of the data model, numbered in the order of the total order. */
export const enum Kind {
  Boolean = 0,
  Double = 1,
  SignedInteger = 2,
  String = 3,
  ByteString = 4,
  Symbol = 5,
  Record = 6,
  Sequence = 7,
  Set = 8,
  Dictionary = 9,
  Embedded = 10,
}

/** The kind of a value, looking through annotations; throws on a JS value that is not a Value. */
export function kindOf(v: unknown): Kind {
  for (;;) {
    switch (typeof v) {
      case 'boolean': return Kind.Boolean;
      case 'number':
        if (Number.isSafeInteger(v)) return Kind.SignedInteger;
        throw new TypeError('not a Preserves value: non-integer number ' + v + ' (use Double)');
      case 'bigint': return Kind.SignedInteger;
      case 'string': return Kind.String;
      case 'symbol': return Kind.Symbol;
      case 'object':
        if (Array.isArray(v)) return Kind.Sequence;
        if (v instanceof Record) return Kind.Record;
        if (v instanceof Double) return Kind.Double;
        if (v instanceof Bytes) return Kind.ByteString;
        if (v instanceof Dictionary) return Kind.Dictionary;
        if (v instanceof KeyedSet) return Kind.Set;
        if (v instanceof Embedded) return Kind.Embedded;
        if (v instanceof Annotated) { v = v.item; continue; }
    }
    throw new TypeError('not a Preserves value: ' + String(v));
  }
}

/** The symbol named `name` (symbols are interned: `sym('a') === sym('a')`). */
export function sym(name: string): symbol {
  return Symbol.for(name);
}

/** The name of a symbol. */
export function symbolName(s: symbol): string {
  return s.description ?? '';
}

/** A Double holding `n`. */
export function double(n: number): Double {
  return new Double(n);
}

/** Normalises an integer: bigints within the safe range become numbers. */
export function normInt(n: number | bigint): number | bigint {
  if (typeof n === 'bigint' && n >= -9007199254740991n && n <= 9007199254740991n) return Number(n);
  return n;
}
