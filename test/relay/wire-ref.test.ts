// WireRefs (spec §6.4): `[0 OID]` mine, `[1 OID CAVEAT …]` yours, and malformed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { is, parse, type Value } from '../../src/preserves/index.ts';
import { WireRefError, mine, parseWireRef, wireRefToValue, yours } from '../../src/relay/wire-ref.ts';
import { C } from '../../src/bus/rewrite.ts';
import type { Assertion } from '../../src/bus/ref.ts';

const v = (s: string): Value<any> => parse(s);

test('mine and yours parse and re-encode', () => {
  assert.deepEqual(parseWireRef(v('[0 5]')), mine(5));
  const y = parseWireRef(v('[1 3]'));
  assert.deepEqual(y, yours(3));
  assert.ok(is(wireRefToValue(mine(5)), v('[0 5]')));
  assert.ok(is(wireRefToValue(yours(3)), v('[1 3]')));
});

test('yours carries caveats compiled through Caveat.from', () => {
  const text = '[1 2 <rewrite <bind <_>> <ref 0>> <reject <lit secret>>]';
  const w = parseWireRef(v(text));
  assert.ok(w.kind === 'yours');
  if (w.kind !== 'yours') return;
  assert.equal(w.caveats.length, 2);
  assert.equal(w.caveats[1].apply(parse('secret') as Assertion), undefined);
  assert.ok(is(w.caveats[1].apply(parse('public') as Assertion)!, parse('public')));
  assert.ok(is(wireRefToValue(w), v(text)));
  assert.ok(is(wireRefToValue(yours(4, [C.reject(parse('<_>') as Assertion)])), v('[1 4 <reject <_>>]')));
});

test('an unknown caveat form is kept and rejects everything', () => {
  const w = parseWireRef(v('[1 0 <frobnicate>]'));
  assert.ok(w.kind === 'yours' && w.caveats[0].apply(1) === undefined);
});

test('malformed wire refs are WireRefErrors', () => {
  const cases: [string, RegExp][] = [
    ['5', /must be \[0 OID\] or \[1 OID CAVEAT …\]/],
    ['[0]', /must be \[0 OID\]/],
    ['[2 1]', /must start with 0 \(mine\) or 1 \(yours\)/],
    ['[0 -1]', /oid must be a non-negative integer/],
    ['[1 "x"]', /oid must be a non-negative integer/],
    ['[0 1 <reject <_>>]', /takes no caveats/],
    ['[1 1 <rewrite <_> <ref 0>>]', /caveat 0: /],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseWireRef(v(text)), (e: unknown) => e instanceof WireRefError && re.test(e.message), text);
  }
});
