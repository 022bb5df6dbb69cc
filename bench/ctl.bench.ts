// syndicate-ctl: a restart round trip through an already connected client, against the same
// command's own spawn-to-ready (a raw `child_process.spawn` as the daemon service makes it), and
// whole-process wall times of `status`, `restart --wait` and `start --wait` (of a stopped
// service), against `node -e ''` started the same way. Samples of a figure and its baseline are
// interleaved, so load on the machine weighs on both alike. Run `npm run build` first: the
// programs start from dist/ only when it is newer than src/.
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { P, type Assertion } from '../src/bus/index.ts';
import { connectBus } from '../src/cli/ctl/connect.ts';
import { parseCtlArgs } from '../src/cli/ctl/arguments.ts';
import { runCommand } from '../src/cli/syndicate-ctl.ts';
import { Service } from '../src/services/supervision/service-protocol.ts';
import { record, sym } from '../src/preserves/index.ts';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const ROUND_TRIPS = 50;
const PROCESS_RUNS = 10;
const START_RUNS = 20;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** Runs the benchmark and returns its figures. */
export async function bench(): Promise<Figure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ctl-bench-'));
  const state = await mkdtemp(path.join(tmpdir(), 'ctl-bench-state-'));
  await writeFile(path.join(dir, 'svc.pr'), '<require-service <daemon svc>>\n<daemon svc "exec sleep 1000">\n');
  const socket = path.join(state, 'control.sock');
  const bus = spawn(process.execPath, ['bin/syndicate-server.js', '--no-banner', '--state', state, '-c', dir], { stdio: 'ignore' });
  const ctl = (...args: string[]) => spawnSync(process.execPath, ['bin/syndicate-ctl.js', '--socket', socket, ...args], { encoding: 'utf8' });
  while (ctl('status').status !== 0) await new Promise((r) => setTimeout(r, 50));

  // Connected round trip: restart-service, then wait for a fresh `ready` (its since-time changes).
  const conn = await connectBus({ socket, stateDir: state }, 30000);
  const name = record('daemon', sym('svc')) as Assertion;
  const readySince = (): Promise<string> => new Promise((resolve) => conn.turn((t, config) => {
    t.facet((t) => {
      const f = t.activeFacet;
      t.preventInertCheck();
      t.observe(config, P.rec('service-state-since', P.lit(name), P.lit(sym('ready')), P.bind()), {
        added: (t, [since]) => { resolve(since as string); t.stop(f); },
      });
    });
  }));
  let last = await readySince();
  const trips: number[] = [];
  const spawnToReady: number[] = [];
  const rawRestarts: number[] = [];
  // The daemon's own command as the daemon service spawns it (`sh -c`, own session, piped output);
  // without a readiness protocol the process is ready once spawned.
  const rawSpawn = async (): Promise<[ChildProcess, number]> => {
    const t0 = now();
    const c = spawn('sh', ['-c', 'exec sleep 1000'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    await new Promise((r) => c.once('spawn', r));
    return [c, now() - t0];
  };
  const rawStop = (c: ChildProcess): Promise<unknown> => {
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    return gone;
  };
  let raw = (await rawSpawn())[0];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    // Baselines, interleaved with the trips: spawn-to-ready alone, and a raw restart (SIGTERM,
    // exit, spawn again) of the same command.
    const [c, spawnMs] = await rawSpawn();
    spawnToReady.push(spawnMs);
    await rawStop(c);
    const r0 = now();
    await rawStop(raw);
    raw = (await rawSpawn())[0];
    rawRestarts.push(now() - r0);

    const t0 = now();
    const fresh = new Promise<string>((resolve) => conn.turn((t, config) => {
      t.facet((t) => {
        const f = t.activeFacet;
        t.preventInertCheck();
        t.observe(config, P.rec('service-state-since', P.lit(name), P.lit(sym('ready')), P.bind()), {
          added: (t, [since]) => { if (since !== last) { resolve(since as string); t.stop(f); } },
        });
        t.message(config, Service.restart(name));
      });
    }));
    last = await fresh;
    trips.push(now() - t0);
  }
  await rawStop(raw);
  // The "stop, then start and wait until up", connected: syndicate-ctl's own start
  // --wait (check, both kept requests, wait) on the open connection, after an untimed stop.
  const starts: number[] = [];
  const startSpawns: number[] = [];
  for (let i = 0; i < START_RUNS; i++) {
    if (await runCommand(conn, parseCtlArgs(['stop', 'svc', '--wait']), () => {}, state) !== 0) throw new Error('stop failed');
    const [c, spawnMs] = await rawSpawn();
    startSpawns.push(spawnMs);
    await rawStop(c);
    const t0 = now();
    if (await runCommand(conn, parseCtlArgs(['start', 'svc', '--wait']), () => {}, state) !== 0) throw new Error('start failed');
    starts.push(now() - t0);
  }
  await conn.close();

  const timeProcess = (args: string[]): number => {
    const t0 = now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    return now() - t0;
  };
  const ctlArgs = (...args: string[]) => ['bin/syndicate-ctl.js', '--socket', socket, ...args];
  const baseline: number[] = [];
  const status: number[] = [];
  const restart: number[] = [];
  const start: number[] = [];
  for (let i = 0; i < PROCESS_RUNS; i++) {
    baseline.push(timeProcess(['-e', '']));
    status.push(timeProcess(ctlArgs('status')));
    restart.push(timeProcess(ctlArgs('restart', 'svc', '--wait')));
    timeProcess(ctlArgs('stop', 'svc', '--wait')); // not timed: start needs a stopped service
    start.push(timeProcess(ctlArgs('start', 'svc', '--wait')));
  }
  bus.kill('SIGTERM');
  await new Promise((r) => bus.on('exit', r));
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
  return [
    figure('ctl', 'connected restart-service to ready, median', pct(trips, 0.5), 'ms', pct(spawnToReady, 0.5)),
    figure('ctl', 'connected restart-service to ready, ms above spawn-to-ready', pct(trips, 0.5) - pct(spawnToReady, 0.5), 'ms'),
    figure('ctl', 'connected restart-service to ready, p99', pct(trips, 0.99), 'ms', pct(spawnToReady, 0.99)),
    figure('ctl', 'connected stop, then start --wait to ready (syndicate-ctl runCommand), median', pct(starts, 0.5), 'ms', pct(startSpawns, 0.5)),
    figure('ctl', 'raw restart of the same command (SIGTERM, exit, spawn), median', pct(rawRestarts, 0.5), 'ms', pct(spawnToReady, 0.5)),
    figure('ctl', 'syndicate-ctl status, whole process, median', pct(status, 0.5), 'ms', pct(baseline, 0.5)),
    figure('ctl', 'syndicate-ctl restart --wait, whole process, median', pct(restart, 0.5), 'ms', pct(baseline, 0.5)),
    figure('ctl', 'syndicate-ctl start --wait, whole process, median', pct(start, 0.5), 'ms', pct(baseline, 0.5)),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await bench());
