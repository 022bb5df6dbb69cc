// 1 000 milestone services to `up`, in detail: the figure of bench/services.bench.ts (one cold
// run in a fresh system) and the median of warm runs, so a profile can tell start-up cost
// (module loading, JIT) from the per-service path; CPU time of the timed windows is printed
// too (wall time suffers most when the machine is busy). Baseline: the engine's floor, the
// same number of `up` states asserted directly. `PROFILE=f.cpuprofile` writes a CPU profile
// of the timed windows of the warm runs (with `PROFILE_COLD=1`: of the first run).
import { parse } from '../src/preserves/index.ts';
import { P, settle, type Assertion } from '../src/bus/index.ts';
import { Service, ServicePattern } from '../src/services/supervision/service-protocol.ts';
import { shutdownSystem } from '../src/services/shutdown.ts';
import { benchSystem, milestonesUp as runMilestones, type TimedWindow } from './milestone-workload.ts';
import { figure, report, type Figure } from './report.ts';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const N = Number(process.env.MILESTONES ?? 1000);
const RUNS = Number(process.env.RUNS ?? 7);
/** `PROFILE=file.cpuprofile`: a CPU profile of the timed windows of the warm runs only. */
const PROFILE = process.env.PROFILE;
let session: Session | null = null;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const v = (s: string) => parse(s) as Assertion;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const system = benchSystem;

/** Around each timed window: the CPU clock, and the profiler when one runs. */
let c0 = process.cpuUsage();
const timed: TimedWindow = {
  begin: async () => {
    await session?.post('Profiler.start');
    c0 = process.cpuUsage();
  },
  end: async () => {
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (session !== null) profiles.push((await session.post('Profiler.stop')).profile);
  },
};
const milestonesUp = (n: number, via: 'subscription' | 'script' = 'subscription') => runMilestones(n, via, timed);

/**
 * The floor under the figure, as a same-run baseline: the same system, the same names parsed
 * in the timed turn, but each milestone's `up` state asserted directly (no require, depends-on,
 * tracker, run-service or script idiom): one assertion and one event per service.
 */
async function statesUp(n: number): Promise<number> {
  let up = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const s = system((t, s) => {
    t.observe(s.config, ServicePattern.state(P.bind(), P.lit(Symbol.for('up'))), {
      added: () => { if (++up === n) done(); },
    });
  });
  await settle();
  const t0 = now();
  s.actor.root.turn((t) => {
    for (let i = 0; i < n; i++) t.assert(s.config, Service.state(v(`<milestone m${i}>`), 'up'));
  });
  await finished;
  const ms = now() - t0;
  await shutdownSystem(s);
  return ms;
}

const profiles: object[] = [];
/** CPU ms of each run's timed window (wall time is at the mercy of a busy machine). */
const cpu: number[] = [];
const figures: Figure[] = [];
/** `PROFILE_COLD=1`: profile the first run instead of the warm ones. */
const profileCold = process.env.PROFILE_COLD === '1';
const startProfiler = async (): Promise<void> => {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
};
if (PROFILE !== undefined && profileCold) await startProfiler();
const cold = await milestonesUp(N);
if (PROFILE !== undefined) {
  if (profileCold) session = null;
  else await startProfiler();
}
const warm: number[] = [];
for (let i = 0; i < RUNS; i++) warm.push(await milestonesUp(N));
console.log(`# cold ${cold.toFixed(1)} ms; warm runs ${warm.map((x) => x.toFixed(1)).join(' ')}`);
console.log(`# CPU ms: cold ${cpu[0].toFixed(1)}; warm median ${warm.length > 0 ? median(cpu.slice(1)).toFixed(1) : '-'}`);
const scripted: number[] = [];
for (let i = 0; i < Math.max(RUNS, 1); i++) scripted.push(await milestonesUp(N, 'script'));
console.log(`# through the script evaluator: ${scripted.map((x) => x.toFixed(1)).join(' ')}`);
const floor: number[] = [];
for (let i = 0; i < Math.max(RUNS, 1); i++) floor.push(await statesUp(N));
figures.push(figure('milestones', `${N} milestone services to up, first run`, cold, 'ms'));
if (warm.length > 0) figures.push(figure('milestones', `${N} milestone services to up, warm median (baseline: ${N} up states asserted directly)`, median(warm), 'ms', median(floor)));
if (PROFILE !== undefined) writeFileSync(PROFILE, JSON.stringify(mergeProfiles(profiles)));
figures.push(figure('milestones', `${N} milestone services to up, the idiom as a script, warm median (baseline: the idiom as a subscription)`, median(scripted), 'ms', median(warm.length > 0 ? warm : [cold])));
report(figures);

/** The warm runs' profiles as one (their samples appended; node ids are per profile, so renumbered). */
function mergeProfiles(ps: object[]): object {
  type Node = { id: number; children?: number[] };
  type Prof = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const out: Prof = { nodes: [], samples: [], timeDeltas: [], startTime: 0, endTime: 0 };
  let base = 0;
  for (const p of ps as Prof[]) {
    for (const n of p.nodes) out.nodes.push({ ...n, id: n.id + base, children: n.children?.map((c) => c + base) });
    out.samples.push(...p.samples.map((s) => s + base));
    out.timeDeltas.push(...p.timeDeltas);
    out.endTime += p.endTime - p.startTime;
    base += Math.max(...p.nodes.map((n) => n.id));
  }
  return out;
}
