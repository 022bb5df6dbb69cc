import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Annotated, DecodeError, Double, EndOfInput, ShortInput, TextReader, is, parse, parseAll, positionOf,
  record, stringify, sym, peel, Record,
} from '../../src/preserves/index.ts';

function errorOf(f: () => unknown): DecodeError {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  assert.fail('expected a DecodeError');
}

test('syntax errors name line and column', () => {
  const e = errorOf(() => parse('[1 2\n  3 }', { name: 'f.pr' }));
  assert.equal(e.pos?.line, 2);
  assert.equal(e.pos?.column, 5);
  assert.match(e.message, /^f\.pr:2:5: /);
});

test('short input after a partial value is ShortInput, with a position', () => {
  const e = errorOf(() => parse('<a'));
  assert.ok(e instanceof ShortInput && !(e instanceof EndOfInput));
  assert.equal(e.pos?.line, 1);
  assert.equal(e.pos?.column, 3);
  assert.ok(errorOf(() => parse('')) instanceof EndOfInput);
});

test('values can carry their source position', () => {
  const v = parse('<a\n  <b 1>>', { positions: true });
  assert.ok(v instanceof Annotated);
  assert.deepEqual(positionOf(v), { line: 1, column: 1, offset: 0 });
  const inner = (peel(v) as Record).fields[0];
  assert.equal(positionOf(inner)?.line, 2);
  assert.equal(positionOf(inner)?.column, 3);
  assert.ok(is(v, parse('<a <b 1>>')));
});

test('bare words classify as integers, doubles or symbols', () => {
  assert.ok(is(parse('[01 -0 +5 1.5 1e3 1-2 +1.x 1. .5 1.5f inf true]'), [
    1, 0, 5, new Double(1.5), new Double(1000), sym('1-2'), sym('+1.x'), sym('1.'), sym('.5'), sym('1.5f'), sym('inf'), sym('true'),
  ]));
  assert.ok(is(parse('123456789012345678901234567890'), 123456789012345678901234567890n));
});

test('commas are separators in collections only', () => {
  assert.ok(is(parse('[,1,,2,]'), [1, 2]));
  assert.throws(() => parse('<a, b>'), DecodeError);
  assert.throws(() => parse('{a:, 1}'), DecodeError);
});

test('comments and @ annotations attach to the next value and are dropped by default', () => {
  const src = '# a comment\n<service # inner\n @doc x>';
  assert.ok(is(parse(src), record('service', sym('x'))));
  const withAnns = parse(src, { includeAnnotations: true });
  assert.ok(withAnns instanceof Annotated);
  assert.deepEqual(withAnns.annotations, ['a comment']);
  assert.equal(stringify(withAnns), '@"a comment" <service @"inner" @doc x>');
});

test('comments before a closer or at the end of input annotate nothing and are allowed', () => {
  assert.ok(is(parse('[1 # last\n]'), [1]));
  assert.deepEqual(parseAll('a b\n# trailing comment\n'), [sym('a'), sym('b')]);
  assert.throws(() => parse('[1 @x]'), DecodeError, 'an @ annotation needs a value');
});

test('many values per stream', () => {
  const r = new TextReader('1 "two" <three>');
  assert.equal(r.next(), 1);
  assert.equal(r.next(), 'two');
  assert.ok(is(r.next()!, record('three')));
  assert.equal(r.next(), undefined);
  assert.throws(() => parse('1 2'), /more than one value/);
});

test('the writer reads back: compact and indented', () => {
  const src = '<service-state <daemon "a b"> ready> [|1| || |a b| "q\\"\\n" #"\\x00x" #xd"7ff0000000000000" -0.0 1.0 1e+21] {k: #{1 2}, |x y|: #:[1]}';
  for (const v of parseAll(src)) {
    assert.ok(is(parse(stringify(v)), v), stringify(v));
    assert.ok(is(parse(stringify(v, { indent: 2, width: 10 })), v));
  }
  assert.equal(stringify(parse('[1 [2 3] {a: b}]'), { indent: 2, width: 8 }), '[\n  1\n  [2 3]\n  {a: b}\n]');
});

test('strict string escapes and surrogates', () => {
  assert.equal(parse('"\\uD834\\uDD1E"'), '\u{1D11E}');
  assert.throws(() => parse('"\\x41"'), DecodeError);
  assert.throws(() => parse('"\\|"'), DecodeError);
  assert.equal(peel(parse('|a\\|b|')), sym('a|b'));
});

test('deep nesting is an error, not a stack overflow', () => {
  assert.throws(() => parse('['.repeat(100000) + ']'.repeat(100000)), DecodeError);
  assert.ok(is(parse('['.repeat(500) + ']'.repeat(500)), parse('['.repeat(500) + ']'.repeat(500))));
});
