// The dependency tracker (spec §4.2): turns `<require-service X>` plus `<depends-on X D>` into
// `<run-service X>` while every D holds, requiring each dependee in turn. Beyond the reference,
// `<service-hold X>` holds X down (an operator's `syndicate-ctl stop`).
import { P, log, type Ref, type Turn } from '../bus/index.ts';
import { Service, ServicePattern, parseServiceState } from './service-protocol.ts';

/** Runs the tracker in the active facet, for every service required in `config`. */
export function trackDependencies(t: Turn, config: Ref): void {
  t.during(config, ServicePattern.require(P.bind()), (t, [name]) => {
    // One obstacle until a sync round trip has counted the depends-on already present.
    const obstacles = t.field(1, 'obstacles');
    t.during(config, ServicePattern.dependsOn(P.lit(name), P.bind()), (t, [dep]) => {
      const s = parseServiceState(dep);
      if (s !== undefined) t.assert(config, Service.require(s.name));
      else log({ level: 'warn', actor: t.actor.name, message: 'depends-on a value that is not a service-state; used as a plain gate' });
      obstacles.value++;
      t.onStop(() => void obstacles.value--);
      t.during(config, P.lit(dep), (t) => {
        obstacles.value--;
        t.onStop(() => void obstacles.value++);
      });
    });
    // `<service-hold X>` (syndicate-ctl stop) keeps X from running while it is asserted.
    t.during(config, ServicePattern.hold(P.lit(name)), (t) => {
      obstacles.value++;
      t.onStop(() => void obstacles.value--);
    });
    t.sync(config, () => void obstacles.value--);
    // When the last obstacle goes, one more round trip with the config space before running:
    // a dependency asserted in reaction to the same change (a script's `?` body, say) is then
    // counted first, so a service does not start only to be torn down again at once.
    const runnable = t.field(false, 'runnable');
    let generation = 0;
    t.dataflow((t) => {
      const clear = obstacles.value === 0;
      const g = ++generation;
      if (!clear) {
        runnable.value = false;
        return;
      }
      t.sync(config, () => {
        if (g === generation && obstacles.peek() === 0) runnable.value = true;
      });
    });
    t.assertDataflow(config, () => (runnable.value ? Service.run(name) : undefined));
  });
}
