// `syndicate-ctl graph [--dot]`: the dependency graph as text or Graphviz.
import { displayState, type ServiceView } from './service-model.ts';
import { allCycles } from './why.ts';
import { compareText } from './text-order.ts';

/** The edges `from\0to` that lie on a dependency cycle. */
function cycleEdges(services: Map<string, ServiceView>): Set<string> {
  const edges = new Set<string>();
  for (const c of allCycles(services)) for (let i = 0; i + 1 < c.length; i++) edges.add(c[i] + '\0' + c[i + 1]);
  return edges;
}

/** One line per dependency edge, services without dependencies listed alone. */
export function graphText(services: Map<string, ServiceView>): string[] {
  const out: string[] = [];
  const cyc = cycleEdges(services);
  for (const s of [...services.values()].sort((a, b) => compareText(a.text, b.text))) {
    if (s.dependsOn.length === 0) {
      out.push(`${s.text} [${displayState(s)}]`);
      continue;
    }
    for (const d of s.dependsOn) {
      const target = d.dependee !== undefined ? `${d.dependee} (${d.wantedState})` : d.text;
      const onCycle = d.dependee !== undefined && cyc.has(s.text + '\0' + d.dependee);
      out.push(`${s.text} [${displayState(s)}] -> ${target}${d.holds ? '' : '  (unmet)'}${onCycle ? '  (cycle)' : ''}`);
    }
  }
  return out;
}

/** The graph in Graphviz dot syntax. */
export function graphDot(services: Map<string, ServiceView>): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['digraph services {', '  rankdir=LR;'];
  const cyc = cycleEdges(services);
  for (const s of services.values()) lines.push(`  ${q(s.text)} [label=${q(s.text + '\n' + displayState(s))}];`);
  for (const s of services.values()) {
    for (const d of s.dependsOn) {
      const to = d.dependee ?? d.text;
      const attrs = [`label=${q(d.wantedState ?? 'asserted')}`];
      if (d.dependee !== undefined && cyc.has(s.text + '\0' + d.dependee)) attrs.push('penwidth=2', 'color=orange');
      else if (!d.holds) attrs.push('style=dashed', 'color=red');
      lines.push(`  ${q(s.text)} -> ${q(to)} [${attrs.join(', ')}];`);
    }
  }
  lines.push('}');
  return lines.join('\n');
}
