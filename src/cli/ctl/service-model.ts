// What syndicate-ctl knows of the services, built from the assertions of the config dataspace.
import { Dictionary, Record, peel, valueKey } from '../../preserves/index.ts';
import { showAssertion, type Assertion } from '../../bus/index.ts';

/** One `depends-on` of a service, and whether it holds now. */
export interface Dependency {
  readonly dep: Assertion;
  readonly text: string;
  readonly holds: boolean;
  /** The service the dependency names when it is `<service-state NAME STATE>`. */
  readonly dependee?: string;
  readonly wantedState?: string;
}

/** Process details published by the daemon service (`<daemon-status NAME {...}>`). */
export interface ProcessStatus {
  readonly pid?: number;
  readonly restarts?: number;
  readonly since?: string;
  readonly lastExit?: string;
  readonly logDir?: string;
  /** When the daemon service tries again after a failure (RFC 3339), while it waits to. */
  readonly nextAttempt?: string;
  readonly [key: string]: unknown;
}

/** Everything known about one service. */
export interface ServiceView {
  readonly name: Assertion;
  readonly text: string;
  required: boolean;
  running: boolean;
  held: boolean;
  readonly states: string[];
  /** When each present state appeared (RFC 3339), from the bus's state clock. */
  readonly since: Map<string, string>;
  readonly dependsOn: Dependency[];
  status?: ProcessStatus;
  /** Why the service last crashed, while it is failed. */
  error?: string;
}

/** Text of a value as the operator types it. */
export const show = showAssertion;

function label(v: Assertion): string | null {
  const x = peel(v);
  return x instanceof Record && typeof peel(x.label) === 'symbol' ? (peel(x.label) as symbol).description! : null;
}

function plain(v: Assertion): unknown {
  const x = peel(v);
  if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') return x;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x === 'symbol') return x.description;
  return show(x);
}

/** A service the bus knows of but that nothing requires, runs or reports on. */
export function emptyView(name: Assertion): ServiceView {
  return { name, text: show(name), required: false, running: false, held: false, states: [], since: new Map(), dependsOn: [] };
}

/** Builds the service table from the assertions present in the config dataspace. */
export function buildServiceModel(assertions: Iterable<Assertion>): Map<string, ServiceView> {
  const all = [...assertions];
  const present = new Set(all.map((a) => valueKey(a)));
  const services = new Map<string, ServiceView>();
  const get = (name: Assertion): ServiceView => {
    const text = show(name);
    let s = services.get(text);
    if (s === undefined) {
      s = emptyView(name);
      services.set(text, s);
    }
    return s;
  };
  for (const a of all) {
    const x = peel(a) as Record<never>;
    const f = x instanceof Record ? (x.fields as Assertion[]) : [];
    switch (label(a)) {
      case 'require-service': if (f.length === 1) get(f[0]).required = true; break;
      case 'run-service': if (f.length === 1) get(f[0]).running = true; break;
      case 'service-hold': if (f.length === 1) get(f[0]).held = true; break;
      case 'service-state': if (f.length === 2) get(f[0]).states.push(String(plain(f[1]))); break;
      case 'service-error': if (f.length === 2) get(f[0]).error = String(plain(f[1])); break;
      case 'service-state-since': if (f.length === 3) get(f[0]).since.set(String(plain(f[1])), String(plain(f[2]))); break;
      case 'daemon-status': {
        if (f.length !== 2) break;
        const d = peel(f[1]);
        if (!(d instanceof Dictionary)) break;
        const st: { [k: string]: unknown } = {};
        // `#f` marks an absent value (no process running, no exit yet).
        for (const [k, v] of d as Dictionary<never>) if (peel(v as Assertion) !== false) st[String(plain(k as Assertion))] = plain(v as Assertion);
        get(f[0]).status = st as ProcessStatus;
        break;
      }
      case 'depends-on': {
        if (f.length !== 2) break;
        const dep = f[1];
        const d = peel(dep);
        const isState = d instanceof Record && label(d) === 'service-state' && d.fields.length === 2;
        if (isState) get(d.fields[0] as Assertion);
        get(f[0]).dependsOn.push({
          dep, text: show(dep), holds: present.has(valueKey(dep)),
          dependee: isState ? show(d.fields[0] as Assertion) : undefined,
          wantedState: isState ? String(plain(d.fields[1] as Assertion)) : undefined,
        });
        break;
      }
    }
  }
  for (const s of services.values()) s.states.sort();
  return services;
}

/** The one word that best says where a service is. */
export function displayState(s: ServiceView): string {
  const has = (x: string) => s.states.includes(x);
  if (has('failed')) return 'failed';
  if (has('ready')) return 'ready';
  if (has('complete')) return 'complete';
  if (has('started')) return 'started';
  const others = s.states.filter((x) => x !== 'up');
  if (others.length > 0) return others.join(',');
  if (s.held) return 'held';
  if (s.running) return 'starting';
  if (s.required) return 'waiting';
  return 'idle';
}
