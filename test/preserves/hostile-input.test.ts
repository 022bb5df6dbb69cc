// Regression tests for the hostile inputs of issue 10 that reach the codec: huge integers and
// deeply nested sets. Each ran for seconds to minutes before (quadratic integers, canonical
// encoding exponential in the nesting); a regression shows up as a timeout of these tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Value, KeyedSet, Dictionary, Embedded, EncodeError, DecodeError, MAX_TEXT_INTEGER_DIGITS, annotate, record,
  bigintFromBytes, bigintToBytes, compare, decode, encode, is, parse, stringify, valueKey,
} from '../../src/preserves/index.ts';

const LIMIT = { timeout: 120_000 };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A binary SignedInteger of exactly `n` content bytes: first byte `first`, then a pattern. */
function binaryInteger(n: number, first: number): Uint8Array {
  const lenBytes: number[] = [];
  for (let x = n; ; x = Math.floor(x / 128)) {
    lenBytes.push(x & 0x7f);
    if (x < 128) break;
  }
  const varint = lenBytes.map((b, i) => (i < lenBytes.length - 1 ? b | 0x80 : b));
  const out = new Uint8Array(1 + varint.length + n);
  out[0] = 0xb0;
  out.set(varint, 1);
  const body = out.subarray(1 + varint.length);
  for (let i = 0; i < n; i++) body[i] = (i * 131 + 7) & 0xff;
  body[0] = first;
  return out;
}

test('a 300 KB binary integer decodes to the right value and encodes back to the same bytes', LIMIT, () => {
  for (const first of [0x12, 0xa5]) {
    const b = binaryInteger(300_000, first);
    const v = decode(b) as bigint;
    assert.equal(typeof v, 'bigint');
    const body = b.subarray(b.length - 300_000);
    const unsigned = BigInt('0x' + hex(body));
    assert.equal(v, first >= 0x80 ? unsigned - (1n << 2_400_000n) : unsigned);
    assert.equal(v < 0n, first >= 0x80);
    assert.equal(hex(encode(v)), hex(b));
  }
});

test('integers at the byte-length boundaries encode minimally and round-trip', () => {
  const cases: bigint[] = [];
  for (let bits = 40n; bits <= 200n; bits += 8n) {
    const p = 1n << bits;
    cases.push(p, p - 1n, -p, -p - 1n, -p + 1n, (p >> 1n), -(p >> 1n), -(p >> 1n) - 1n);
  }
  for (const v of cases) {
    const b = bigintToBytes(v);
    assert.equal(bigintFromBytes(b), v);
    // Minimal: dropping the first byte would change the value or the sign.
    if (b.length > 1) assert.ok(!((b[0] === 0 && b[1] < 0x80) || (b[0] === 0xff && b[1] >= 0x80)), `${v} is minimal`);
    assert.ok(is(decode(encode(v)), v));
  }
  assert.equal(hex(bigintToBytes(-1n)), 'ff');
  assert.equal(hex(bigintToBytes(-128n)), '80');
  assert.equal(hex(bigintToBytes(-129n)), 'ff7f');
  assert.equal(hex(bigintToBytes(128n)), '0080');
  assert.equal(hex(bigintToBytes(0n)), '00');
});

test('a 1 000 000-digit integer: text read, binary encode and decode, text write', LIMIT, () => {
  const digits = '9876543210'.repeat(100_000);
  for (const text of [digits, '-' + digits]) {
    const v = parse(text) as bigint;
    assert.equal(typeof v, 'bigint');
    const b = encode(v);
    assert.ok(b.length > 415_000 && b.length < 416_000, `${b.length} bytes`);
    assert.equal(decode(b), v);
    assert.equal(stringify(v), text);
  }
});

test('text refuses integers longer than MAX_TEXT_INTEGER_DIGITS, both ways, with typed errors', LIMIT, () => {
  const long = '7'.repeat(MAX_TEXT_INTEGER_DIGITS + 1);
  assert.throws(() => parse('[1 ' + long + ']'), (e) => e instanceof DecodeError && /digits/.test(e.message) && e.pos?.column === 4);
  const huge = decode(binaryInteger(1 << 20, 0x40)); // a 1 MB binary integer: 2.5 million digits
  assert.throws(() => stringify(huge), EncodeError);
  assert.throws(() => stringify([1, huge], { indent: 2 }), EncodeError);
  assert.equal(parse('7'.repeat(MAX_TEXT_INTEGER_DIGITS)), BigInt('7'.repeat(MAX_TEXT_INTEGER_DIGITS)));
});

/** Sets nested `depth` deep, two members per level, as in the issue: `#{#{... k} k}`. */
function nestedSets(depth: number): Value {
  let v: Value = new KeyedSet([0]);
  for (let d = 1; d < depth; d++) v = new KeyedSet<unknown>([v, d]);
  return v;
}

test('24-deep nested sets encode, decode, compare and print; so do 500-deep ones', LIMIT, () => {
  for (const depth of [24, 500]) {
    const v = nestedSets(depth);
    const b = encode(v);
    if (depth === 24) assert.ok(b.length < 200, `${b.length} bytes`);
    const back = decode(b);
    assert.ok(is(back, v));
    assert.equal(compare(back, v), 0);
    assert.equal(valueKey(back), valueKey(v));
    assert.ok(is(parse(stringify(v)), v));
    assert.ok(is(parse(stringify(v, { indent: 2 })), v));
    // Annotated canonical output sorts by the stripped encoding: same bytes here.
    assert.equal(hex(encode(v, { includeAnnotations: true })), hex(b));
  }
});

test('nested dictionaries whose keys are nested sets encode canonically once per member', LIMIT, () => {
  let v: Value = new Dictionary([[0, 0]]);
  for (let d = 1; d < 300; d++) v = new Dictionary<unknown>([[nestedSets(3), v], [d, v instanceof Dictionary ? d : 0]]);
  const back = decode(encode(v));
  assert.ok(is(back, v));
  assert.equal(hex(encode(back)), hex(encode(v)));
});

test('comparing nested sets that differ only at the bottom stays linear', LIMIT, () => {
  const a = nestedSets(400);
  let b: Value = new KeyedSet([1]);
  for (let d = 1; d < 400; d++) b = new KeyedSet<unknown>([b, d]);
  assert.ok(compare(a, b) < 0);
  assert.ok(compare(b, a) > 0);
  assert.ok(!is(a, b));
});

test('values nested as deep as the readers accept go through every operation without a stack overflow', LIMIT, () => {
  const depth = 998;
  const makers: [string, (inner: Value, d: number) => Value][] = [
    ['set', (x, d) => new KeyedSet<unknown>([x, d])],
    ['dictionary key', (x, d) => new Dictionary<unknown>([[x, d], [d, 'v']])],
    ['dictionary value', (x, d) => new Dictionary<unknown>([[d, x], ['k', d]])],
    ['sequence', (x, d) => [d, x]],
    ['record', (x, d) => record('r', x, d)],
    ['embedded', (x) => Embedded.generic(x)],
    ['annotated', (x, d) => annotate(x, d)],
  ];
  for (const [kind, make] of makers) {
    let v: Value = 0;
    for (let d = 1; d < depth; d++) v = make(v, d);
    const t0 = performance.now();
    const b = encode(v, { includeAnnotations: true });
    const back = decode(b, { includeAnnotations: true });
    assert.ok(is(back, v), kind);
    assert.equal(compare(back, v), 0, kind);
    assert.equal(valueKey(back), valueKey(v), kind);
    assert.ok(hex(encode(back, { includeAnnotations: true })) === hex(b), kind);
    const text = stringify(v);
    assert.ok(is(parse(text), v), kind);
    assert.ok(is(parse(stringify(v, { indent: 2 })), v), kind);
    console.log(`${kind} ${depth} deep: ${Math.round(performance.now() - t0)} ms`);
  }
});

test('1 MB of sets nested 1000 deep decodes and encodes in time proportional to its size', LIMIT, () => {
  const chains: Value[] = [];
  for (let i = 0; i < 60; i++) chains.push(nestedSets(999));
  const b = encode(chains);
  assert.ok(b.length > 300_000);
  const back = decode(b);
  assert.ok(is(back, chains));
  assert.equal(hex(encode(back)), hex(b));
});
