// Caveats on refs: rewrite, reject, alternatives, exact arity, right-to-left application.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, record } from '../../src/preserves/index.ts';
import { C, Caveat, CaveatError, attenuate } from '../../src/bus/rewrite.ts';
import type { Assertion, Ref } from '../../src/bus/ref.ts';
import { boot, inTurn, show } from './harness.ts';

const v = (s: string): Assertion => parse(s) as Assertion;

/** An entity that logs what reaches it, and an actor to send from. */
async function setup() {
  const got: string[] = [];
  let target!: Ref;
  await boot('target', (t) => {
    target = t.ref({
      assert: (_t, x) => void got.push('+' + show(x)),
      message: (_t, x) => void got.push('!' + show(x)),
    });
  });
  const main = (await boot('main')).root;
  return { got, target, main };
}

test('accept passes only exact-arity matches', async () => {
  const { got, target, main } = await setup();
  const r = attenuate(target, C.accept(v('<rec Says [<_> <_>]>')));
  await inTurn(main, (t) => {
    t.assert(r, v('<Says "a" "hi">'));
    t.assert(r, v('<Says "a" "hi" "extra">'));
    t.message(r, v('<Other 1 2>'));
  });
  assert.deepEqual(got, ['+<Says "a" "hi">']);
});

test('rewrite replaces matches by its template; reject drops matches only', async () => {
  const { got, target, main } = await setup();
  const rw = attenuate(target, C.rewrite(v('<rec Says [<bind <_>> <bind String>]>'), v('<rec Heard [<ref 1> <lit "by proxy">]>')));
  const rj = attenuate(target, C.reject(v('<rec secret [<_>]>')));
  await inTurn(main, (t) => {
    t.message(rw, v('<Says "a" "hi">'));
    t.message(rw, v('<Says "a" 5>'));
    t.message(rj, v('<secret 1>'));
    t.message(rj, v('<public 1>'));
  });
  assert.deepEqual(got, ['!<Heard "hi" "by proxy">', '!<public 1>']);
});

test('or uses the first alternative that matches', async () => {
  const { got, target, main } = await setup();
  const r = attenuate(target, C.or(
    C.rewrite(v('<rec a [<bind <_>>]>'), v('<rec first [<ref 0>]>')),
    C.rewrite(v('<rec a [<bind <_>>]>'), v('<rec second [<ref 0>]>')),
    C.accept(v('<rec b [<_>]>')),
  ));
  await inTurn(main, (t) => {
    t.message(r, v('<a 1>'));
    t.message(r, v('<b 2>'));
    t.message(r, v('<c 3>'));
  });
  assert.deepEqual(got, ['!<first 1>', '!<b 2>']);
});

test('caveats apply right to left, and attenuating again appends', async () => {
  const { got, target, main } = await setup();
  const inner = attenuate(target, C.rewrite(v('<rec x [<bind <_>>]>'), v('<rec y [<ref 0>]>')));
  const outer = attenuate(inner, C.rewrite(v('<rec w [<bind <_>>]>'), v('<rec x [<ref 0>]>')));
  await inTurn(main, (t) => {
    t.message(outer, v('<w 1>'));
    t.message(outer, v('<x 2>'));
  });
  // <w 1> → (last caveat) <x 1> → (first) <y 1>; <x 2> fails the last caveat and is dropped.
  assert.deepEqual(got, ['!<y 1>']);
});

test('malformed caveats are refused with an error; unknown forms reject everything', () => {
  assert.throws(() => C.rewrite(v('<rec a [<bind <_>>]>'), v('<ref 3>')), CaveatError);
  assert.throws(() => C.rewrite(v('<rec a 5>'), v('<lit 1>')), CaveatError);
  assert.equal(Caveat.from(v('<future-caveat>')).apply(record('a')), undefined);
});
