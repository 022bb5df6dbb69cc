// Shared benchmark plumbing: timing with warm-up, and the one-JSON-object-per-figure report.
import { underBusy } from './busy.ts';

/** One benchmark figure, printed as a JSON line at the end of a benchmark's output. */
export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  /** Present (true) when measured with the `--busy` CPU burner running. */
  busy?: boolean;
}

/** Makes a figure; with a same-run baseline it also carries ratio = value / baseline. */
export function figure(bench: string, name: string, value: number, unit: string, baseline?: number): Figure {
  const f: Figure = { bench, figure: name, value: round(value), unit };
  if (baseline !== undefined) {
    f.baseline = round(baseline);
    f.ratio = round(value / baseline, 3);
  }
  return f;
}

function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

/** Runs `fn` repeatedly (after a warm-up) and returns the median seconds per call. */
export function timeIt(fn: () => unknown, runs = 7): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** Prints human-readable lines, then the figures as JSON lines (always last). */
export function report(figures: Figure[]): void {
  const busy = underBusy();
  for (const f of figures) {
    const rel = f.ratio !== undefined ? `  (${f.ratio}x baseline ${f.baseline})` : '';
    console.log(`# ${busy ? '[busy] ' : ''}${f.bench} ${f.figure}: ${f.value} ${f.unit}${rel}`);
  }
  for (const f of figures) console.log(JSON.stringify(busy ? { ...f, busy: true } : f));
}

/** Reads a figure from one line of a bench's output, or undefined when the line is not one. */
export function parseFigureLine(line: string): Figure | undefined {
  if (!line.startsWith('{')) return undefined;
  let x: unknown;
  try { x = JSON.parse(line); } catch { return undefined; }
  if (typeof x !== 'object' || x === null) return undefined;
  const f = x as Record<string, unknown>;
  if (typeof f.bench !== 'string' || typeof f.figure !== 'string' || typeof f.value !== 'number' || typeof f.unit !== 'string') return undefined;
  const out: Figure = { bench: f.bench, figure: f.figure, value: f.value, unit: f.unit };
  if (typeof f.baseline === 'number') out.baseline = f.baseline;
  if (typeof f.ratio === 'number') out.ratio = f.ratio;
  if (f.busy === true) out.busy = true;
  return out;
}
