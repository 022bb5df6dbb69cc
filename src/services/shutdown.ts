// Orderly shutdown of a running system (issue 5, "Shutdown"): every daemon is stopped,
// dependents before what they depend on, each process group with its own stop grace
// (SIGTERM, `stopTimeout`, SIGKILL); resolves once no process the bus started is alive.
import { Record, peel, valueKey } from '../preserves/index.ts';
import { settle } from '../bus/index.ts';
import { daemonRegistry, type RunningDaemon } from './supervision/daemon-registry.ts';
import { parseServiceState } from './supervision/service-protocol.ts';
import { markStopping } from './supervision/system-stopping.ts';
import { removeCgroupTree } from './daemon/cgroup.ts';
import type { System } from './system.ts';

/** What a shutdown did: how many services had a state when it began, and how long it took. */
export interface ShutdownSummary {
  readonly services: number;
  readonly ms: number;
}

/**
 * Stops `system`. Daemons are stopped in layers: a layer is every running daemon that no other
 * running daemon depends on, directly or through other services (milestones…), according to the
 * `<depends-on X <service-state Y _>>` assertions of the config space; each layer's processes are
 * awaited before the next layer is stopped. A dependency cycle is stopped all at once. No
 * process is started or restarted once this has begun. Finally the system actor itself stops.
 */
export async function shutdownSystem(system: System): Promise<ShutdownSummary> {
  const began = performance.now();
  const registry = daemonRegistry(system.config);
  registry.shuttingDown = true;
  markStopping(system.config);
  const services = runningServices(system);
  await settle();
  const edges = dependencyEdges(system);
  for (;;) {
    const running = [...registry.daemons].filter((d) => d.actor.alive);
    if (running.length === 0) break;
    let layer = running.filter((d) => !running.some((e) => e !== d && reaches(edges, e.key, d.key)));
    if (layer.length === 0) layer = running; // a cycle: no order to respect
    await stopDaemons(layer);
  }
  system.actor.root.turn((t) => t.stopActor());
  await settle();
  await registry.ops.idle();
  if (registry.cgroupRoot !== null) await removeCgroupTree(registry.cgroupRoot);
  return { services, ms: Math.round(performance.now() - began) };
}

/** The final line of a shutdown: `stopped N services in T ms`. */
export function describeShutdown(s: ShutdownSummary): string {
  return `stopped ${s.services} service${s.services === 1 ? '' : 's'} in ${s.ms} ms`;
}

/** How many distinct services have a `<service-state NAME _>` in the config space. */
function runningServices(system: System): number {
  const names = new Set<string>();
  for (const a of system.configSpace.assertions()) {
    const st = parseServiceState(a);
    if (st !== undefined) names.add(valueKey(st.name));
  }
  return names.size;
}

async function stopDaemons(layer: readonly RunningDaemon[]): Promise<void> {
  for (const d of layer) d.actor.root.turn((t) => t.stopActor());
  await settle();
  await Promise.all(layer.map((d) => d.ops.idle()));
}

/** Service key → keys of the services it depends on (by `<depends-on NAME <service-state DEP _>>`). */
function dependencyEdges(system: System): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const a of system.configSpace.assertions()) {
    const r = peel(a);
    if (!(r instanceof Record) || !r.hasLabel('depends-on') || r.fields.length !== 2) continue;
    const dep = parseServiceState(r.fields[1]);
    if (dep === undefined) continue;
    const from = valueKey(r.fields[0]);
    let s = edges.get(from);
    if (s === undefined) edges.set(from, (s = new Set()));
    s.add(valueKey(dep.name));
  }
  return edges;
}

/** True when `from` depends on `to`, directly or transitively. */
function reaches(edges: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length > 0) {
    for (const next of edges.get(stack.pop()!) ?? []) {
      if (next === to) return true;
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return false;
}
