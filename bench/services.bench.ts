// Services: crash-to-respawn at restartDelay 0 (against raw child_process.spawn spawn-to-exit
// of the same program), 1 000 milestone-style services to `up`, 200 process daemons to ready
// (against 200 raw spawns), and resident memory with 100 sleeping daemons (against the bus with
// none, and that against an idle node).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Dictionary, parse } from '../src/preserves/index.ts';
import { P, settle, type Assertion, type Turn } from '../src/bus/index.ts';
import { daemonService } from '../src/services/supervision/daemon-service.ts';
import { Service, ServicePattern } from '../src/services/supervision/service-protocol.ts';
import { shutdownSystem } from '../src/services/shutdown.ts';
import { startSystem, type System } from '../src/services/system.ts';
import { figure, report, type Figure } from './report.ts';
import { milestonesUp } from './milestone-workload.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const RESPAWNS = 300;
const MILESTONES = 1000;
const PROCESSES = 200;
const SLEEPERS = 100;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const v = (s: string) => parse(s) as Assertion;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];

function system(onBoot?: (t: Turn, s: System) => void): System {
  return startSystem({ writeLog: () => {}, services: (config, log) => [daemonService(config, log)], onBoot });
}

function act(s: System, f: (t: Turn) => void): void {
  s.actor.root.turn(f);
}

/** Raw spawn-to-exit of `prog`, sequentially, in ms. */
async function rawSpawnToExit(prog: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await new Promise<void>((resolve, reject) => {
      const c = spawn(prog, [], { stdio: ['ignore', 'pipe', 'pipe'] });
      c.once('error', reject);
      c.once('exit', () => resolve());
    });
    out.push(now() - t0);
  }
  return out;
}

/** A daemon `false` with restartDelay 0: the time between consecutive exits is one crash → respawn → crash. */
async function respawnCycles(n: number): Promise<number[]> {
  const exits: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const s = system((t, s) => {
    t.onMessage(s.log, P.rec('log', P.discard(), P.bind()), (_t, [d]) => {
      const text = d instanceof Dictionary ? String(d.get(Symbol.for('line')) ?? '') : '';
      if (!text.includes(' ended: ')) return;
      exits.push(now());
      if (exits.length === n + 1) done();
    });
  });
  act(s, (t) => {
    t.assert(s.config, v('<daemon crasher {argv: ["false"] restartDelay: 0 restartMaxDelay: 0}>'));
    t.assert(s.config, Service.require(v('<daemon crasher>')));
  });
  await finished;
  await shutdownSystem(s);
  return exits.slice(1).map((x, i) => x - exits[i]);
}

/** `n` daemons `sleep 1000`: ms from require-service to all ready. */
async function processesReady(n: number): Promise<number> {
  let ready = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const s = system((t, s) => {
    t.observe(s.config, ServicePattern.state(P.bind(), P.lit(Symbol.for('ready'))), {
      added: () => { if (++ready === n) done(); },
    });
  });
  await settle();
  const t0 = now();
  act(s, (t) => {
    for (let i = 0; i < n; i++) {
      t.assert(s.config, v(`<daemon p${i} ["sleep" "1000"]>`));
      t.assert(s.config, Service.require(v(`<daemon p${i}>`)));
    }
  });
  await finished;
  const ms = now() - t0;
  await shutdownSystem(s);
  return ms;
}

/** Raw: `n` spawns of `sleep 1000` until every one has its 'spawn' event; then killed. */
async function rawSpawnMany(n: number): Promise<number> {
  const t0 = now();
  const children = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof spawn>>((resolve, reject) => {
    const c = spawn('sleep', ['1000'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    c.once('error', reject);
    c.once('spawn', () => resolve(c));
  })));
  const ms = now() - t0;
  await Promise.all(children.map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGKILL'); })));
  return ms;
}

/** Resident memory (MB) of a real `syndicate-server` process running `n` sleeping daemons. */
async function busRss(n: number): Promise<number> {
  const { mkdtemp, rm, writeFile, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'rss-config-'));
  const state = await mkdtemp(path.join(tmpdir(), 'rss-state-'));
  let script = '';
  for (let i = 0; i < n; i++) script += `<require-service <daemon s${i}>> <daemon s${i} "exec sleep 1000">\n`;
  await writeFile(path.join(dir, 'sleepers.pr'), script);
  const top = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
  const bus = spawn(process.execPath, [path.join(top, 'bin/syndicate-server.js'), '--no-banner', '--state', state, '-c', dir], { stdio: 'ignore' });
  const { spawnSync } = await import('node:child_process');
  for (;;) {
    const r = spawnSync(process.execPath, [path.join(top, 'bin/syndicate-ctl.js'), '--socket', path.join(state, 'control.sock'), 'status', '--json'], { encoding: 'utf8' });
    if (r.status === 0 && (JSON.parse(r.stdout) as { state: string }[]).filter((x) => x.state === 'ready').length >= n + 2) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const status = await readFile(`/proc/${bus.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  bus.kill('SIGTERM');
  await new Promise((r) => bus.once('exit', r));
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
  return kb / 1024;
}

/** Resident memory (MB) of an idle `node` (a pending timer, nothing loaded): the floor of any Node bus. */
async function idleNodeRss(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e9)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const kb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${c.pid}/status`, 'utf8'))![1]);
  c.kill('SIGKILL');
  await new Promise((r) => c.once('exit', r));
  return kb / 1024;
}

const figures: Figure[] = [];
await rawSpawnToExit('false', 20); // warm-up
// Raw and ours in alternating blocks, so a change of load on a shared machine hits both alike.
const BLOCKS = 3;
const raw: number[] = [];
const cycles: number[] = [];
for (let b = 0; b < BLOCKS; b++) {
  raw.push(...await rawSpawnToExit('false', RESPAWNS / BLOCKS));
  cycles.push(...await respawnCycles(RESPAWNS / BLOCKS));
}
figures.push(figure('services', 'crash-to-respawn median (restartDelay 0, `false`)', median(cycles), 'ms', median(raw)));
figures.push(figure('services', 'crash-to-respawn p99', p99(cycles), 'ms', p99(raw)));
figures.push(figure('services', `${MILESTONES} milestone services to up`, await milestonesUp(MILESTONES), 'ms'));
const rawManys: number[] = [];
const manys: number[] = [];
for (let b = 0; b < BLOCKS; b++) {
  rawManys.push(await rawSpawnMany(PROCESSES));
  manys.push(await processesReady(PROCESSES));
}
figures.push(figure('services', `${PROCESSES} process daemons to ready (median of ${BLOCKS})`, median(manys), 'ms', median(rawManys)));
// The real server process (compiled when `npm run build` is fresh); baseline: the same with none.
const withDaemons = await busRss(SLEEPERS);
const withNone = await busRss(0);
figures.push(figure('services', `resident memory of the bus with ${SLEEPERS} sleeping daemons`, withDaemons, 'MB', withNone));
// Targets (issue 15): ≤ 15 KB per daemon; the bus with none ≤ 1.3× an idle node.
figures.push(figure('services', 'resident memory per daemon (above the bus with none)', (withDaemons - withNone) * 1024 / SLEEPERS, 'KB'));
figures.push(figure('services', 'resident memory of the bus with no daemons', withNone, 'MB', await idleNodeRss()));
report(figures);
