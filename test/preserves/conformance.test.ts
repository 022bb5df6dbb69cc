// Runs the upstream Preserves test suite from ../shared/conformance/preserves, read at test time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  type Value, Bytes, Dictionary, Record, DecodeError, EndOfInput, ShortInput,
  decode, encode, parse, stringify, strip, is, peel,
} from '../../src/preserves/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(here, '../../../shared/conformance/preserves');
const prPath = path.join(dir, 'samples.pr');
const binPath = path.join(dir, 'samples.bin');

function load(): { bin: Uint8Array; text: string } {
  for (const p of [prPath, binPath]) {
    if (!existsSync(p)) {
      throw new Error(`conformance data missing: ${p} (expected ../shared beside the repository)`);
    }
  }
  return { bin: new Uint8Array(readFileSync(binPath)), text: readFileSync(prPath, 'utf8') };
}

const annotatedBinary = (v: Value) => encode(v, { canonical: true, includeAnnotations: true });
const looseEncodeBinary = (v: Value) => encode(v, { canonical: false, includeAnnotations: true });
const encodeBinary = (v: Value) => encode(v);
const decodeBinary = (b: Uint8Array) => decode(b, { includeAnnotations: true });
const decodeText = (s: string) => parse(s, { includeAnnotations: true });
const encodeText = (v: Value) => stringify(v);

/** Annotation-aware equality: equal annotated canonical encodings. */
function sameAnnotated(a: Value, b: Value): boolean {
  return Buffer.compare(Buffer.from(annotatedBinary(a)), Buffer.from(annotatedBinary(b))) === 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

type FailureClass = 'syntax' | 'short' | 'eof' | 'none';
function failureOf(f: () => unknown): FailureClass {
  try {
    f();
    return 'none';
  } catch (e) {
    if (e instanceof EndOfInput) return 'eof';
    if (e instanceof ShortInput) return 'short';
    if (e instanceof DecodeError) return 'syntax';
    throw e;
  }
}

/** The numbered checks of the suite's Documentation record. */
function check(n: number, fields: Value[]): boolean {
  const field = (i: number) => fields[i];
  switch (n) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: {
      const binary = (strip(field(0)) as Bytes).bytes;
      const annotatedValue = field(1);
      const stripped = strip(annotatedValue);
      switch (n) {
        case 1: return is(decodeBinary(encodeBinary(annotatedValue)), stripped);
        case 2: return is(strip(decodeBinary(binary)), stripped);
        case 3: return sameAnnotated(decodeBinary(binary), annotatedValue);
        case 4: return sameAnnotated(decodeBinary(annotatedBinary(annotatedValue)), annotatedValue);
        case 5: return is(decodeText(encodeText(stripped)), stripped);
        case 6: return sameAnnotated(decodeText(encodeText(annotatedValue)), annotatedValue);
        case 7: return sameBytes(annotatedBinary(annotatedValue), binary);
        case 8: return sameBytes(looseEncodeBinary(annotatedValue), binary);
      }
      return false;
    }
    case 20: return failureOf(() => decodeText(strip(field(0)) as string)) === 'syntax';
    case 21: return failureOf(() => decodeText(strip(field(0)) as string)) === 'short';
    case 22: return failureOf(() => decodeText(strip(field(0)) as string)) === 'eof';
    case 30: return failureOf(() => decodeBinary((strip(field(0)) as Bytes).bytes)) === 'syntax';
    case 31: return failureOf(() => decodeBinary((strip(field(0)) as Bytes).bytes)) === 'short';
    case 32: return failureOf(() => decodeBinary((strip(field(0)) as Bytes).bytes)) === 'eof';
  }
  throw new Error('unknown expectation ' + n);
}

const EXPECTATIONS: { [kind: string]: number[] } = {
  Test: [1, 2, 3, 4, 5, 6, 7, 8],
  NondeterministicTest: [1, 2, 3, 4, 5, 6, 7],
  ParseError: [20], ParseShort: [21], ParseEOF: [22],
  DecodeError: [30], DecodeShort: [31], DecodeEOF: [32],
};

test('conformance: samples.pr and samples.bin', async (t) => {
  const { bin, text } = load();
  const fromBinary = decodeBinary(bin);

  await t.test('text and binary forms of the suite are annotation-equal', () => {
    assert.ok(sameAnnotated(decodeText(text), fromBinary));
    assert.ok(sameBytes(annotatedBinary(decodeText(text)), bin), 'annotated canonical re-encoding of samples.pr is samples.bin');
  });

  const top = peel(fromBinary);
  assert.ok(top instanceof Record && top.hasLabel('TestCases'), 'document is <TestCases {...}>');
  const cases = peel(top.fields[0]);
  assert.ok(cases instanceof Dictionary);

  const passed = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [name, rawCase] of cases) {
    const c = peel(rawCase);
    assert.ok(c instanceof Record, 'case is a record');
    const kind = (peel(c.label) as symbol).description!;
    const expectations = EXPECTATIONS[kind];
    assert.ok(expectations, `unknown case kind ${kind}`);
    total.set(kind, (total.get(kind) ?? 0) + 1);
    // Annotations on the case record and its binary/text/bytes field are stripped; the
    // annotatedValue field keeps its own.
    const fields = c.fields.map((f, i) => (kind.endsWith("Test") && i === 1 ? f : strip(f)));
    let allOk = true;
    for (const n of expectations) {
      const caseName = `${(peel(name) as symbol).description}/${n}`;
      await t.test(caseName, () => {
        let ok = false;
        try {
          ok = check(n, fields);
        } catch (e) {
          allOk = false;
          throw e;
        }
        if (!ok) allOk = false;
        assert.ok(ok, caseName);
      });
    }
    if (allOk) passed.set(kind, (passed.get(kind) ?? 0) + 1);
  }

  const summary = [...total].map(([k, n]) => `${k} ${passed.get(k) ?? 0}/${n}`).join(', ');
  const all = [...total.values()].reduce((a, b) => a + b, 0);
  const ok = [...passed.values()].reduce((a, b) => a + b, 0);
  console.log(`preserves conformance: ${ok}/${all} cases passed (${summary})`);
  assert.equal(all, 186, 'the suite holds 186 cases');
  assert.equal(ok, all, 'every case passes');
});
