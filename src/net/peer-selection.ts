// The selection rule of network.md §3 (TrIPE's kickpeers): for each group, walk its patterns in
// order; the first whose NET contains the local address the kernel would use towards its TARGET
// (or the test address) is selected; no route means no address and no match.
import { parseAddress, netContains, type IpAddress } from './peer-address.ts';
import { DEFAULT_TEST_ADDRESS, isDownTag, type PeerGroup, type PeerPattern } from './peer-group.ts';
import { sourceAddressFor } from './peer-source-address.ts';

/** Finds the source address towards a target (null: no route). */
export type SourceLookup = (target: IpAddress) => Promise<IpAddress | null>;

/** One pattern as the decision saw it. */
export interface PatternOutcome {
  readonly pattern: PeerPattern;
  /** The address routed towards: the pattern's target or the test address. */
  readonly target: IpAddress;
  readonly local: IpAddress | null;
  readonly selected: boolean;
}

/** One group's decision; `peer` is the selected pattern unless none matched or its tag is `down`. */
export interface GroupDecision {
  readonly group: PeerGroup;
  readonly outcomes: readonly PatternOutcome[];
  readonly peer: PeerPattern | null;
}

const keyOf = (a: IpAddress) => `${a.family}/${a.value}`;

/**
 * Decides every group that is not broken. Each distinct target is looked up once per decision
 * (all at once, each with its own fresh socket), so one decision is one consistent snapshot.
 */
export async function decidePeers(
  groups: readonly PeerGroup[],
  testAddress: IpAddress | null,
  lookup: SourceLookup = sourceAddressFor,
): Promise<GroupDecision[]> {
  const fallback = testAddress ?? parseAddress(DEFAULT_TEST_ADDRESS);
  const live = groups.filter((g) => !g.broken);
  const targets = new Map<string, IpAddress>();
  const targetOf = (g: PeerGroup, p: PeerPattern) => p.target ?? g.testAddress ?? fallback;
  for (const g of live) for (const p of g.patterns) { const a = targetOf(g, p); targets.set(keyOf(a), a); }
  const found = new Map<string, IpAddress | null>();
  await Promise.all([...targets].map(async ([k, a]) => { found.set(k, await lookup(a)); }));
  return live.map((group) => {
    let chosen: PeerPattern | null = null;
    const outcomes = group.patterns.map((pattern) => {
      const target = targetOf(group, pattern);
      const local = found.get(keyOf(target)) ?? null;
      const selected = chosen === null && local !== null && netContains(pattern.net, local);
      if (selected) chosen = pattern;
      return { pattern, target, local, selected };
    });
    const sel = chosen as PeerPattern | null;
    return { group, outcomes, peer: sel !== null && !isDownTag(sel.tagText) ? sel : null };
  });
}
