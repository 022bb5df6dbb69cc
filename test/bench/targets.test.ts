// The benchmark table's logic: figures and targets in, rows with met / missed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figure, parseFigureLine, type Figure } from '../../bench/report.ts';
import { convert, evaluate, formatTable, targetRows, type Row } from '../../bench/table.ts';
import { TARGETS, type Target } from '../../bench/targets.ts';

const rowFor = (rows: Row[], target: string): Row => {
  const r = rows.find((x) => x.figure.includes(target) && x.target !== '' && !x.figure.startsWith('[busy]'));
  assert.ok(r, `a row for ${target} in ${JSON.stringify(rows)}`);
  return r;
};

test('ratio targets: met at or under the limit, missed above it, no baseline when there is none', () => {
  const t: Target[] = [{ figure: 'crash-to-respawn median', name: '≤ 1.2×', match: /crash-to-respawn median/, kind: 'ratio', limit: 1.2 }];
  assert.equal(evaluate([figure('services', 'crash-to-respawn median', 2.4, 'ms', 2)], [], t)[0]!.verdict, 'met');
  assert.equal(evaluate([figure('services', 'crash-to-respawn median', 2.6, 'ms', 2)], [], t)[0]!.verdict, 'missed');
  assert.equal(evaluate([figure('services', 'crash-to-respawn median', 2.6, 'ms')], [], t)[0]!.verdict, 'no baseline');
});

test('the issue targets: each figure by its keyword, and rows for targets without a figure', () => {
  const figs: Figure[] = [
    figure('services', 'crash-to-respawn median (restartDelay 0, `false`)', 5, 'ms', 2.5),
    figure('services', 'crash-to-respawn p99', 50, 'ms', 3),
    figure('services', '1000 milestone services to up', 40, 'ms'),
    figure('services', '200 process daemons to ready', 300, 'ms', 290),
    figure('services', 'resident memory of the bus with 100 sleeping daemons', 50, 'MB', 48.9), // 1.1 MB / 100 ≈ 11 KB each
    figure('ctl', 'connected restart-service to ready, median', 9, 'ms', 3),
    figure('ctl', 'syndicate-ctl status, whole process, median', 60, 'ms', 50),
    figure('ctl', 'syndicate-ctl restart --wait, whole process, median', 100, 'ms', 50),
  ];
  const rows = evaluate(figs, []);
  assert.equal(rowFor(rows, 'crash-to-respawn').verdict, 'missed');
  assert.equal(rows.find((r) => r.figure.includes('crash-to-respawn p99'))!.target, '', 'the p99 is not held to the median target');
  assert.equal(rowFor(rows, 'milestone').verdict, 'met');
  assert.equal(rowFor(rows, '200 process daemons').verdict, 'met');
  const mem = rowFor(rows, 'with 100 sleeping daemons');
  assert.equal(mem.verdict, 'met');
  assert.match(mem.checked ?? '', /^11\.\d KB\/item above$/);
  assert.equal(rowFor(rows, 'resident memory of the bus with none').verdict, 'no figure');
  const restart = rowFor(rows, 'connected restart');
  assert.equal(restart.verdict, 'missed');
  assert.equal(restart.checked, '6 ms above');
  assert.equal(rowFor(rows, 'ctl status').verdict, 'met');
  // `restart --wait` is not `start --wait`.
  assert.equal(rowFor(rows, '(syndicate-ctl start --wait').verdict, 'no figure');
  assert.equal(rows.find((r) => r.figure.includes('restart --wait'))!.target, '');
  // Every target shows up, with a figure or as 'no figure'.
  for (const t of TARGETS) assert.ok(rows.some((r) => r.target === t.name && (r.verdict === 'no figure' ? r.figure === `(${t.figure})` : t.match.test(r.figure))), t.figure);
});

test('max targets convert units; incompatible units are flagged, not passed', () => {
  assert.equal(evaluate([figure('services', '1000 milestone services to up', 0.04, 's')])[0]!.verdict, 'met');
  assert.equal(evaluate([figure('services', '1000 milestone services to up', 0.06, 's')])[0]!.verdict, 'missed');
  assert.equal(evaluate([figure('services', '1000 milestone services to up', 10, 'MB')])[0]!.verdict, 'unit?');
  assert.equal(convert(1, 'MB', 'KB'), 1024);
  assert.equal(convert(1, 'ms', 'KB'), undefined);
});

test('busy figures are held to 1.5x the quiet figure of the same name; rates the other way round', () => {
  const quiet = [figure('x', 'latency', 10, 'ms'), figure('x', 'throughput', 1000, 'conn/s'), figure('x', 'other', 1, 'ms')];
  const busy = [
    { ...figure('x', 'latency', 16, 'ms'), busy: true },
    { ...figure('x', 'throughput', 800, 'conn/s'), busy: true },
    { ...figure('x', 'only busy', 1, 'ms'), busy: true },
  ];
  const rows = evaluate(quiet, busy, []).filter((r) => r.figure.startsWith('[busy]'));
  assert.deepEqual(rows.map((r) => [r.figure, r.verdict, r.ratio]), [
    ['[busy] x latency', 'missed', 1.6],
    ['[busy] x throughput', 'met', 1.25],
    ['[busy] x only busy', 'no quiet figure', undefined],
  ]);
});

test('figure lines round-trip through report format, busy mark included; other lines are not figures', () => {
  const f = { ...figure('b', 'n', 1.25, 'ms', 1), busy: true };
  assert.deepEqual(parseFigureLine(JSON.stringify(f)), f);
  assert.equal(parseFigureLine('# b n: 1 ms'), undefined);
  assert.equal(parseFigureLine('{"bench":"b"}'), undefined);
  assert.equal(parseFigureLine('{not json'), undefined);
});

test('the table has one line per row under a header, columns aligned', () => {
  const text = formatTable(evaluate([figure('b', 'n', 1, 'ms', 2)], [], [{ figure: 'n', name: 'half', match: /n/, kind: 'ratio', limit: 0.4 }]));
  const lines = text.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\| figure +\| value +\| baseline \| ratio \| target \| met\? +\|$/);
  assert.match(lines[2]!, /\| b n +\| 1 ms +\| 2 +\| 0\.5 +\| half +\| missed \|/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1);
});

test('targetRows keeps the rows about a target and their busy rows, nothing else', () => {
  const t: Target[] = [{ figure: 'a', name: 'a target', match: /^b a$/, kind: 'max', limit: 1, unit: 'ms' }];
  const rows = evaluate([figure('b', 'a', 1, 'ms'), figure('b', 'other', 1, 'ms')], [{ ...figure('b', 'a', 2, 'ms'), busy: true }, { ...figure('b', 'other', 2, 'ms'), busy: true }], t);
  assert.deepEqual(targetRows(rows).map((r) => r.figure), ['b a', '[busy] b a']);
});

test('the ctl figures as the control bench names them: each target takes only its own figure', () => {
  const rows = evaluate([
    figure('ctl', 'connected restart-service to ready, median', 8, 'ms', 4),
    figure('ctl', 'connected restart-service to ready, ms above spawn-to-ready', 4, 'ms'),
    figure('ctl', 'connected restart-service to ready, p99', 30, 'ms', 9),
    figure('ctl', 'connected stop, then start --wait to ready (syndicate-ctl runCommand), median', 20, 'ms', 4),
    figure('ctl', 'syndicate-ctl restart --wait, whole process, median', 200, 'ms', 50),
    figure('ctl', 'syndicate-ctl start --wait, whole process, median', 70, 'ms', 50),
  ]);
  const targeted = rows.filter((r) => r.target !== '' && r.verdict !== 'no figure').map((r) => [r.figure, r.verdict, r.checked]);
  assert.deepEqual(targeted, [
    ['ctl connected restart-service to ready, median', 'met', '4 ms above'],
    ['ctl syndicate-ctl start --wait, whole process, median', 'met', undefined],
  ]);
});
