// The dependency tracker (spec §4.2): turns `<require-service X>` plus `<depends-on X D>` into
// `<run-service X>` while every D holds, requiring each dependee in turn. Beyond the reference,
// `<service-hold X>` holds X down (an operator's `syndicate-ctl stop`).
import { P, log, showAssertion as show, type Ref, type Turn } from '../../bus/index.ts';
import { Service, ServicePattern, parseServiceState } from './service-protocol.ts';

/** Runs the tracker in the active facet, for every service required in `config`. */
export function trackDependencies(t: Turn, config: Ref): void {
  reportCycles(t, config);
  t.during(config, ServicePattern.require(P.bind()), (t, [name]) => {
    // One obstacle until a sync round trip has counted the depends-on already present.
    const obstacles = t.field(1, 'obstacles');
    t.during(config, ServicePattern.dependsOn(P.lit(name), P.bind()), (t, [dep]) => {
      const s = parseServiceState(dep);
      if (s !== undefined) t.assert(config, Service.require(s.name));
      else log({ level: 'info', actor: 'dependency-tracker', message: `${show(name)} depends on ${show(dep)}, which is not a <service-state …>: it waits until exactly that is asserted` });
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

/**
 * Logs one line each time a `<depends-on X <service-state Y _>>` closes a cycle of services
 * (none of which can then start), naming the services around it.
 */
function reportCycles(t: Turn, config: Ref): void {
  const edges = new Map<string, Map<string, number>>();
  const pathBetween = (from: string, to: string): string[] | null => {
    const prev = new Map<string, string>([[from, from]]);
    const queue = [from];
    while (queue.length > 0) {
      const v = queue.shift()!;
      if (v === to) {
        const path = [to];
        for (let x = to; x !== from; ) path.unshift((x = prev.get(x)!));
        return path;
      }
      for (const w of edges.get(v)?.keys() ?? []) if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
    }
    return null;
  };
  t.during(config, ServicePattern.dependsOn(P.bind(), P.bind()), (t, [name, dep]) => {
    const s = parseServiceState(dep);
    if (s === undefined) return;
    const from = show(name);
    const to = show(s.name);
    const out = edges.get(from) ?? new Map<string, number>();
    edges.set(from, out);
    const count = out.get(to) ?? 0;
    out.set(to, count + 1);
    if (count === 0) {
      const back = pathBetween(to, from);
      if (back !== null) log({ level: 'warn', actor: 'dependency-tracker', message: `dependency cycle: ${[from, ...back].join(' -> ')}; none of these services can start` });
    }
    t.onStop(() => {
      const n = out.get(to)! - 1;
      if (n > 0) out.set(to, n);
      else out.delete(to);
    });
  });
}
