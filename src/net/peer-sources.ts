// Joining the groups of every source (`<peer-group …>` assertions, conntrack.conf files) into
// one configuration: a group name defined in two places is an error naming both, and that group
// selects nothing until one of them goes.
import { PeerConfigError, type PeerGroup } from './peer-group.ts';

/** The joined groups (duplicates marked broken) and the duplicate errors. */
export function joinPeerGroups(sources: readonly (readonly PeerGroup[])[]): { groups: PeerGroup[]; errors: PeerConfigError[] } {
  const byName = new Map<string, PeerGroup[]>();
  for (const src of sources) for (const g of src) {
    const l = byName.get(g.nameText);
    if (l) l.push(g);
    else byName.set(g.nameText, [g]);
  }
  const groups: PeerGroup[] = [];
  const errors: PeerConfigError[] = [];
  for (const [name, defs] of byName) {
    if (defs.length === 1) {
      groups.push(defs[0]);
      continue;
    }
    const origins = defs.map((d) => d.origin).sort();
    errors.push(new PeerConfigError(origins[1], `duplicate group name \`${name}' (also defined at ${[origins[0], ...origins.slice(2)].join(', ')})`));
    for (const d of defs) groups.push({ ...d, broken: true });
  }
  return { groups, errors };
}
