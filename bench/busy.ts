// `--busy`: a CPU burner on the other core for the whole run of a bench, so its figures show
// what a loaded machine does to them. The burner is a child process that spins; it is killed
// when the bench exits (normally, by an exception, or by SIGINT/SIGTERM), and it ends itself
// when its parent is gone (a bench killed with SIGKILL leaves no spinner behind).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The environment variable a burning bench sets, so child processes it runs mark their figures too. */
export const BUSY_ENV = 'SYNDICATE_BENCH_BUSY';

// Spins; every ~50 ms it looks whether its parent is still there (a reparented child has a new ppid).
const BURNER = `const p = process.ppid; let t = Date.now();
for (;;) { if (Date.now() - t > 50) { t = Date.now(); if (process.ppid !== p) process.exit(0); } }`;

let burner: ChildProcess | undefined;

/** True when this process or the bench that started it runs under `--busy`. */
export function underBusy(): boolean {
  return burner !== undefined || process.env[BUSY_ENV] === '1';
}

/** True when `--busy` is among the arguments. */
export function busyRequested(argv: readonly string[] = process.argv): boolean {
  return argv.slice(2).includes('--busy');
}

/**
 * Starts the burner when `--busy` is given (once per process tree); call at the top of a bench.
 * Pinned with taskset to the last core when there is more than one and taskset exists.
 */
export function startBusy(argv: readonly string[] = process.argv): void {
  if (!busyRequested(argv) || underBusy()) return;
  const cores = availableParallelism();
  const pin = cores > 1 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  const [cmd, args] = pin
    ? ['taskset', ['-c', String(cores - 1), process.execPath, '-e', BURNER]]
    : [process.execPath, ['-e', BURNER]];
  // taskset execs node, so the burner's parent is this process either way.
  burner = spawn(cmd, args, { stdio: 'ignore' });
  // Unreferenced: the burner must not keep the bench alive once its work is done ('exit' kills it).
  burner.unref();
  burner.on('error', (e) => { console.error(`--busy: the CPU burner failed to start: ${e.message}`); });
  process.env[BUSY_ENV] = '1';
  process.once('exit', stopBusy);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { stopBusy(); process.kill(process.pid, sig); });
  }
  console.log(`# busy: CPU burner pid ${burner.pid ?? '?'}${pin ? ` pinned to core ${cores - 1}` : ''}`);
}

/** Kills the burner (synchronous, so it also works in an 'exit' handler). */
export function stopBusy(): void {
  if (burner === undefined) return;
  try { burner.kill('SIGKILL'); } catch { /* already gone */ }
  burner = undefined;
}
