// The table `npm run bench` ends with: every figure against its targets (bench/targets.ts),
// met or missed, plus each `--busy` figure against the same figure measured quiet.
import type { Figure } from './report.ts';
import { BUSY_LIMIT, TARGETS, type Target } from './targets.ts';

/** What a row says about its target. */
export type Verdict = 'met' | 'missed' | 'no figure' | 'no baseline' | 'no quiet figure' | 'unit?' | '';

/** One line of the table. */
export interface Row {
  figure: string;
  value?: number;
  unit?: string;
  baseline?: number;
  ratio?: number;
  target: string;
  verdict: Verdict;
  /** The quantity the verdict was taken on, when it is not the ratio column (e.g. "12.5 KB/item above"). */
  checked?: string;
}

const SCALE: Record<string, [family: string, factor: number]> = {
  ns: ['time', 1e-6], us: ['time', 1e-3], 'µs': ['time', 1e-3], ms: ['time', 1], s: ['time', 1000],
  B: ['bytes', 1], KB: ['bytes', 1024], KiB: ['bytes', 1024], kB: ['bytes', 1024],
  MB: ['bytes', 1024 ** 2], MiB: ['bytes', 1024 ** 2], GB: ['bytes', 1024 ** 3], GiB: ['bytes', 1024 ** 3],
};

/** `x` in unit `from` converted to unit `to`, or undefined when they do not convert. */
export function convert(x: number, from: string, to: string): number | undefined {
  if (from === to) return x;
  const a = SCALE[from];
  const b = SCALE[to];
  if (a === undefined || b === undefined || a[0] !== b[0]) return undefined;
  return (x * a[1]) / b[1];
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;
const key = (f: Figure) => `${f.bench} ${f.figure}`;
/** Rates (units ending in "/s") are better higher; everything else lower. */
const higherIsBetter = (unit: string) => unit.endsWith('/s');

/** Checks one figure against one target. */
export function check(f: Figure, t: Target): Row {
  const row: Row = { figure: key(f), value: f.value, unit: f.unit, baseline: f.baseline, ratio: f.ratio, target: t.name, verdict: '' };
  const verdict = (ok: boolean): Verdict => (ok ? 'met' : 'missed');
  if (t.kind === 'max') {
    const v = convert(f.value, f.unit, t.unit ?? f.unit);
    if (v === undefined) return { ...row, verdict: 'unit?' };
    return { ...row, verdict: verdict(v <= t.limit) };
  }
  if (f.baseline === undefined) return { ...row, verdict: 'no baseline' };
  if (t.kind === 'ratio') {
    const ratio = f.ratio ?? f.value / f.baseline;
    return { ...row, ratio: r3(ratio), verdict: verdict(ratio <= t.limit) };
  }
  const unit = t.unit ?? f.unit;
  const above = convert(f.value - f.baseline, f.unit, unit);
  if (above === undefined) return { ...row, verdict: 'unit?' };
  if (t.kind === 'above') return { ...row, checked: `${r1(above)} ${unit} above`, verdict: verdict(above <= t.limit) };
  const n = Number(t.match.exec(key(f))?.[1]);
  if (!(n > 0)) return { ...row, verdict: 'no figure' };
  const per = above / n;
  return { ...row, checked: `${r1(per)} ${unit}/item above`, verdict: verdict(per <= t.limit) };
}

/**
 * The table's rows: each quiet figure against every target that matches it (or one row with no
 * target), then one `no figure` row per target nothing matched, then each busy figure against
 * the quiet figure of the same name (within BUSY_LIMIT×).
 */
export function evaluate(quiet: readonly Figure[], busy: readonly Figure[] = [], targets: readonly Target[] = TARGETS): Row[] {
  const rows: Row[] = [];
  const used = new Set<Target>();
  for (const f of quiet) {
    const mine = targets.filter((t) => t.match.test(key(f)));
    if (mine.length === 0) rows.push({ figure: key(f), value: f.value, unit: f.unit, baseline: f.baseline, ratio: f.ratio, target: '', verdict: '' });
    for (const t of mine) {
      used.add(t);
      rows.push(check(f, t));
    }
  }
  for (const t of targets) if (!used.has(t)) rows.push({ figure: `(${t.figure})`, target: t.name, verdict: 'no figure' });
  const quietByKey = new Map(quiet.map((f) => [key(f), f]));
  for (const b of busy) {
    const q = quietByKey.get(key(b));
    const row: Row = { figure: `[busy] ${key(b)}`, value: b.value, unit: b.unit, target: `≤ ${BUSY_LIMIT}× quiet`, verdict: 'no quiet figure' };
    if (q === undefined || q.unit !== b.unit) { rows.push(row); continue; }
    const ratio = higherIsBetter(b.unit) ? q.value / b.value : b.value / q.value;
    rows.push({ ...row, baseline: q.value, ratio: r3(ratio), verdict: ratio <= BUSY_LIMIT ? 'met' : 'missed' });
  }
  return rows;
}

/** Only the rows about a target of the issue, and the busy rows of the figures those are about. */
export function targetRows(rows: readonly Row[]): Row[] {
  const targeted = new Set(rows.filter((r) => r.target !== '' && !r.figure.startsWith('[busy] ')).map((r) => r.figure));
  return rows.filter((r) => (r.figure.startsWith('[busy] ') ? targeted.has(r.figure.slice('[busy] '.length)) : r.target !== ''));
}

/** The rows as an aligned plain-text table (also valid Markdown). */
export function formatTable(rows: readonly Row[]): string {
  const head = ['figure', 'value', 'baseline', 'ratio', 'target', 'met?'];
  const cells = rows.map((r) => [
    r.figure,
    r.value === undefined ? '' : `${r.value} ${r.unit ?? ''}`.trim(),
    r.baseline === undefined ? '' : `${r.baseline}`,
    r.ratio === undefined ? '' : `${r.ratio}`,
    r.target,
    r.checked === undefined ? r.verdict : `${r.verdict} (${r.checked})`,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
