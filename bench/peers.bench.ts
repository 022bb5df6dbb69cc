// Side by side with other supervisors, when installed (Debian's `s6` and `runit`; optional,
// never needed in CI): the same workloads on each, all as ordinary processes in a temp folder,
// with our own `syndicate-server` (a real process, compiled when dist/ is fresh) run the same way:
//   crash→respawn interval  a service whose run script exits at once; time between starts
//   N sleep services        from starting the supervisor to every run script started
//   memory                  PSS of the supervisor's own processes (not the services) with N
//   stop, then start        the supervisor's own commands (s6-svc, sv, syndicate-ctl) as
//                           processes: down, until the process is gone, up, until it has started
// Every service is one `run` shell script that reports "NAME PID" on a FIFO before it execs its
// command, so every supervisor is timed by the same clock. Baseline: Node spawning the same
// scripts itself (respawn on exit; N at once; kill, then spawn). s6-supervise and runsv wait
// about a second before starting a service again soon after its last start (their design),
// which their crash→respawn (and runit's stop-then-start) figures show.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, constants } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const SERVICES = 200;
const CYCLES = 40; // crash→respawn intervals, at most…
const CYCLE_BUDGET_MS = 10_000; // …or this long (s6 and runit wait ~1 s between fast exits)
const ROUND_TRIPS = 15;
const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const now = () => performance.now();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const installed = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** A supervisor under test: how to run it on a folder of services and how to stop/start one. */
interface Peer {
  name: string;
  needs: string[];
  /** Starts supervising `services` (each `dir/NAME/run`); `crash` names the one that exits at once. */
  start(dir: string, services: string[], crash?: string): Promise<ChildProcess>;
  down(dir: string, service: string): string[];
  up(dir: string, service: string): string[];
  /** Stops the supervisor and everything under it. */
  stop(p: ChildProcess, dir: string): Promise<void>;
}

const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

/** Ends a supervisor: `first` asks it to stop its services; after 5 s its whole process group is killed. */
async function endTree(p: ChildProcess, first: () => void): Promise<void> {
  try { first(); } catch { /* already gone */ }
  const t = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
  await exited(p);
  clearTimeout(t);
  try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* group gone */ }
}

const PEERS: Peer[] = [
  {
    name: 's6',
    needs: ['s6-svscan', 's6-svc', 's6-svscanctl'],
    start: async (dir) => spawn('s6-svscan', [dir], { stdio: 'ignore', detached: true }),
    down: (dir, s) => ['s6-svc', '-d', path.join(dir, s)],
    up: (dir, s) => ['s6-svc', '-u', path.join(dir, s)],
    // -t: s6-svscan brings every s6-supervise (and so its service) down, then exits.
    stop: (p, dir) => endTree(p, () => spawnSync('s6-svscanctl', ['-t', dir])),
  },
  {
    name: 'runit',
    needs: ['runsvdir', 'runsv', 'sv'],
    start: async (dir) => spawn('runsvdir', [dir], { stdio: 'ignore', detached: true }),
    down: (dir, s) => ['sv', 'd', path.join(dir, s)],
    up: (dir, s) => ['sv', 'u', path.join(dir, s)],
    // SIGHUP: runsvdir sends TERM to each runsv (which stops its service) and exits.
    stop: (p) => endTree(p, () => p.kill('SIGHUP')),
  },
  {
    name: 'syndicate-server',
    needs: [],
    start: async (dir, services, crash) => {
      // Config and state beside the service folders (the config watcher skips dot folders).
      const conf = path.join(dir, '../conf');
      mkdirSync(conf);
      const lines = services.map((s) => s === crash
        ? `<require-service <daemon ${s}>> <daemon ${s} {argv: ["${path.join(dir, s, 'run')}"] restartDelay: 0 restartMaxDelay: 0}>`
        : `<require-service <daemon ${s}>> <daemon ${s} ["${path.join(dir, s, 'run')}"]>`);
      writeFileSync(path.join(conf, 'services.pr'), lines.join('\n') + '\n');
      return spawn(process.execPath, [path.join(top, 'bin/syndicate-server.js'), '--no-banner', '--state', path.join(dir, '../state'), '-c', conf],
        { stdio: 'ignore', detached: true });
    },
    down: (dir, s) => [process.execPath, path.join(top, 'bin/syndicate-ctl.js'), '--socket', path.join(dir, '../state/control.sock'), 'stop', s],
    up: (dir, s) => [process.execPath, path.join(top, 'bin/syndicate-ctl.js'), '--socket', path.join(dir, '../state/control.sock'), 'start', s],
    stop: (p) => endTree(p, () => p.kill('SIGTERM')),
  },
];

/** A temp folder with a FIFO every run script reports to; `marks` gets "NAME PID" lines as they come. */
class Workspace {
  readonly root = mkdtempSync(path.join(tmpdir(), `peers-bench-${process.pid}-`));
  /** The service folders, one per service: a scan directory (s6) or service directory (runit). */
  readonly dir = path.join(this.root, 'sv');
  readonly fifo = path.join(this.root, 'fifo');
  readonly pids = new Set<number>();
  private reader: net.Socket;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  marks: { name: string; pid: number; at: number }[] = [];

  constructor() {
    mkdirSync(this.dir);
    spawnSync('mkfifo', [this.fifo]);
    // Read-write: opening never blocks and the FIFO never reports end-of-file.
    this.reader = new net.Socket({ fd: openSync(this.fifo, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
    let rest = '';
    this.reader.setEncoding('utf8');
    this.reader.on('data', (chunk: string) => {
      const at = now();
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const [name, pid] = l.split(' ');
        this.marks.push({ name: name!, pid: Number(pid), at });
        this.pids.add(Number(pid));
      }
      this.waiters = this.waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
    });
  }

  /** A service folder `dir/NAME` whose run script reports, then execs `cmd`. */
  service(name: string, cmd: string): string {
    const d = path.join(this.dir, name);
    mkdirSync(d);
    const run = path.join(d, 'run');
    writeFileSync(run, `#!/bin/sh\necho "${name} $$" > ${this.fifo}\nexec ${cmd}\n`);
    chmodSync(run, 0o755);
    return run;
  }

  /** Resolves once `pred` holds (checked on every mark); rejects after `ms`. */
  until(pred: () => boolean, what: string, ms = 60_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what} (${this.marks.length} starts seen)`)), ms);
      this.waiters.push({ pred, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }

  count(name: string): number {
    return this.marks.filter((m) => m.name === name).length;
  }

  close(): void {
    this.reader.destroy();
    for (const pid of this.pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Resolves when `pid` no longer exists (polled every millisecond). */
async function gone(pid: number, ms = 30_000): Promise<void> {
  const deadline = now() + ms;
  for (;;) {
    try { process.kill(pid, 0); } catch { return; }
    if (now() > deadline) throw new Error(`pid ${pid} still there`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function run(argv: string[]): Promise<void> {
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => void (err += d));
  const code = await new Promise<number | null>((r) => p.once('close', r));
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`);
}

/** Proportional set size (MB) of every process in process group `pgid` but `except` (the services themselves). */
function groupPss(pgid: number, except: Set<number>): number {
  let kb = 0;
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!(pid > 0) || except.has(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state ppid pgrp …
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch { /* gone meanwhile */ }
  }
  return kb / 1024;
}

const intervals = (ats: number[]) => ats.slice(1).map((x, i) => x - ats[i]!);

/** Crash → respawn: intervals between consecutive starts of a run script that exits at once. */
async function crashCycles(peer: Peer | 'raw'): Promise<number[]> {
  console.log(`# ${peer === 'raw' ? 'raw spawn' : peer.name}: crash→respawn`);
  const ws = new Workspace();
  const run = ws.service('crasher', 'false');
  let sup: ChildProcess | undefined;
  let stopped = false;
  try {
    const t0 = now();
    const enough = () => ws.count('crasher') > CYCLES || (ws.count('crasher') > 3 && now() - t0 > CYCLE_BUDGET_MS);
    if (peer === 'raw') {
      const again = (): void => { if (!stopped) spawn(run, [], { stdio: 'ignore' }).once('exit', again); };
      again();
    } else {
      sup = await peer.start(ws.dir, ['crasher'], 'crasher');
    }
    // Wakes on every mark; the time budget is checked then too.
    await ws.until(enough, 'crash cycles', CYCLE_BUDGET_MS + 30_000);
    return intervals(ws.marks.filter((m) => m.name === 'crasher').map((m) => m.at));
  } finally {
    stopped = true;
    if (sup !== undefined && peer !== 'raw') await peer.stop(sup, ws.dir);
    ws.close();
  }
}

/** N sleep services: ms from starting the supervisor to every run script started; then stop/start round trips of one. */
async function manyThenRoundTrips(peer: Peer | 'raw'): Promise<{ many: number; trips: number[]; pss: number }> {
  console.log(`# ${peer === 'raw' ? 'raw spawn' : peer.name}: ${SERVICES} services, then stop/start`);
  const ws = new Workspace();
  const names = Array.from({ length: SERVICES }, (_, i) => `s${i}`);
  const runs = names.map((n) => ws.service(n, 'sleep 1000'));
  let sup: ChildProcess | undefined;
  const raw = new Map<string, ChildProcess>();
  try {
    const t0 = now();
    if (peer === 'raw') for (const [i, n] of names.entries()) raw.set(n, spawn(runs[i]!, [], { stdio: 'ignore' }));
    else sup = await peer.start(ws.dir, names);
    await ws.until(() => new Set(ws.marks.map((m) => m.name)).size === SERVICES, `${SERVICES} services started`);
    const many = now() - t0;
    const pss = sup === undefined ? 0 : groupPss(sup.pid!, ws.pids);
    const trips: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const before = ws.count('s0');
      const pid = ws.marks.filter((m) => m.name === 's0').at(-1)!.pid;
      const t1 = now();
      if (peer === 'raw') {
        const c = raw.get('s0')!;
        c.kill('SIGTERM');
        await exited(c);
        raw.set('s0', spawn(runs[0]!, [], { stdio: 'ignore' }));
      } else {
        await run(peer.down(ws.dir, 's0'));
        await gone(pid);
        await run(peer.up(ws.dir, 's0'));
      }
      await ws.until(() => ws.count('s0') > before, 's0 started again');
      trips.push(now() - t1);
    }
    return { many, trips, pss };
  } finally {
    if (sup !== undefined && peer !== 'raw') await peer.stop(sup, ws.dir);
    for (const c of raw.values()) c.kill('SIGKILL');
    ws.close();
  }
}

const figures: Figure[] = [];
const rawCycles = median(await crashCycles('raw'));
const rawMany = await manyThenRoundTrips('raw');
for (const peer of PEERS) {
  const missing = peer.needs.filter((c) => !installed(c));
  if (missing.length > 0) {
    console.log(`# ${peer.name}: not installed (no ${missing.join(', ')})`);
    continue;
  }
  const cycles = await crashCycles(peer);
  console.log(`# ${peer.name}: ${cycles.length} crash→respawn intervals`);
  figures.push(figure('peers', `${peer.name}: crash→respawn interval, median`, median(cycles), 'ms', rawCycles));
  const m = await manyThenRoundTrips(peer);
  figures.push(figure('peers', `${peer.name}: ${SERVICES} sleep services to started`, m.many, 'ms', rawMany.many));
  figures.push(figure('peers', `${peer.name}: memory (PSS) of the supervisor's processes with ${SERVICES} services`, m.pss, 'MB'));
  figures.push(figure('peers', `${peer.name}: stop, then start (commands as processes) until started, median`, median(m.trips), 'ms', median(rawMany.trips)));
}
report(figures);
