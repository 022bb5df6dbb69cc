// fast-check generators of Preserves values, shared by the property tests.
import fc from 'fast-check';
import { type Value, Bytes, Dictionary, Double, Embedded, KeyedSet, Record, annotate } from '../../src/preserves/index.ts';

/** Atoms and values of every kind; integers reach ±2^bigIntBits (small ones as numbers). */
export function arbitraryValues(bigIntBits: bigint): { arbAtom: fc.Arbitrary<Value>; arbValue: fc.Arbitrary<Value> } {
  const arbAtom: fc.Arbitrary<Value> = fc.oneof(
    fc.boolean(),
    fc.double().map((d) => new Double(d)),
    fc.integer(),
    fc.bigInt({ min: -(2n ** bigIntBits), max: 2n ** bigIntBits }).map((n) => (n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n ? Number(n) : n)),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 20 }).map((b) => new Bytes(b)),
    fc.string({ unit: 'grapheme-ascii' }).map((s) => Symbol.for(s)),
  );
  const { value: arbValue } = fc.letrec<{ value: Value }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      arbAtom,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.tuple(arbAtom, fc.array(tie('value'), { maxLength: 4 })).map(([l, fs]) => new Record(l, fs)),
      fc.array(tie('value'), { maxLength: 4 }).map((xs) => new KeyedSet(xs)),
      fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((es) => new Dictionary(es)),
      tie('value').map((v) => Embedded.generic(v)),
      fc.tuple(tie('value'), arbAtom).map(([v, a]) => annotate(v, a)),
    ),
  }));
  return { arbAtom, arbValue };
}
