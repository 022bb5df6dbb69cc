// Random and truncated inputs to both readers: only DecodeError may come out, never a hang,
// a stack overflow or a crash; random values round-trip through both syntaxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DecodeError, ShortInput, decode, encode, is, parse, stringify, compare, valueKey,
} from '../../src/preserves/index.ts';
import { arbitraryValues } from './arbitrary-values.ts';

const SEEDS = [1, 42, 20261123];

const { arbValue } = arbitraryValues(200n);

function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

for (const seed of SEEDS) {
  test(`random values round-trip through binary and text (seed ${seed})`, () => {
    fc.assert(fc.property(arbValue, (v) => {
      assert.ok(is(decode(encode(v)), v));
      assert.ok(is(parse(stringify(v)), v));
      assert.ok(is(parse(stringify(v, { indent: 2, width: 20 })), v));
      assert.equal(valueKey(decode(encode(v))), valueKey(v));
      assert.equal(compare(parse(stringify(v)), v), 0);
    }), { seed, numRuns: 300 });
  });

  test(`random bytes and truncations give only DecodeError to the binary reader (seed ${seed})`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlyDecodeErrors(() => decode(b))), { seed, numRuns: 2000 });
    fc.assert(fc.property(arbValue, fc.nat(), (v, cut) => {
      const b = encode(v, { includeAnnotations: true });
      const n = cut % (b.length + 1);
      try {
        decode(b.subarray(0, n));
        assert.equal(n, b.length, 'only the whole encoding decodes');
      } catch (e) {
        assert.ok(e instanceof ShortInput, 'a truncated value is short input');
      }
    }), { seed, numRuns: 500 });
  });

  test(`random text and truncations give only DecodeError to the text reader (seed ${seed})`, () => {
    const alphabet = fc.constantFrom(...'<>[]{}#:"|@;, \n\t\\abxdtf0123456789.-+e!=?$_u'.split(''));
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 40 }), (cs) => onlyDecodeErrors(() => parse(cs.join('')))), { seed, numRuns: 3000 });
    fc.assert(fc.property(fc.string({ maxLength: 40, unit: 'binary' }), (s) => onlyDecodeErrors(() => parse(s))), { seed, numRuns: 1000 });
    fc.assert(fc.property(arbValue, fc.nat(), (v, cut) => {
      const s = stringify(v);
      onlyDecodeErrors(() => parse(s.slice(0, cut % (s.length + 1))));
    }), { seed, numRuns: 500 });
  });
}

test('deeply nested input of every compound kind is a DecodeError, not a stack overflow', () => {
  for (const open of ['[', '<a ', '#{', '{a: ', '#:', '@a ']) {
    onlyDecodeErrors(() => parse(open.repeat(50000)));
    assert.throws(() => parse(open.repeat(50000)), DecodeError);
  }
  for (const tag of [0xb5, 0xb4, 0xb6, 0xb7, 0x86, 0x85]) {
    assert.throws(() => decode(new Uint8Array(100000).fill(tag)), DecodeError);
  }
});
