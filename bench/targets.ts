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
  /** The figure as the issue names it, shown when no figure matches. */
  figure: string;
  /** The bound as the issue says it, shown in the table's target column. */
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
  { figure: 'crash-to-respawn median', name: '≤ 1.2× raw spawn', match: /crash-to-respawn median/i, kind: 'ratio', limit: 1.2 },
  { figure: '200 process daemons to ready', name: '≤ 1.2× 200 raw spawns', match: /\b200 process daemons\b/i, kind: 'ratio', limit: 1.2 },
  { figure: '1000 milestone services to up', name: '≤ 50 ms', match: /\b1 ?000 milestone/i, kind: 'max', limit: 50, unit: 'ms' },
  {
    figure: 'resident memory with 100 daemons', name: '≤ 15 KB/daemon above the bus with none',
    match: /resident memory\b.*\bwith (100) (?:sleeping )?daemons/i, kind: 'perItemAbove', limit: 15, unit: 'KB',
  },
  {
    figure: 'resident memory of the bus with none', name: '≤ 1.3× idle Node',
    match: /resident memory of the bus\b.*\b(?:with (?:none|no daemons|0 daemons)|no daemons)/i, kind: 'ratio', limit: 1.3,
  },
  { figure: 'connected restart to ready, median', name: '≤ own spawn-to-ready + 5 ms', match: /connected restart\b.*median/i, kind: 'above', limit: 5, unit: 'ms' },
  { figure: 'syndicate-ctl status, whole process', name: "≤ 1.3× node -e ''", match: /syndicate-ctl status\b.*whole process/i, kind: 'ratio', limit: 1.3 },
  // \b keeps `restart --wait` out: the target is for `start --wait`.
  { figure: 'syndicate-ctl start --wait, whole process', name: "≤ 1.5× node -e ''", match: /\bstart --wait\b.*whole process/i, kind: 'ratio', limit: 1.5 },
];
