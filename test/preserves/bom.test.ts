// U+FEFF at the start of a string or symbol is content, not a byte-order mark: both readers keep
// it, over explicit cases and over every string and symbol of the conformance suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  type Value, Annotated, Dictionary, KeyedSet, Record, BinaryReader, decode, encode, parse, stringify, is,
} from '../../src/preserves/index.ts';

const BOM = '\ufeff';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

test('binary b1 03 ef bb bf reads as "\\ufeff", not ""; the symbol likewise', () => {
  assert.equal(decode(bytes('b103efbbbf')), BOM);
  assert.equal(decode(bytes('b106efbbbf626f6d')), BOM + 'bom');
  assert.equal(decode(bytes('b303efbbbf')), Symbol.for(BOM));
  assert.equal(decode(bytes('b306efbbbf626f6d')), Symbol.for(BOM + 'bom'));
  // Only the first U+FEFF of a decode call could be eaten; a second string must keep it too.
  const r = new BinaryReader(bytes('b103efbbbf' + 'b104efbbbf78'));
  assert.equal(r.read(), BOM);
  assert.equal(r.read(), BOM + 'x');
});

test('U+FEFF-led strings and symbols round-trip through binary and text', () => {
  const values: Value[] = [BOM, BOM + 'bom', BOM + BOM, Symbol.for(BOM), Symbol.for(BOM + 'x'), ['a', BOM + 'b'], new Record(Symbol.for(BOM), [BOM])];
  for (const v of values) {
    assert.ok(is(decode(encode(v)), v), stringify(v));
    assert.ok(is(parse(stringify(v)), v), stringify(v));
  }
  assert.equal(hex(encode(BOM + 'bom')), 'b106efbbbf626f6d');
  assert.equal(parse('"\ufeffbom"'), BOM + 'bom');
  assert.equal(parse('"\\uFEFFbom"'), BOM + 'bom');
});

/** Every string and symbol anywhere in a value, annotations included. */
function textsOf(v: Value, out: Set<string | symbol>): void {
  if (typeof v === 'string' || typeof v === 'symbol') out.add(v);
  else if (v instanceof Annotated) { v.annotations.forEach((a) => textsOf(a, out)); textsOf(v.item, out); }
  else if (v instanceof Record) { textsOf(v.label, out); v.fields.forEach((f) => textsOf(f, out)); }
  else if (Array.isArray(v) || v instanceof KeyedSet) for (const x of v) textsOf(x, out);
  else if (v instanceof Dictionary) for (const [k, x] of v) { textsOf(k, out); textsOf(x, out); }
}

test('every string and symbol of the conformance suite, as is and U+FEFF-led, round-trips exactly', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.resolve(here, '../../../shared/conformance/preserves');
  const suite = decode(new Uint8Array(readFileSync(path.join(dir, 'samples.bin'))), { includeAnnotations: true });
  const texts = new Set<string | symbol>();
  textsOf(suite, texts);
  assert.ok(texts.size > 100, 'the suite holds many strings and symbols');
  let checked = 0;
  for (const t of texts) {
    const s = typeof t === 'string' ? t : t.description!;
    if (!s.isWellFormed()) continue; // lone surrogates are not Preserves text
    for (const x of [s, BOM + s, s + BOM]) {
      const v: Value = typeof t === 'string' ? x : Symbol.for(x);
      const viaBinary = decode(encode(v));
      const viaText = parse(stringify(v));
      assert.ok(is(viaBinary, v) && is(viaText, v), JSON.stringify(x));
      checked++;
    }
  }
  console.log(`bom: ${checked} strings and symbols from the conformance suite round-tripped`);
});
