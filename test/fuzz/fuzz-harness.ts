// A small seeded mutator and a bounded fuzz loop: inputs come from a fixed seed, so a run is
// reproducible; a loop stops at its input count or its wall-clock budget, whichever is first.
import assert from 'node:assert/strict';

/** A seeded PRNG (mulberry32): the same seed gives the same inputs on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
}

/** Tokens that stress a Preserves text or script reader: openers, closers, prefixes, escapes. */
export const TEXT_TOKENS: readonly string[] = [
  '<', '>', '[', ']', '{', '}', '#{', '#[', '#x"', '#"', '"', '|', '\\', '\\u', '\\uD800', '@', '#:', '#!', '# ', '\n',
  ':', ',', ' ', '?- ', '? ', '?? ', '! ', '+= ', '=~ ', 'let ?x = ', '$x ', '$config ', '_ ', '?y ', '=z ', '$. ',
  'stringify ', 'join ', 'dataspace ', 'timestamp ', 'facet ', 'scriptdir ', '<* $config [<accept _>]>',
  '1', '-0', '1.5', '1e400', '#xd"7ff8000000000001"', '99999999999999999999999999', '\ufeff', '\u0000', '\ud83d\ude00',
  '#t', '#f', 'sym', '|a b|', '"s"',
];

/** A mutation of `text`: cut, duplicate, swap, insert tokens, or repeat a token many times. */
export function mutateText(rng: Rng, text: string, extra: readonly string[] = []): string {
  const tokens = extra.length > 0 && rng.next() < 0.5 ? extra : TEXT_TOKENS;
  let s = text;
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const i = rng.int(s.length + 1);
    const j = Math.min(s.length, i + rng.int(40));
    switch (rng.int(8)) {
      case 0: s = s.slice(0, i) + s.slice(j); break;
      case 1: s = s.slice(0, j) + s.slice(i, j) + s.slice(j); break;
      case 2: s = s.slice(0, i) + rng.pick(tokens) + s.slice(i); break;
      case 3: s = s.slice(0, i) + rng.pick(tokens) + s.slice(j); break;
      case 4: s = s.slice(0, i) + String.fromCharCode(rng.int(0x80)) + s.slice(i + 1); break;
      case 5: {
        // Deep nesting or long chains: the shape of the stack-overflow inputs of issue 10.
        const t = rng.pick(tokens);
        s = s.slice(0, i) + t.repeat(1 + rng.int(rng.next() < 0.2 ? 3000 : 50)) + s.slice(i);
        break;
      }
      case 6: s = s.slice(0, i); break;
      default: {
        const k = rng.int(s.length + 1);
        s = s.slice(0, Math.min(i, k)) + s.slice(Math.max(i, k)) + s.slice(Math.min(i, k), Math.max(i, k));
      }
    }
  }
  return s;
}

/** Binary tag bytes and lengths that stress a binary reader. */
const TAGS = [0x80, 0x81, 0x84, 0x85, 0x86, 0x87, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7];

/** A mutation of `bytes`: bit flips, tags, huge or wrong lengths, duplicated or cut runs. */
export function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  let b = Array.from(bytes);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const i = rng.int(b.length + 1);
    const j = Math.min(b.length, i + rng.int(16));
    switch (rng.int(8)) {
      case 0: if (i < b.length) b[i] ^= 1 << rng.int(8); break;
      case 1: b.splice(i, 0, rng.pick(TAGS)); break;
      case 2: b.splice(i, 0, ...[0xff, 0xff, 0xff, 0xff, 0x0f].slice(0, 1 + rng.int(5))); break;
      case 3: b.splice(i, j - i); break;
      case 4: b.splice(j, 0, ...b.slice(i, j)); break;
      case 5: {
        // Deep nesting: a run of openers, as hostile peers send.
        const tag = rng.pick([0xb5, 0xb6, 0xb7, 0xb4, 0x85, 0x86]);
        b.splice(i, 0, ...new Array(1 + rng.int(rng.next() < 0.2 ? 3000 : 40)).fill(tag));
        break;
      }
      case 6: b = b.slice(0, i); break;
      default: if (i < b.length) b[i] = rng.int(256);
    }
  }
  return new Uint8Array(b);
}

/** How long a single input may take before it counts as a failure (issue 10: 1 s). */
export const MAX_INPUT_MS = 1000;

/** Options of one bounded fuzz loop. */
export interface FuzzLoop<I> {
  name: string;
  seed: number;
  maxInputs: number;
  budgetMs: number;
  /** The i-th input. */
  input: (rng: Rng, i: number) => I;
  /** Runs one input; returning normally or throwing an allowed (typed) error is a pass. */
  run: (input: I) => void | Promise<void>;
  /** True for errors that are the code's typed refusals rather than bugs. */
  allowed: (e: unknown) => boolean;
  /** A short printable form of an input, for the failure message. */
  show: (input: I) => string;
}

/** Runs inputs until the count or the budget is reached; fails on a stray error or a slow input. */
export async function fuzz<I>(loop: FuzzLoop<I>): Promise<number> {
  const rng = new Rng(loop.seed);
  const deadline = performance.now() + loop.budgetMs;
  let n = 0;
  for (; n < loop.maxInputs && performance.now() < deadline; n++) {
    const input = loop.input(rng, n);
    const t0 = performance.now();
    try {
      await loop.run(input);
    } catch (e) {
      if (!loop.allowed(e)) {
        assert.fail(`${loop.name} (seed ${loop.seed}, input ${n}): ${e instanceof Error ? e.stack : String(e)}\ninput: ${loop.show(input)}`);
      }
    }
    const ms = performance.now() - t0;
    if (ms > MAX_INPUT_MS) assert.fail(`${loop.name} (seed ${loop.seed}, input ${n}) took ${Math.round(ms)} ms\ninput: ${loop.show(input)}`);
  }
  console.log(`fuzz ${loop.name} (seed ${loop.seed}): ${n} inputs tried`);
  return n;
}

/** A printable, bounded form of text input. */
export function showText(s: string): string {
  return JSON.stringify(s.length > 2000 ? s.slice(0, 2000) + '…' : s) + ` (${s.length} chars)`;
}

/** A printable, bounded form of binary input. */
export function showBytes(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return (h.length > 4000 ? h.slice(0, 4000) + '…' : h) + ` (${b.length} bytes)`;
}

/** The budget of one loop in ms, scaled by $FUZZ_SCALE (default 1) for longer local runs. */
export function budget(ms: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  return Number.isFinite(scale) && scale > 0 ? ms * scale : ms;
}
