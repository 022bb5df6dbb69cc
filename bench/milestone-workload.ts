// The milestone workload of issue 15, shared by bench/services.bench.ts (its figure) and
// bench/milestones.bench.ts (the same in detail): `n` required milestones in a binary tree of
// depends-on, each `started`/`ready`/`up` once run, timed from the asserting turn to all `up`.
import { parse } from '../src/preserves/index.ts';
import { P, settle, type Assertion, type Turn } from '../src/bus/index.ts';
import { daemonService } from '../src/services/supervision/daemon-service.ts';
import { Service, ServicePattern } from '../src/services/supervision/service-protocol.ts';
import { shutdownSystem } from '../src/services/shutdown.ts';
import { scriptEnvironment, startSystem, type System } from '../src/services/system.ts';
import { startScript } from '../src/config-lang/evaluator.ts';
import { envFromDictionary } from '../src/config-lang/environment.ts';
import { loadScriptText } from '../src/config-lang/script-file.ts';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const v = (s: string) => parse(s) as Assertion;

/** A system with the daemon service and a silent log, as the service benches run it. */
export function benchSystem(onBoot?: (t: Turn, s: System) => void): System {
  return startSystem({ writeLog: () => {}, services: (config, log) => [daemonService(config, log)], onBoot });
}

/** The milestone idiom as a config script (etc/syndicate/boot/010-milestone.pr, plus `up`). */
const MILESTONE_SCRIPT = loadScriptText(`? <run-service <milestone ?m>> [
  <service-state <milestone $m> started>
  <service-state <milestone $m> ready>
  <service-state <milestone $m> up>
]`, 'milestone.pr');

/** Called around the timed window (a profiler, a CPU clock). */
export interface TimedWindow {
  begin?(): Promise<void> | void;
  end?(): Promise<void> | void;
}

/**
 * ms from asserting `n` required milestones to all `up`; the milestone idiom as a direct
 * subscription or run by the script evaluator.
 */
export async function milestonesUp(n: number, via: 'subscription' | 'script' = 'subscription', window: TimedWindow = {}): Promise<number> {
  let up = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const s = benchSystem((t, s) => {
    if (via === 'script') {
      if (MILESTONE_SCRIPT.kind !== 'ok') throw new Error('milestone script does not parse');
      startScript(t, MILESTONE_SCRIPT.instructions, envFromDictionary(scriptEnvironment(s.config, s.log)), { path: 'milestone.pr', scriptDir: '.' });
    } else {
      t.during(s.config, ServicePattern.run(P.bind(P.rec('milestone', P.discard()))), (t, [m]) => {
        t.assert(s.config, Service.state(m, 'started'));
        t.assert(s.config, Service.state(m, 'ready'));
        t.assert(s.config, Service.state(m, 'up'));
      });
    }
    t.observe(s.config, ServicePattern.state(P.bind(), P.lit(Symbol.for('up'))), {
      added: () => { if (++up === n) done(); },
    });
  });
  await settle();
  await window.begin?.();
  const t0 = now();
  s.actor.root.turn((t) => {
    for (let i = 0; i < n; i++) {
      const m = v(`<milestone m${i}>`);
      t.assert(s.config, Service.require(m));
      if (i > 0) t.assert(s.config, Service.dependsOn(m, Service.state(v(`<milestone m${(i - 1) >> 1}>`), 'up')));
    }
  });
  await finished;
  const ms = now() - t0;
  await window.end?.();
  await shutdownSystem(s);
  return ms;
}
