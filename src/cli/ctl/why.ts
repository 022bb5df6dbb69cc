// `syndicate-ctl why SERVICE`: what a service waits for, and why it is where it is.
import { displayState, type ServiceView } from './service-model.ts';
import { compareText } from './text-order.ts';

/** Lines explaining a service's state: unmet dependencies, cycles, holds, restarts, next attempt, last exit. */
export function explain(services: Map<string, ServiceView>, name: string): string[] {
  const s = services.get(name);
  if (s === undefined) return [`${name}: no such service (nothing requires it, runs it or reports its state)`];
  const how = s.required ? '' : s.running ? ' (run directly, not through require-service)' : ' (not required)';
  const out: string[] = [`${name}: ${displayState(s)}${how}`];
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
  if (unmet.length === 0 && s.dependsOn.length === 1) out.push(`  its one dependency holds: ${s.dependsOn[0].dependee ?? s.dependsOn[0].text}`);
  if (unmet.length === 0 && s.dependsOn.length > 1) out.push(`  all ${s.dependsOn.length} of its dependencies hold`);
  for (const c of cyclesThrough(services, name)) out.push(`  dependency cycle: ${c.join(' -> ')}`);
  if (s.error !== undefined) out.push(`  failed: ${s.error}`);
  const st = s.status;
  if (st !== undefined) {
    if (st.pid !== undefined) out.push(`  pid ${st.pid}${st.since ? ' since ' + st.since : ''}`);
    if (st.restarts !== undefined || st.nextAttempt !== undefined) {
      const next = typeof st.nextAttempt === 'string' ? `${st.restarts !== undefined ? '; ' : ''}next attempt at ${st.nextAttempt}` : '';
      out.push(`  ${st.restarts !== undefined ? `restarts: ${st.restarts}` : ''}${next}`);
    }
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

/**
 * One dependency cycle per strongly connected group of services (Tarjan's algorithm, linear in
 * the graph), starting and ending at its first service in name order.
 */
export function allCycles(services: Map<string, ServiceView>): string[][] {
  const edges = (n: string) => (services.get(n)?.dependsOn ?? []).flatMap((d) => (d.dependee !== undefined ? [d.dependee] : []));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  // Iterative, so a long chain of services cannot overflow the stack.
  for (const root of [...services.keys()].sort()) {
    if (index.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    index.set(root, next); low.set(root, next++); stack.push(root); onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const out = edges(v);
      if (i < out.length) {
        top[1]++;
        const w = out[i];
        if (!index.has(w)) {
          index.set(w, next); low.set(w, next++); stack.push(w); onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) { const u = work[work.length - 1][0]; low.set(u, Math.min(low.get(u)!, low.get(v)!)); }
      if (low.get(v) === index.get(v)) {
        const g: string[] = [];
        let w: string;
        do { w = stack.pop()!; onStack.delete(w); g.push(w); } while (w !== v);
        if (g.length > 1 || edges(v).includes(v)) groups.push(g);
      }
    }
  }
  // A path around each group: breadth-first from its first member back to itself, inside the group.
  return groups.map((g) => {
    const members = new Set(g);
    const start = [...g].sort()[0];
    const prev = new Map<string, string>();
    const queue = [start];
    let last: string | null = null;
    while (queue.length > 0 && last === null) {
      const v = queue.shift()!;
      for (const w of edges(v)) {
        if (!members.has(w)) continue;
        if (w === start) { last = v; break; }
        if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
      }
    }
    const path = [start];
    for (let v = last; v !== null && v !== start; v = prev.get(v) ?? null) path.splice(1, 0, v);
    return [...path, start];
  }).sort((a, b) => compareText(a[0], b[0]));
}
