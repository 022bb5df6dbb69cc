// What the daemon service knows about the daemons of one system, for shutdown and inspection:
// the running daemon actors, and every OS-level promise (process exits, stops, finish runs,
// health checks) that must settle before "no process the bus started is alive" holds.
import { valueKey } from '../../preserves/index.ts';
import type { Actor, Assertion, Ref } from '../../bus/index.ts';

/** A set of in-flight OS operations (process runs, stops, finish runs) that can be awaited. */
export class PendingSet {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `p` in the set until it settles (a rejection is swallowed here). */
  track(p: Promise<unknown>): void {
    const q: Promise<void> = p.then(() => {}, () => {}).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves once everything tracked (including operations added meanwhile) has settled. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/** One running daemon actor (one `<daemon ID>` service instance). */
export interface RunningDaemon {
  readonly name: Assertion;
  /** `valueKey(name)`, for matching against dependency records. */
  readonly key: string;
  readonly actor: Actor;
  /** Its processes (until they exit), stops, finish runs and health checks. */
  readonly ops: PendingSet;
}

/** What survives a restart of a daemon's actor, for `<daemon-status …>`. */
export interface DaemonHistory {
  /** Process restarts done by the daemon service (not counting supervisor restarts). */
  restarts: number;
  /** `describeExit` of the last exit (or the spawn error), null before the first. */
  lastExit: string | null;
}

/** The daemons of one system (one config dataspace). */
export class DaemonRegistry {
  readonly daemons = new Set<RunningDaemon>();
  readonly history = new Map<string, DaemonHistory>();
  /** Set by `shutdownSystem`: no process is started or restarted any more. */
  shuttingDown = false;
  /** The parent cgroup of the daemons' cgroups, if any: removed at the end of a shutdown. */
  cgroupRoot: string | null = null;
  /** Every OS operation of every daemon, for the end of a shutdown. */
  readonly ops = new PendingSet();

  /** Tracks `p` for `daemon` and for the whole registry. */
  track(daemon: RunningDaemon, p: Promise<unknown>): void {
    daemon.ops.track(p);
    this.ops.track(p);
  }

  historyOf(key: string): DaemonHistory {
    let h = this.history.get(key);
    if (h === undefined) this.history.set(key, (h = { restarts: 0, lastExit: null }));
    return h;
  }
}

const registries = new WeakMap<Ref, DaemonRegistry>();

/** The registry of the daemons whose service states go to `config` (made on first use). */
export function daemonRegistry(config: Ref): DaemonRegistry {
  let r = registries.get(config);
  if (r === undefined) registries.set(config, (r = new DaemonRegistry()));
  return r;
}

