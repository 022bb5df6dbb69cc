// Mutated binary and text Preserves through both readers: only DecodeError may come out, no
// input may take over a second, and whatever parses round-trips through both syntaxes. Seeds
// are the conformance suite's own cases and the shipped configuration scripts.
import { test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  type Value, BinaryReader, Bytes, DecodeError, EncodeError, Record, TextReader,
  decode, encode, is, parseAll, peel, strip, stringify,
} from '../../src/preserves/index.ts';
import { budget, fuzz, mutateBytes, mutateText, showBytes, showText } from './fuzz-harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const conformance = path.resolve(here, '../../../shared/conformance/preserves');
const samplesBin = new Uint8Array(readFileSync(path.join(conformance, 'samples.bin')));
const samplesPr = readFileSync(path.join(conformance, 'samples.pr'), 'utf8');

/** The binary and text inputs of the suite's cases, plus values printed as text. */
function seeds(): { binary: Uint8Array[]; text: string[] } {
  const binary: Uint8Array[] = [];
  const text: string[] = [];
  const cases = peel((peel(decode(samplesBin)) as Record<unknown>).fields[0]) as Iterable<[Value, Value]>;
  for (const [, c] of cases) {
    const r = peel(c) as Record<unknown>;
    for (const f of r.fields) {
      const x = strip(f);
      if (x instanceof Bytes) binary.push(x.bytes);
      else if (typeof x === 'string') text.push(x);
      else text.push(stringify(f));
    }
  }
  const etc = path.resolve(here, '../../etc/syndicate');
  for (const layer of readdirSync(etc)) {
    for (const f of readdirSync(path.join(etc, layer))) if (f.endsWith('.pr')) text.push(readFileSync(path.join(etc, layer, f), 'utf8'));
  }
  return { binary, text };
}

const { binary: binarySeeds, text: textSeeds } = seeds();
const typed = (e: unknown) => e instanceof DecodeError;

/** Our own output must read back equal; a DecodeError here is a bug, so it is not "allowed". */
function roundTrips(v: Value): void {
  const back = (f: () => Value, what: string): Value => {
    try {
      return f();
    } catch (e) {
      throw new Error(`${what} of our own output failed: ${(e as Error).message}`);
    }
  };
  const canonical = encode(v);
  if (!is(back(() => decode(canonical), 'binary read'), v)) throw new Error('binary round trip changed the value');
  const annotated = encode(v, { includeAnnotations: true });
  const again = back(() => decode(annotated, { includeAnnotations: true }), 'annotated binary read');
  if (Buffer.compare(Buffer.from(encode(again, { includeAnnotations: true })), Buffer.from(annotated)) !== 0) throw new Error('annotations changed');
  let text: string;
  try {
    text = stringify(v);
  } catch (e) {
    if (e instanceof EncodeError) return; // no text form (an integer past the digit limit)
    throw e;
  }
  if (!is(back(() => parseAll(text)[0], 'text read'), v)) throw new Error('text round trip changed the value');
  const indented = stringify(v, { indent: 2, width: 30 });
  if (!is(back(() => parseAll(indented)[0], 'indented text read'), v)) throw new Error('indented round trip changed the value');
}

test('fuzz: mutated binary Preserves', { timeout: 120_000 }, async () => {
  await fuzz({
    name: 'binary preserves', seed: 0xb1a5, maxInputs: 40_000, budgetMs: budget(5000),
    input: (rng, i) => mutateBytes(rng, i % 500 === 0 ? samplesBin : rng.pick(binarySeeds)),
    run: (b) => {
      let v: Value;
      try {
        v = decode(b, { includeAnnotations: true });
      } catch (e) {
        if (typed(e)) return;
        throw e;
      }
      roundTrips(v);
      // Fed in two chunks, a streaming reader gives the same value.
      const cut = b.length >> 1;
      const r = new BinaryReader(b.subarray(0, cut), { includeAnnotations: true });
      let w = r.next();
      if (w === undefined) { r.write(b.subarray(cut)); w = r.next(); }
      if (w === undefined || !is(w, v)) throw new Error('streaming read differs');
    },
    allowed: () => false,
    show: showBytes,
  });
});

test('fuzz: mutated text Preserves', { timeout: 120_000 }, async () => {
  await fuzz({
    name: 'text preserves', seed: 0x7e47, maxInputs: 40_000, budgetMs: budget(5000),
    input: (rng, i) => mutateText(rng, i % 500 === 0 ? samplesPr : rng.pick(textSeeds)),
    run: (s) => {
      let vs: Value[];
      try {
        vs = parseAll(s, { includeAnnotations: true });
        // With positions, as the script reader reads.
        const r = new TextReader(s, { positions: true, name: 'fuzz' });
        while (r.next() !== undefined) { /* read all */ }
      } catch (e) {
        if (typed(e)) return;
        throw e;
      }
      for (const v of vs) roundTrips(v);
    },
    allowed: () => false,
    show: showText,
  });
});
