// Randomized equivalence: the indexed dataspace against the naive linear-scan one. Every
// observer must see the same events in the same order (population of a new observer, whose
// order the spec leaves open, is compared as a multiset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dictionary, Record, sym } from '../../src/preserves/index.ts';
import type { Facet, Turn } from '../../src/bus/actor.ts';
import { Dataspace, observe } from '../../src/bus/dataspace.ts';
import { P, type Pattern } from '../../src/bus/pattern.ts';
import type { Assertion, Handle, Ref } from '../../src/bus/ref.ts';
import { settle } from '../../src/bus/scheduler.ts';
import { NaiveDataspace } from './naive-dataspace.ts';
import { boot, show } from './harness.ts';

const OPS = 10_000;

/** mulberry32: a small seeded PRNG so every run of a seed is the same run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function generators(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const atoms: Assertion[] = [1, 2, 'x', sym('y'), true];
  const value = (depth: number): Assertion => {
    const r = rand();
    if (depth === 0 || r < 0.45) return pick(atoms);
    if (r < 0.75) return new Record<Ref>(sym(pick(['c', 'd'])), Array.from({ length: Math.floor(rand() * 3) }, () => value(depth - 1)));
    if (r < 0.9) return Array.from({ length: Math.floor(rand() * 3) }, () => value(depth - 1));
    const d = new Dictionary<Ref>();
    for (const k of ['k', 'l']) if (rand() < 0.6) d.set(sym(k), value(depth - 1));
    return d;
  };
  const top = (): Assertion => new Record<Ref>(sym(pick(['a', 'b'])), Array.from({ length: Math.floor(rand() * 3) }, () => value(2)));
  /** A pattern derived from a value, so that it often matches something. */
  const patternOf = (v: Assertion, depth: number): Pattern => {
    const r = rand();
    if (depth > 0 && r < 0.2) return P.discard();
    if (depth > 0 && r < 0.45) return P.bind();
    if (r < 0.55 && depth > 0) return P.lit(v);
    if (v instanceof Record) {
      const n = Math.floor(rand() * (v.fields.length + 1));
      return P.rec(v.label, ...v.fields.slice(0, n).map((f) => patternOf(f, depth + 1)));
    }
    if (Array.isArray(v)) return P.arr(...v.slice(0, Math.floor(rand() * (v.length + 1))).map((f) => patternOf(f, depth + 1)));
    if (v instanceof Dictionary) {
      return P.dict([...(v as Dictionary<Ref>)].filter(() => rand() < 0.7).map(([k, f]) => [k, patternOf(f, depth + 1)] as const));
    }
    return depth === 0 ? P.bind() : P.lit(v);
  };
  const pattern = (): Pattern => {
    const r = rand();
    if (r < 0.05) return P.bind();
    if (r < 0.1) return P.rec('Observe', P.bind(), P.discard());
    const p = patternOf(top(), 0);
    return rand() < 0.2 ? P.bind(p) : p;
  };
  return { pick, top, pattern };
}

interface Side {
  ds: Ref;
  log: Map<number, string[]>;
}

async function runSeed(seed: number): Promise<void> {
  const rand = prng(seed);
  const g = generators(rand);
  let indexed!: Side, naive!: Side;
  await boot('dataspaces', (t) => {
    indexed = { ds: t.ref(new Dataspace('indexed')), log: new Map() };
    naive = { ds: t.ref(new NaiveDataspace()), log: new Map() };
  });
  const sides = [indexed, naive];
  const observers = (await boot('observers')).root;
  const driver = (await boot('driver')).root;
  const observerRef = (t: Turn, side: Side, id: number): Ref => {
    const live = new Map<Handle, string>();
    const log: string[] = [];
    side.log.set(id, log);
    let ref!: Ref;
    t.inFacet(observers, () => {
      ref = t.ref({
        assert: (_t, v, h) => { const s = show(v); live.set(h, s); log.push('+' + s); },
        retract: (_t, h) => { log.push('-' + live.get(h)); live.delete(h); },
        message: (_t, v) => void log.push('!' + show(v)),
      });
    });
    return ref;
  };
  const asserted: Handle[][] = [];
  const subscribed: { id: number; handles: Handle[] }[] = [];
  let nextId = 0;
  for (let op = 0; op < OPS; ) {
    let unordered = false;
    const before = new Map<number, number>();
    for (const [id, l] of indexed.log) before.set(id, l.length);
    await new Promise<void>((resolve) => driver.turn((t) => {
      const n = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < n; i++, op++) {
        const r = rand();
        if (r < 0.35) {
          const v = g.top();
          asserted.push(sides.map((s) => t.assert(s.ds, v)));
        } else if (r < 0.6 && asserted.length > 0) {
          const [h] = asserted.splice(Math.floor(rand() * asserted.length), 1);
          for (const x of h) t.retract(x);
        } else if (r < 0.75) {
          const p = g.pattern();
          const id = nextId++;
          subscribed.push({ id, handles: sides.map((s) => t.assert(s.ds, observe(p, observerRef(t, s, id)))) });
          unordered = true;
        } else if (r < 0.85 && subscribed.length > 0) {
          const [s] = subscribed.splice(Math.floor(rand() * subscribed.length), 1);
          for (const x of s.handles) t.retract(x);
          unordered = true;
        } else {
          const v = g.top();
          for (const s of sides) t.message(s.ds, v);
        }
      }
      resolve();
    }));
    await settle();
    for (const [id, l] of indexed.log) {
      const from = before.get(id) ?? 0;
      const other = naive.log.get(id)!;
      if (l.length === from && other.length === from) continue;
      const a = l.slice(from);
      const b = other.slice(from);
      if (unordered) assert.deepEqual([...a].sort(), [...b].sort(), `seed ${seed} op ${op} observer ${id}`);
      else assert.deepEqual(a, b, `seed ${seed} op ${op} observer ${id}`);
    }
  }
  // Both sides must also agree on the whole history.
  for (const [id, l] of indexed.log) assert.equal(l.length, naive.log.get(id)!.length, `observer ${id} event count`);
  void (null as unknown as Facet);
}

for (const seed of [1, 2, 3]) {
  test(`indexed and naive dataspaces agree over ${OPS} random operations (seed ${seed})`, async () => {
    await runSeed(seed);
  });
}
