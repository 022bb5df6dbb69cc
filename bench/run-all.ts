// `npm run bench [-- options]`: builds dist/ once (the benches that start a bus or the CLI as a
// process measure it compiled, as installed), runs every bench/*.bench.ts in turn, collects the
// JSON figure lines each prints, and ends with one table of all figures against bench/targets.ts.
//   --only a,b   only the benches whose file name contains one of these (e.g. services,ctl)
//   --skip a,b   leave these out
//   --busy       run each bench twice, quiet then with the CPU burner (bench/busy.ts), and check
//                every busy figure against the quiet one
//   --no-build   do not run `npm run build` first
//   --targets    the table shows only the figures the issue sets a target for
//   --from LOG   run nothing: make the table from the figure lines of a saved run's output
// Exit status 1 when a bench failed (its figures are missing); missed targets do not fail the run.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseFigureLine, type Figure } from './report.ts';
import { evaluate, formatTable, targetRows } from './table.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const list = (flag: string): string[] => {
  const i = args.indexOf(flag);
  return i < 0 ? [] : (args[i + 1] ?? '').split(',').filter(Boolean);
};
const only = list('--only');
const skip = list('--skip');
const busy = args.includes('--busy');

/** Runs one bench file, echoing its output, and returns its figures and whether it succeeded. */
function runBench(file: string, extra: string[]): Promise<{ figures: Figure[]; ok: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(dir, file), ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
    const figures: Figure[] = [];
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      process.stdout.write(chunk);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const f = parseFigureLine(l.trim());
        if (f !== undefined) figures.push(f);
      }
    });
    child.on('error', (e) => { console.error(`${file}: ${e.message}`); resolve({ figures, ok: false }); });
    child.on('close', (code, signal) => {
      const f = parseFigureLine(rest.trim());
      if (f !== undefined) figures.push(f);
      if (code !== 0) console.error(`${file}${extra.length ? ' ' + extra.join(' ') : ''}: exited ${signal ?? code}`);
      resolve({ figures, ok: code === 0 });
    });
  });
}

/** Prints the table of `quiet` and busy figures; the exit code says whether a bench failed. */
function table(quiet: Figure[], loaded: Figure[], failed: string[]): void {
  console.log('\n## all figures against the targets (bench/targets.ts)\n');
  const rows = evaluate(quiet, loaded);
  console.log(formatTable(args.includes('--targets') ? targetRows(rows) : rows));
  if (failed.length > 0) console.log(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

const from = list('--from')[0];
if (from !== undefined) {
  const figures = readFileSync(from, 'utf8').split('\n').map((l) => parseFigureLine(l.trim())).filter((f) => f !== undefined);
  table(figures.filter((f) => f.busy !== true), figures.filter((f) => f.busy === true), []);
  process.exit();
}

const files = readdirSync(dir)
  .filter((n) => n.endsWith('.bench.ts'))
  .filter((n) => only.length === 0 || only.some((o) => n.includes(o)))
  .filter((n) => !skip.some((s) => n.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no bench matches --only ${only.join(',')}`);
  process.exit(2);
}
if (!args.includes('--no-build')) {
  const b = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: path.dirname(dir) });
  if (b.status !== 0) { console.error('npm run build failed'); process.exit(1); }
}

const quiet: Figure[] = [];
const loaded: Figure[] = [];
const failed: string[] = [];
for (const f of files) {
  // Quiet and busy passes of one bench back to back, so both see the machine in the same state.
  console.log(`## ${f}`);
  const q = await runBench(f, []);
  quiet.push(...q.figures);
  if (!q.ok) failed.push(f);
  if (busy) {
    console.log(`## ${f} --busy`);
    const b = await runBench(f, ['--busy']);
    loaded.push(...b.figures.map((x) => ({ ...x, busy: true })));
    if (!b.ok) failed.push(`${f} --busy`);
  }
}
table(quiet, loaded, failed);
