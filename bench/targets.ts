// The speed targets `npm run bench` checks, in one table (from the performance issue's "What to
// reach"). A target finds its figures by `match`, a regular expression tested against
// "<bench> <figure name>" — so a bench that renames a figure must keep the keyword. Kinds:
//   ratio        value / baseline ≤ limit        (baseline measured in the same run)
//   max          value ≤ limit, in `unit`          (an absolute bound)
//   above        value − baseline ≤ limit, in `unit`
//   perItemAbove (value − baseline) / N ≤ limit, in `unit`, N the number `match` captures first
// Under `--busy` every figure has one more target, BUSY_LIMIT: its busy value within that factor
// of the same figure measured quiet in the same run (for rates, "/s" units, the inverse).

/** How a target bounds a figure. */
export type TargetKind = 'ratio' | 'max' | 'above' | 'perItemAbove';

/** One row of the target table. */
export interface Target {
  /** The target as the issue says it, shown in the table. */
  name: string;
  /** Tested against "<bench> <figure>"; for perItemAbove its first group captures N. */
  match: RegExp;
  kind: TargetKind;
  limit: number;
  /** For max, above and perItemAbove: the unit `limit` is in (the figure's value is converted). */
  unit?: string;
}

/** Busy figures must stay within this factor of the quiet ones. */
export const BUSY_LIMIT = 1.5;

/** The targets of the performance issue. */
export const TARGETS: readonly Target[] = [
  { name: 'crash-to-respawn median ≤ 1.2× raw spawn', match: /crash-to-respawn median/i, kind: 'ratio', limit: 1.2 },
  { name: '200 process daemons to ready ≤ 1.2× 200 raw spawns', match: /\b200 process daemons\b/i, kind: 'ratio', limit: 1.2 },
  { name: '1000 milestone services to up ≤ 50 ms', match: /\b1 ?000 milestone/i, kind: 'max', limit: 50, unit: 'ms' },
  {
    name: 'resident memory with 100 daemons ≤ 15 KB/daemon above the bus with none',
    match: /resident memory\b.*\bwith (100) (?:sleeping )?daemons/i, kind: 'perItemAbove', limit: 15, unit: 'KB',
  },
  {
    name: 'resident memory of the bus with none ≤ 1.3× idle Node',
    match: /resident memory\b.*\b(?:with (?:none|no daemons|0 daemons)|no daemons)/i, kind: 'ratio', limit: 1.3,
  },
  { name: 'connected restart to ready, median ≤ own spawn-to-ready + 5 ms', match: /connected restart\b.*median/i, kind: 'above', limit: 5, unit: 'ms' },
  { name: 'syndicate-ctl status whole process ≤ 1.3× node -e \'\'', match: /syndicate-ctl status\b.*whole process/i, kind: 'ratio', limit: 1.3 },
  // \b keeps `restart --wait` out: the target is for `start --wait`.
  { name: 'syndicate-ctl start --wait whole process ≤ 1.5× node -e \'\'', match: /\bstart --wait\b.*whole process/i, kind: 'ratio', limit: 1.5 },
];
