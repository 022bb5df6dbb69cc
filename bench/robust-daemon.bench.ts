// A bus while a daemon floods its output: event-loop delay (p99) with `yes` running as a daemon
// (its lines going to the log dataspace and its log file), against the same bus idle with one
// quiet daemon, in the same run. Also the bus's resident memory growth during the flood.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parse } from '../src/preserves/index.ts';
import { settle, type Assertion, type Handle } from '../src/bus/index.ts';
import { daemonService } from '../src/services/supervision/daemon-service.ts';
import { Service } from '../src/services/supervision/service-protocol.ts';
import { shutdownSystem } from '../src/services/shutdown.ts';
import { startSystem } from '../src/services/system.ts';
import { figure, report } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const WINDOW_MS = 3000;
const v = (s: string) => parse(s) as Assertion;

/** p99 of the event-loop delay over `ms`, in milliseconds. */
async function loopDelayP99(ms: number): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  await new Promise((r) => setTimeout(r, ms));
  h.disable();
  return h.percentile(99) / 1e6;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-robust-'));
  let lines = 0;
  const s = startSystem({
    writeLog: () => void lines++,
    services: (config, log) => [daemonService(config, log, { logDir: path.join(dir, 'log'), cgroups: false })],
  });
  const act = async (f: Parameters<typeof s.actor.root.turn>[0]) => { s.actor.root.turn(f); await settle(); };
  try {
    await act((t) => {
      t.assert(s.config, Service.require(v('<daemon quiet>')));
      t.assert(s.config, v('<daemon quiet "exec sleep 1000">'));
    });
    await new Promise((r) => setTimeout(r, 500));
    const idle = await loopDelayP99(WINDOW_MS);

    const rss0 = process.memoryUsage().rss;
    let flood: Handle = 0;
    await act((t) => {
      flood = t.assert(s.config, Service.require(v('<daemon flood>')));
      t.assert(s.config, v('<daemon flood {argv: ["yes" "a line of flood output"] logMaxSize: 1000000 logFiles: 2}>'));
    });
    const before = lines;
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
    const busy = await loopDelayP99(WINDOW_MS);
    clearInterval(sampler);
    const perSecond = ((lines - before) * 1000) / WINDOW_MS;
    await act((t) => t.retract(flood));

    report([
      figure('robust-daemon', 'event-loop delay p99 while a daemon floods its output', busy, 'ms', idle),
      figure('robust-daemon', 'log lines delivered per second during the flood', perSecond, 'lines/s'),
      figure('robust-daemon', 'RSS growth during the flood', (peak - rss0) / 1048576, 'MB'),
    ]);
  } finally {
    await shutdownSystem(s);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
