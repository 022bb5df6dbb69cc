// Sturdy refs (spec §5.1): the HMAC-BLAKE2s-128 chain, the spec's vectors, validation, caveats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Embedded, canonicalEncode, encodeBase64, is, parse, stringify, type Value } from '../../src/preserves/index.ts';
import {
  SturdyRefError, attenuateSturdyRef, mintSturdyRef, parseSturdyDescription, parseSturdyRef, sturdyCaveats,
  sturdyDescriptionToValue, sturdyMac, sturdyRefFor, sturdyRefToValue, sturdySignature, validateSturdyRef,
  type SturdyRef,
} from '../../src/relay/sturdy.ts';
import { applyAttenuation } from '../../src/bus/rewrite.ts';
import type { Assertion, Ref } from '../../src/bus/ref.ts';

const v = (s: string): Value => parse(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

test("Node's blake2s256 is BLAKE2s-256 (RFC 7693 appendix B vector)", () => {
  assert.equal(createHash('blake2s256').update('abc').digest('hex'),
    '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
});

test('spec vector: empty key, oid "syndicate"', () => {
  const ref = mintSturdyRef(new Uint8Array(0), v('"syndicate"'));
  assert.equal(hex(ref.sig), '69ca300c1dbfa08fba692102dd82311a');
  // The spec's byte layout of the default sturdy ref.
  const expected = Uint8Array.from([
    0xb4, 0xb3, 0x03, ...utf8('ref'), 0xb7, 0xb3, 0x03, ...utf8('oid'), 0xb1, 0x09, ...utf8('syndicate'),
    0xb3, 0x03, ...utf8('sig'), 0xb2, 0x10, ...Buffer.from('69ca300c1dbfa08fba692102dd82311a', 'hex'), 0x84, 0x84,
  ]);
  assert.deepEqual(canonicalEncode(sturdyRefToValue(ref)), expected);
  assert.ok(validateSturdyRef(ref, new Uint8Array(0)));
});

test('spec vectors: key "hello", oid a-service, then one caveat', () => {
  const key = utf8('hello');
  const plain = mintSturdyRef(key, v('a-service'));
  assert.equal(b64(plain.sig), 'JTTGQeYCgohMXW/2S2XH8g==');
  const caveat = v('<rewrite <bind <_>> <rec labelled [<lit "alice"> <ref 0>]>>');
  assert.equal(b64(mintSturdyRef(key, v('a-service'), [caveat]).sig), 'CXn7+rAoO3Xr6Y6Laap3OA==');
  // Attenuating without the key continues the chain to the same signature.
  const att = attenuateSturdyRef(plain, [caveat]);
  assert.equal(b64(att.sig), 'CXn7+rAoO3Xr6Y6Laap3OA==');
  assert.ok(validateSturdyRef(att, key));
  assert.equal(encodeBase64(sturdySignature(key, v('a-service'), [caveat])), 'CXn7+rAoO3Xr6Y6Laap3OA==');
});

test('the chain is f(f(f(key, oid), c1), c2) with 16-byte links', () => {
  const key = utf8('k');
  const c1 = v('<reject <lit 1>>');
  const c2 = v('<reject <lit 2>>');
  const manual = sturdyMac(sturdyMac(sturdyMac(key, canonicalEncode(v('svc'))), canonicalEncode(c1)), canonicalEncode(c2));
  assert.equal(manual.length, 16);
  const ref = mintSturdyRef(key, v('svc'), [c1, c2]);
  assert.deepEqual(ref.sig, manual);
  assert.deepEqual(attenuateSturdyRef(attenuateSturdyRef(mintSturdyRef(key, v('svc')), [c1]), [c2]).sig, manual);
  // Order matters: the same caveats the other way round sign differently.
  assert.notDeepEqual(mintSturdyRef(key, v('svc'), [c2, c1]).sig, manual);
  // Canonical encoding: dictionary key order in the source does not change the signature.
  assert.deepEqual(mintSturdyRef(key, v('{b: 2, a: 1}')).sig, mintSturdyRef(key, v('{a: 1, b: 2}')).sig);
});

test('tampering fails validation', () => {
  const key = utf8('hello');
  const ref = attenuateSturdyRef(mintSturdyRef(key, v('a-service')), [v('<reject <lit secret>>')]);
  assert.ok(validateSturdyRef(ref, key));
  const flipped = new Uint8Array(ref.sig);
  flipped[0] ^= 1;
  assert.equal(validateSturdyRef({ ...ref, sig: flipped }, key), false, 'flipped signature bit');
  assert.equal(validateSturdyRef(ref, utf8('hellp')), false, 'wrong key');
  assert.equal(validateSturdyRef({ ...ref, oid: v('b-service') }, key), false, 'other oid');
  assert.equal(validateSturdyRef({ ...ref, caveats: [] }, key), false, 'caveat stripped');
  assert.equal(validateSturdyRef({ ...ref, sig: ref.sig.subarray(0, 15) }, key), false, 'short signature');
  assert.equal(validateSturdyRef({ ...ref, caveats: [v('<reject <lit public>>')] }, key), false, 'caveat replaced');
});

test('parse and print <ref {oid sig [caveats]}>', () => {
  const key = utf8('hello');
  const ref = attenuateSturdyRef(mintSturdyRef(key, v('a-service')), [v('<reject <_>>')]);
  const text = stringify(sturdyRefToValue(ref));
  assert.match(text, /^<ref \{caveats: \[<reject <_>>\], oid: a-service, sig: #x"[0-9a-f]{32}"\}>$/);
  const back = parseSturdyRef(v(text));
  assert.ok(is(back.oid, ref.oid) && back.caveats.length === 1 && validateSturdyRef(back, key));
  const noCaveats = stringify(sturdyRefToValue(mintSturdyRef(new Uint8Array(0), v('"syndicate"'))));
  assert.ok(!noCaveats.includes('caveats'));
  // The config files' form, with extra keys ignored.
  const cfg = parseSturdyRef(v('<ref {oid: "syndicate" sig: #x"69ca300c1dbfa08fba692102dd82311a" note: 1}>'));
  assert.ok(validateSturdyRef(cfg, new Uint8Array(0)));
});

test('a non-sequence caveats field parses but never validates', () => {
  const sig = mintSturdyRef(new Uint8Array(0), v('"syndicate"')).sig;
  const ref = parseSturdyRef(v('<ref {oid: "syndicate" sig: #[' + encodeBase64(sig) + '] caveats: 5}>'));
  assert.ok(ref.invalidCaveats !== undefined);
  assert.equal(validateSturdyRef(ref, new Uint8Array(0)), false);
  assert.ok(is(sturdyRefToValue(ref), v('<ref {oid: "syndicate" sig: #[' + encodeBase64(sig) + '] caveats: 5}>')));
  assert.throws(() => attenuateSturdyRef(ref, []), SturdyRefError);
});

test('malformed sturdy refs are SturdyRefErrors', () => {
  const cases: [string, RegExp][] = [
    ['<noise {}>', /must be <ref \{…\}>/],
    ['<ref {oid: 1} extra>', /must be <ref \{…\}>/],
    ['<ref [1 2]>', /detail must be a dictionary/],
    ['<ref {sig: #""}>', /lacks oid/],
    ['<ref {oid: 1}>', /lacks sig/],
    ['<ref {oid: 1 sig: "abc"}>', /sig must be a byte string/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseSturdyRef(v(text)), (e: unknown) => e instanceof SturdyRefError && re.test(e.message), text);
  }
  assert.throws(() => mintSturdyRef(new Uint8Array(0), v('x'), [v('<rewrite <_> <ref 0>>')]), /caveat 0: /);
});

test('an oid holding an embedded has no valid signature', () => {
  const ref: SturdyRef = { oid: Embedded.generic([0, 1]) as Value, caveats: [], sig: new Uint8Array(16) };
  // Generic embeddeds encode; a payload with no encoder does not, and simply fails validation.
  assert.equal(validateSturdyRef(ref, new Uint8Array(0)), false);
  const opaque: SturdyRef = { oid: [new Embedded({})] as Value, caveats: [], sig: new Uint8Array(16) };
  assert.equal(validateSturdyRef(opaque, new Uint8Array(0)), false);
});

test('bind descriptions <ref {oid key}> and the ref they yield', () => {
  const desc = { oid: v('a-service'), key: utf8('hello') };
  const text = stringify(sturdyDescriptionToValue(desc));
  assert.equal(text, '<ref {key: #"hello", oid: a-service}>');
  const back = parseSturdyDescription(v(text));
  assert.ok(is(back.oid, desc.oid) && Buffer.from(back.key).equals(Buffer.from(desc.key)));
  assert.equal(b64(sturdyRefFor(back).sig), 'JTTGQeYCgohMXW/2S2XH8g==');
  assert.throws(() => parseSturdyDescription(v('<ref {oid: x key: 5}>')), /key must be a byte string/);
});

test('caveats compile in stored order and apply right to left', () => {
  // Stored left to right: first rename Says→Heard, then (applied first) only pass <Says _ _>.
  const ref = mintSturdyRef<Ref>(utf8('k'), 'svc', [
    v('<rewrite <rec Says [<bind <_>> <bind <_>>]> <rec Heard [<ref 0> <ref 1>]>>') as Assertion,
    v('<rewrite <bind <rec Says [<_> <_>]>> <ref 0>>') as Assertion,
  ]);
  const cs = sturdyCaveats(ref);
  assert.equal(cs.length, 2);
  const out = applyAttenuation(cs, v('<Says "a" "hi">') as Assertion);
  assert.ok(out !== undefined && is(out, v('<Heard "a" "hi">')));
  assert.equal(applyAttenuation(cs, v('<Other 1>') as Assertion), undefined);
});
