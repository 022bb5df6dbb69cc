// syndicate-ctl: a restart round trip through an already connected client, and whole-process
// wall times of `status` and `restart --wait`, against `node -e ''` started the same way.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { P, type Assertion } from '../src/bus/index.ts';
import { connectBus } from '../src/cli/ctl/connect.ts';
import { Service } from '../src/services/service-protocol.ts';
import { record, sym } from '../src/preserves/index.ts';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const ROUND_TRIPS = 50;
const PROCESS_RUNS = 10;
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
  for (let i = 0; i < ROUND_TRIPS; i++) {
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
  await conn.close();

  const timeProcess = (args: string[]): number[] => {
    const xs: number[] = [];
    for (let i = 0; i < PROCESS_RUNS; i++) {
      const t0 = now();
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
      xs.push(now() - t0);
    }
    return xs;
  };
  const baseline = timeProcess(['-e', '']);
  const status = timeProcess(['bin/syndicate-ctl.js', '--socket', socket, 'status']);
  const restart = timeProcess(['bin/syndicate-ctl.js', '--socket', socket, 'restart', 'svc', '--wait']);
  bus.kill('SIGTERM');
  await new Promise((r) => bus.on('exit', r));
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
  return [
    figure('ctl', 'connected restart-service to ready, median', pct(trips, 0.5), 'ms'),
    figure('ctl', 'connected restart-service to ready, p99', pct(trips, 0.99), 'ms'),
    figure('ctl', 'syndicate-ctl status, whole process, median', pct(status, 0.5), 'ms', pct(baseline, 0.5)),
    figure('ctl', 'syndicate-ctl restart --wait, whole process, median', pct(restart, 0.5), 'ms', pct(baseline, 0.5)),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await bench());
