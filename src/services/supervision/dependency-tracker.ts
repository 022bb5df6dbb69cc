// The dependency tracker (spec §4.2): turns `<require-service X>` plus `<depends-on X D>` into
// `<run-service X>` while every D holds, requiring each dependee in turn. Beyond the reference,
// `<service-hold X>` holds X down (an operator's `syndicate-ctl stop`).
//
// Four subscriptions serve every service (require, depends-on, hold, service-state), and the
// bookkeeping is plain maps keyed by `valueKey`: a subscription per service and per dependency
// cost an `Observe` assertion, an index entry and a facet each, which was most of the time a
// thousand milestones took to come up. Only a dependency that is not a `<service-state …>`
// gets a subscription of its own (one per distinct dependency).
import { valueKey } from '../../preserves/index.ts';
import { P, log, showAssertion as show, type Assertion, type Handle, type Ref, type Turn } from '../../bus/index.ts';
import { Service, ServicePattern, parseServiceState } from './service-protocol.ts';

/** A required service: what keeps it from running, and what it asserted. */
interface Required {
  readonly name: Assertion;
  readonly key: string;
  /** Dependencies not holding, holds, and the first sync round trip not yet back. */
  obstacles: number;
  /** Its dependencies by key: the handle of `<require-service DEPENDEE>` (none for other deps). */
  readonly deps: Map<string, Handle | undefined>;
  /** The handle of `<run-service X>` while it runs. */
  run: Handle | undefined;
  /** Bumped at each change of `obstacles` seen by the gate: a sync answered late is ignored. */
  generation: number;
  alive: boolean;
}

/** A dependency that is not a service state: watched by a literal subscription of its own. */
interface OtherDep {
  handle: Handle;
  present: boolean;
  users: number;
}

/** Runs the tracker in the active facet, for every service required in `config`. */
export function trackDependencies(t: Turn, config: Ref): void {
  const cycles = cycleReporter();
  /** Every `<depends-on X D>` present, required or not: X's key → D's key → D. */
  const dependsOn = new Map<string, Map<string, Assertion>>();
  /** Keys of X with a `<service-hold X>` present. */
  const holds = new Set<string>();
  /** Keys of the `<service-state N S>` present. */
  const states = new Set<string>();
  const others = new Map<string, OtherDep>();
  const required = new Map<string, Required>();
  /** Dependency key → the required services that depend on it. */
  const waiting = new Map<string, Set<Required>>();
  /** Services whose obstacles changed in this turn, and services new in this turn. */
  const dirty = new Set<Required>();
  let fresh: Required[] = [];
  // One dataflow block gates every service at the end of the turn, as a block per service did.
  const tick = t.field(0, 'dependency-changes');
  const touch = (r: Required): void => {
    if (!r.alive) return;
    dirty.add(r);
    tick.changed();
  };

  const present = (depKey: string): boolean => states.has(depKey) || others.get(depKey)?.present === true;

  const attach = (t: Turn, r: Required, depKey: string, dep: Assertion): void => {
    const s = parseServiceState(dep);
    let h: Handle | undefined;
    if (s !== undefined) h = t.assert(config, Service.require(s.name));
    else {
      log({ level: 'info', actor: 'dependency-tracker', message: `${show(r.name)} depends on ${show(dep)}, which is not a <service-state …>: it waits until exactly that is asserted` });
      watchOther(t, depKey, dep);
    }
    r.deps.set(depKey, h);
    let w = waiting.get(depKey);
    if (w === undefined) waiting.set(depKey, (w = new Set()));
    w.add(r);
    if (!present(depKey)) {
      r.obstacles++;
      touch(r);
    }
  };

  const detach = (t: Turn, r: Required, depKey: string): void => {
    const h = r.deps.get(depKey);
    r.deps.delete(depKey);
    const w = waiting.get(depKey)!;
    w.delete(r);
    if (w.size === 0) waiting.delete(depKey);
    if (!present(depKey)) {
      r.obstacles--;
      touch(r);
    }
    if (h !== undefined) t.retract(h);
    else unwatchOther(t, depKey);
  };

  /** The presence of dependency `depKey` changed by `delta` (+1 appeared, -1 went). */
  const presenceChanged = (depKey: string, delta: number): void => {
    for (const r of waiting.get(depKey) ?? []) {
      r.obstacles -= delta;
      touch(r);
    }
  };

  const watchOther = (t: Turn, depKey: string, dep: Assertion): void => {
    const o = others.get(depKey);
    if (o !== undefined) {
      o.users++;
      return;
    }
    // Events of a subscription already withdrawn (its entry replaced or gone) are ignored.
    const entry: OtherDep = { handle: 0, present: false, users: 1 };
    entry.handle = t.observe(config, P.lit(dep), {
      added: () => {
        if (others.get(depKey) !== entry || entry.present) return;
        entry.present = true;
        presenceChanged(depKey, 1);
      },
      removed: () => {
        if (others.get(depKey) !== entry || !entry.present) return;
        entry.present = false;
        presenceChanged(depKey, -1);
      },
    });
    others.set(depKey, entry);
  };

  const unwatchOther = (t: Turn, depKey: string): void => {
    const o = others.get(depKey)!;
    if (--o.users > 0) return;
    others.delete(depKey);
    t.retract(o.handle);
  };

  t.observe(config, ServicePattern.dependsOn(P.bind(), P.bind()), {
    added: (t, [name, dep]) => {
      const key = valueKey(name), depKey = valueKey(dep);
      let ds = dependsOn.get(key);
      if (ds === undefined) dependsOn.set(key, (ds = new Map()));
      ds.set(depKey, dep);
      cycles.added(name, key, dep);
      const r = required.get(key);
      if (r !== undefined) attach(t, r, depKey, dep);
    },
    removed: (t, [name, dep]) => {
      const key = valueKey(name), depKey = valueKey(dep);
      const ds = dependsOn.get(key)!;
      ds.delete(depKey);
      if (ds.size === 0) dependsOn.delete(key);
      cycles.removed(key, dep);
      const r = required.get(key);
      if (r !== undefined) detach(t, r, depKey);
    },
  });

  // `<service-hold X>` (syndicate-ctl stop) keeps X from running while it is asserted.
  t.observe(config, ServicePattern.hold(P.bind()), {
    added: (_t, [name]) => {
      const key = valueKey(name);
      holds.add(key);
      const r = required.get(key);
      if (r !== undefined) {
        r.obstacles++;
        touch(r);
      }
    },
    removed: (_t, [name]) => {
      const key = valueKey(name);
      holds.delete(key);
      const r = required.get(key);
      if (r !== undefined) {
        r.obstacles--;
        touch(r);
      }
    },
  });

  // A dependency `<service-state N S>` holds while that record is asserted. Keyed as the
  // record itself (so extra fields of a state record count, as they did for a literal pattern).
  t.observe(config, ServicePattern.state(P.bind(), P.bind()), {
    added: (_t, [name, state]) => {
      const k = valueKey(Service.state(name, state));
      states.add(k);
      presenceChanged(k, 1);
    },
    removed: (_t, [name, state]) => {
      const k = valueKey(Service.state(name, state));
      states.delete(k);
      presenceChanged(k, -1);
    },
  });

  t.observe(config, ServicePattern.require(P.bind()), {
    added: (t, [name]) => {
      const key = valueKey(name);
      // One obstacle until a sync round trip has counted the depends-on already present.
      const r: Required = { name, key, obstacles: 1 + (holds.has(key) ? 1 : 0), deps: new Map(), run: undefined, generation: 0, alive: true };
      required.set(key, r);
      for (const [depKey, dep] of dependsOn.get(key) ?? []) attach(t, r, depKey, dep);
      fresh.push(r);
      touch(r);
    },
    removed: (t, [name]) => {
      const key = valueKey(name);
      const r = required.get(key);
      if (r === undefined) return;
      required.delete(key);
      r.alive = false;
      dirty.delete(r);
      if (r.run !== undefined) t.retract(r.run);
      r.run = undefined;
      // Newest first, as a facet retracts what it asserted.
      const keys = [...r.deps.keys()];
      for (let i = keys.length - 1; i >= 0; i--) detach(t, r, keys[i]);
    },
  });

  // At the end of each turn: a service whose last obstacle went waits one more round trip
  // with the config space before running, so a dependency asserted in reaction to the same
  // change (a script's `?` body, say) is counted first, and a service does not start only to
  // be torn down again at once. One sync serves every service of the turn.
  t.dataflow((t) => {
    void tick.value;
    if (fresh.length > 0) {
      const batch = fresh;
      fresh = [];
      t.sync(config, () => {
        for (const r of batch) {
          if (!r.alive) continue;
          r.obstacles--;
          touch(r);
        }
      });
    }
    if (dirty.size === 0) return;
    const clear: [Required, number][] = [];
    for (const r of dirty) {
      const g = ++r.generation;
      if (r.obstacles === 0) clear.push([r, g]);
      else if (r.run !== undefined) {
        t.retract(r.run);
        r.run = undefined;
      }
    }
    dirty.clear();
    if (clear.length === 0) return;
    t.sync(config, (t) => {
      for (const [r, g] of clear) {
        if (r.alive && g === r.generation && r.obstacles === 0 && r.run === undefined) r.run = t.assert(config, Service.run(r.name));
      }
    });
  });
}

/**
 * Logs one line each time a `<depends-on X <service-state Y _>>` closes a cycle of services
 * (none of which can then start), naming the services around it.
 */
function cycleReporter(): { added(name: Assertion, key: string, dep: Assertion): void; removed(key: string, dep: Assertion): void } {
  /** X's key → Y's key → how many depends-on make the edge, and Y. */
  const edges = new Map<string, Map<string, { count: number; name: Assertion }>>();
  /** Y's key → how many distinct edges lead to Y: no edge into X, no cycle through X. */
  const incoming = new Map<string, number>();
  const pathBetween = (from: string, fromName: Assertion, to: string): Assertion[] | null => {
    const prev = new Map<string, [string, Assertion]>([[from, [from, fromName]]]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i];
      if (v === to) {
        const path: Assertion[] = [];
        for (let x = to; ; ) {
          const [p, n] = prev.get(x)!;
          path.unshift(n);
          if (x === from) break;
          x = p;
        }
        return path;
      }
      for (const [w, e] of edges.get(v) ?? []) if (!prev.has(w)) { prev.set(w, [v, e.name]); queue.push(w); }
    }
    return null;
  };
  return {
    added(name, from, dep) {
      const s = parseServiceState(dep);
      if (s === undefined) return;
      const to = valueKey(s.name);
      let out = edges.get(from);
      if (out === undefined) edges.set(from, (out = new Map()));
      const e = out.get(to);
      if (e !== undefined) {
        e.count++;
        return;
      }
      out.set(to, { count: 1, name: s.name });
      incoming.set(to, (incoming.get(to) ?? 0) + 1);
      // A new edge X → Y closes a cycle only if Y reaches X, so only if some edge leads to X:
      // at boot, services are mostly declared before their dependents, and the search is skipped.
      if (!incoming.has(from)) return;
      const back = pathBetween(to, s.name, from);
      if (back !== null) log({ level: 'warn', actor: 'dependency-tracker', message: `dependency cycle: ${[name, ...back].map(show).join(' -> ')}; none of these services can start` });
    },
    removed(from, dep) {
      const s = parseServiceState(dep);
      if (s === undefined) return;
      const to = valueKey(s.name);
      const out = edges.get(from)!;
      const e = out.get(to)!;
      if (--e.count > 0) return;
      out.delete(to);
      if (out.size === 0) edges.delete(from);
      const n = incoming.get(to)! - 1;
      if (n > 0) incoming.set(to, n);
      else incoming.delete(to);
    },
  };
}
