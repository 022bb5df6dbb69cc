import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Bytes, Dictionary, Double, Embedded, KeyedSet, Record, compare, hash, is, parse, record, sym, valueKey,
  stringify, annotate, strip, canonicalEncode,
} from '../../src/preserves/index.ts';

test('a double is never equal to an integer', () => {
  assert.equal(is(new Double(1), 1), false);
  assert.equal(is(parse('1.0'), parse('1')), false);
  assert.ok(compare(new Double(100), 1) < 0, 'Double ranks below SignedInteger whatever the magnitude');
});

test('integers compare by value whether number or bigint', () => {
  assert.ok(is(5, 5n));
  assert.equal(valueKey(5), valueKey(5n));
  assert.ok(compare(2n ** 70n, 3) > 0);
  assert.ok(compare(-(2n ** 70n), -3) < 0);
});

test('-0.0 and +0.0 are different doubles; NaN payloads are distinct', () => {
  assert.equal(is(new Double(-0), new Double(0)), false);
  assert.ok(compare(new Double(-0), new Double(0)) < 0);
  const a = parse('#xd"7ff8000000000001"'), b = parse('#xd"7ff8000000000002"');
  assert.equal(is(a, b), false);
  assert.ok(compare(a, b) < 0);
  assert.ok(compare(parse('#xd"fff8000000000000"'), new Double(-Infinity)) < 0, 'negative NaNs sort first');
});

test('strings, byte strings and symbols are different kinds', () => {
  assert.equal(is('a', sym('a')), false);
  assert.equal(is('a', Bytes.fromUtf8('a')), false);
  assert.deepEqual([sym('a'), 'a', Bytes.fromUtf8('a')].sort(compare), ['a', Bytes.fromUtf8('a'), sym('a')]);
});

test('strings order by scalar value, not UTF-16 code unit', () => {
  // U+FFFD is below U+1F600 even though its code unit is above the surrogate.
  assert.ok(compare('\uFFFD', '\u{1F600}') < 0);
  assert.ok(compare('a', 'ab') < 0);
});

test('kinds rank as the spec says', () => {
  const ordered = parse('[#f 1.5 1 "s" #"b" sym <r> [] #{} {} #:0]') as unknown[];
  for (let i = 1; i < ordered.length; i++) assert.ok(compare(ordered[i - 1] as never, ordered[i] as never) < 0, `rank ${i}`);
});

test('records compare by label then fields; shorter prefix first', () => {
  assert.ok(compare(parse('<a 1>'), parse('<a 1 2>')) < 0);
  assert.ok(compare(parse('<a 2>'), parse('<b 1>')) < 0);
  assert.ok(is(parse('<a 1 [2]>'), record('a', 1, [2])));
});

test('dictionary keys and set members compare by Preserves equality', () => {
  const d = new Dictionary();
  d.set(parse('<k 1>'), 'one');
  assert.equal(d.get(record('k', 1)), 'one');
  assert.equal(d.get(record('k', new Double(1))), undefined);
  const s = new KeyedSet([[1, 2], [1, 2], [1n, 2n]]);
  assert.equal(s.size, 1);
  assert.ok(is(parse('{a: 1, b: 2}'), parse('{b: 2, a: 1}')));
  assert.ok(is(parse('#{1 2 3}'), parse('#{3 2 1}')));
});

test('sets and dictionaries order by their sorted contents', () => {
  assert.ok(compare(parse('#{1 2}'), parse('#{1 3}')) < 0);
  assert.ok(compare(parse('{a: 1}'), parse('{a: 2}')) < 0);
  assert.ok(compare(parse('{a: 9}'), parse('{b: 1}')) < 0);
});

test('embedded values: generic ones by value, others by identity', () => {
  assert.ok(is(parse('#:[1]'), parse('#:[1]')));
  const o1 = {}, o2 = {};
  assert.ok(is(new Embedded(o1), new Embedded(o1)));
  assert.equal(is(new Embedded(o1), new Embedded(o2)), false);
  assert.notEqual(valueKey(new Embedded(o1)), valueKey(new Embedded(o2)));
  assert.equal(Math.sign(compare(new Embedded(o1), new Embedded(o2))), -Math.sign(compare(new Embedded(o2), new Embedded(o1))));
});

test('annotations do not affect equality, order or hash; strip removes them', () => {
  const a = annotate(record('x', annotate(1, 'note')), 'outer');
  assert.ok(is(a, record('x', 1)));
  assert.equal(hash(a), hash(record('x', 1)));
  assert.equal(compare(a, record('x', 1)), 0);
  assert.equal(stringify(strip(a)), '<x 1>');
  assert.equal(stringify(a), '@"outer" <x @"note" 1>');
});

test('hash is consistent with equality', () => {
  const vs = parse('[1 1.0 "1" |1| #"1" [1] <1> {1: 1} #{1} -0.0 0.0]') as never[];
  const keys = new Set(vs.map((v) => valueKey(v)));
  assert.equal(keys.size, vs.length, 'distinct values get distinct keys');
  assert.equal(hash(parse('{a: [1 2], b: #{x y}}')), hash(parse('{b: #{y x}, a: [1 2]}')));
});

test('canonical encoding sorts set members and dictionary keys by their encodings', () => {
  const bytes = canonicalEncode(parse('#{2 1 "b" a}'));
  assert.equal(Buffer.from(bytes).toString('hex'), 'b6b00101b00102b10162b3016184');
  assert.ok(Record.prototype.hasLabel.call(record('a'), 'a'));
});
