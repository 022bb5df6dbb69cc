// `syndicate-ctl graph [--dot]`: the dependency graph as text or Graphviz.
import { displayState, type ServiceView } from './service-model.ts';

/** One line per dependency edge, services without dependencies listed alone. */
export function graphText(services: Map<string, ServiceView>): string[] {
  const out: string[] = [];
  for (const s of [...services.values()].sort((a, b) => a.text.localeCompare(b.text))) {
    if (s.dependsOn.length === 0) {
      out.push(`${s.text} [${displayState(s)}]`);
      continue;
    }
    for (const d of s.dependsOn) {
      const target = d.dependee !== undefined ? `${d.dependee} (${d.wantedState})` : d.text;
      out.push(`${s.text} [${displayState(s)}] -> ${target}${d.holds ? '' : '  (unmet)'}`);
    }
  }
  return out;
}

/** The graph in Graphviz dot syntax. */
export function graphDot(services: Map<string, ServiceView>): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['digraph services {', '  rankdir=LR;'];
  for (const s of services.values()) lines.push(`  ${q(s.text)} [label=${q(s.text + '\n' + displayState(s))}];`);
  for (const s of services.values()) {
    for (const d of s.dependsOn) {
      const to = d.dependee ?? d.text;
      const attrs = [`label=${q(d.wantedState ?? 'asserted')}`];
      if (!d.holds) attrs.push('style=dashed', 'color=red');
      lines.push(`  ${q(s.text)} -> ${q(to)} [${attrs.join(', ')}];`);
    }
  }
  lines.push('}');
  return lines.join('\n');
}
