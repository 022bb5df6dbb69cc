// `syndicate-ctl why SERVICE`: what a service waits for, and why it is where it is.
import { displayState, type ServiceView } from './service-model.ts';

/** Lines explaining a service's state: unmet dependencies, cycles, holds, restarts, last exit. */
export function explain(services: Map<string, ServiceView>, name: string): string[] {
  const s = services.get(name);
  if (s === undefined) return [`${name}: no such service (nothing requires it, runs it or reports its state)`];
  const out: string[] = [`${name}: ${displayState(s)}${s.required ? '' : ' (not required)'}${s.running ? ', running' : ''}`];
  if (s.held) out.push('  held down by an operator (syndicate-ctl stop); `syndicate-ctl start` releases it');
  const unmet = s.dependsOn.filter((d) => !d.holds);
  for (const d of unmet) {
    if (d.dependee !== undefined) {
      const dep = services.get(d.dependee);
      const now = dep === undefined ? 'unknown to the bus' : displayState(dep);
      out.push(`  waits for ${d.dependee} to be ${d.wantedState} (now: ${now})`);
    } else {
      out.push(`  waits for ${d.text} to be asserted`);
    }
  }
  if (unmet.length === 0 && s.dependsOn.length > 0) out.push(`  all ${s.dependsOn.length} dependencies hold`);
  for (const c of cyclesThrough(services, name)) out.push(`  dependency cycle: ${c.join(' -> ')}`);
  if (s.error !== undefined) out.push(`  failed: ${s.error}`);
  if (s.status !== undefined) {
    const st = s.status;
    if (st.pid !== undefined) out.push(`  pid ${st.pid}${st.since ? ' since ' + st.since : ''}`);
    if (st.restarts !== undefined) out.push(`  restarts: ${st.restarts}${st.nextRestart ? `, next restart ${st.nextRestart}` : ''}${st.backoffMs !== undefined ? `, backoff ${st.backoffMs} ms` : ''}`);
    if (st.lastExit !== undefined) out.push(`  last exit: ${st.lastExit}`);
  }
  return out;
}

/** Dependency cycles (over `depends-on <service-state ...>`) that pass through `start`. */
export function cyclesThrough(services: Map<string, ServiceView>, start: string): string[][] {
  const cycles: string[][] = [];
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (n: string): void => {
    if (onPath.has(n)) {
      if (n === start) cycles.push([...path, n]);
      return;
    }
    if (path.length > services.size) return;
    path.push(n);
    onPath.add(n);
    for (const d of services.get(n)?.dependsOn ?? []) if (d.dependee !== undefined) visit(d.dependee);
    path.pop();
    onPath.delete(n);
  };
  visit(start);
  return cycles;
}
