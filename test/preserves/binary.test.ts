import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BinaryReader, BinaryWriter, DecodeError, EncodeError, decode, decodeAll, encode, is, parse, record, Double, Bytes,
} from '../../src/preserves/index.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('integers use minimal two\'s complement', () => {
  const cases: [number | bigint, string][] = [
    [0, 'b000'], [1, 'b00101'], [127, 'b0017f'], [128, 'b0020080'], [-128, 'b00180'], [-129, 'b002ff7f'],
    [2500000000, 'b0050095 02f900'], [2n ** 64n, 'b009010000000000000000'], [-(2n ** 63n), 'b0088000000000000000'],
  ];
  for (const [v, h] of cases) {
    assert.equal(toHex(encode(v)), h.replace(/\s/g, ''), String(v));
    assert.ok(is(decode(hex(h)), v));
  }
});

test('strict reader rejects non-current and non-minimal forms', () => {
  for (const bad of ['b00100', 'b002007f', 'b002ff80', '8704 00000000', '82', '91', 'a0', 'b3 8000', 'b4 84', 'b1 01 ff']) {
    assert.throws(() => decode(hex(bad)), (e: unknown) => e instanceof DecodeError && !(e.name === 'ShortInput'), bad);
  }
});

test('the streaming reader says "need more bytes" without losing what it has', () => {
  const bytes = encode(parse('[<service-state <daemon x> ready> "hello" 12345678901234567890]'));
  const stream = new Uint8Array([...bytes, ...encode(record('b', 1))]);
  const r = new BinaryReader();
  const got = [];
  for (let i = 0; i < stream.length; i++) {
    r.write(stream.subarray(i, i + 1));
    const v = r.next();
    if (v !== undefined) got.push(v);
  }
  assert.equal(got.length, 2);
  assert.ok(is(got[0], decode(bytes)));
  assert.ok(is(got[1], record('b', 1)));
  assert.ok(r.atEnd());
});

test('stream form is a plain concatenation', () => {
  const b = new Uint8Array([...encode(1), ...encode('x'), ...encode(new Double(2))]);
  assert.ok(is(decodeAll(b), [1, 'x', new Double(2)]));
  assert.throws(() => decode(b), /trailing/);
});

test('lone surrogates cannot be encoded', () => {
  assert.throws(() => encode('a\uD800b'), EncodeError);
  assert.equal(toHex(encode('\u{1D11E}')), 'b104f09d849e');
});

test('deep nesting is an error, not a stack overflow', () => {
  const deep = new Uint8Array(200000).fill(0xb5);
  assert.throws(() => decode(deep), DecodeError);
});

test('byte strings and NaN payloads survive a round trip', () => {
  const nan = decode(hex('87 08 7ff8 0000 0000 0123'));
  assert.equal(toHex(encode(nan)), '87087ff8000000000123');
  assert.ok(is(decode(encode(new Bytes([0, 255]))), new Bytes([0, 255])));
});

test('short strings and symbols written across a buffer boundary stay intact', () => {
  // Regression: the ASCII fast path kept a stale buffer when the length varint grew it.
  for (let pad = 0; pad < 300; pad++) {
    const v = ['x'.repeat(pad), Symbol.for('ab'), 'cd', Symbol.for('e')];
    const w = new BinaryWriter({}, 64);
    w.write(v as never);
    assert.deepEqual(decode(w.contents()), v, `pad ${pad}`);
  }
});
