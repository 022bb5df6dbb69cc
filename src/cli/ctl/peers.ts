// `syndicate-ctl peers [GROUP] [--json] [--recheck]`: the VPN peer selection as the service last
// decided it (TrIPE's show-config / show-groups / show-group): each group, each pattern with its
// target, net and the local address found, and which is selected. `--recheck` asks for a new
// decision first and shows that one.
import { P, type Assertion, type Pattern } from '../../bus/index.ts';
import { Dictionary, Record, peel, record, stringify, sym, symbolName, type Value } from '../../preserves/index.ts';
import { CtlFailure, CtlTimeoutError, snapshot, waitUntil, type BusConnection } from './connection.ts';

const PATTERNS: Pattern[] = ['conntrack-group', 'conntrack-error', 'conntrack-status'].map((l) => P.rec(l));

/** One pattern as shown. */
export interface PeerPatternView { tag: string; target: string | null; routedTo: string | null; net: string; local: string | null; selected: boolean }
/** One group as shown. */
export interface PeerGroupView { group: string; origin: string; broken: boolean; selected: string | null; patterns: PeerPatternView[] }
/** Everything `peers` shows. */
export interface PeersView { testAddress: string; decisions: number; reason: string; groups: PeerGroupView[]; errors: string[] }

const text = (v: Value | undefined): string => {
  const p = v === undefined ? undefined : peel(v);
  if (typeof p === 'symbol') return symbolName(p);
  if (typeof p === 'string') return p;
  return p === undefined ? '' : stringify(p as Value);
};
const opt = (v: Value | undefined): string | null => (v === undefined || peel(v) === false ? null : text(v));
const field = (d: Value, k: string): Value | undefined => {
  const p = peel(d);
  return p instanceof Dictionary ? (p as Dictionary<unknown>).get(sym(k) as Value) as Value | undefined : undefined;
};

/** Builds the view from the service's assertions; null when no service has decided yet. */
export function peersView(present: readonly Assertion[]): PeersView | null {
  let status: Value | null = null;
  const groups: PeerGroupView[] = [];
  const errors: string[] = [];
  for (const a of present) {
    const r = peel(a as Value);
    if (!(r instanceof Record)) continue;
    if (r.hasLabel('conntrack-status')) status = r.fields[0];
    else if (r.hasLabel('conntrack-error')) errors.push(text(r.fields[0]));
    else if (r.hasLabel('conntrack-group')) {
      const d = r.fields[1];
      const pats = peel(field(d, 'patterns') ?? []);
      const patterns: PeerPatternView[] = (Array.isArray(pats) ? pats : []).map((p) => ({
        tag: text(field(p as Value, 'tag')),
        target: opt(field(p as Value, 'target')),
        routedTo: opt(field(p as Value, 'routed-to')),
        net: text(field(p as Value, 'net')),
        local: opt(field(p as Value, 'local')),
        selected: peel(field(p as Value, 'selected') ?? false) === true,
      }));
      const sel = patterns.find((p) => p.selected);
      groups.push({ group: text(r.fields[0]), origin: text(field(d, 'origin')), broken: peel(field(d, 'broken') ?? false) === true, selected: sel ? sel.tag : null, patterns });
    }
  }
  if (status === null) return null;
  groups.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.origin < b.origin ? -1 : 1));
  errors.sort();
  const n = peel(field(status, 'decisions') ?? 0);
  return { testAddress: text(field(status, 'test-address')), decisions: typeof n === 'number' ? n : Number(n), reason: text(field(status, 'reason')), groups, errors };
}

/** The text table. */
export function peersTable(v: PeersView): string[] {
  const rows: string[][] = [['GROUP', 'PEER', 'TARGET', 'NET', 'LOCAL', '']];
  for (const g of v.groups) {
    g.patterns.forEach((p, i) => rows.push([
      i === 0 ? g.group : '',
      p.tag,
      p.target ?? `(default) ${p.routedTo ?? v.testAddress}`,
      p.net,
      p.local ?? '(no route)',
      p.selected ? (p.tag === 'down' || p.tag.startsWith('down/') ? 'selected (no peer)' : 'selected') : '',
    ]));
    if (g.broken) rows.push([g.patterns.length === 0 ? g.group : '', '(broken: selects nothing)', '', '', '', '']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = [`default test address ${v.testAddress}; decision ${v.decisions} (${v.reason})`];
  if (v.groups.length === 0) lines.push('no peer groups configured (<peer-group …> or <conntrack-config-file …>)');
  else for (const r of rows) lines.push(r.map((x, c) => x.padEnd(widths[c])).join('  ').trimEnd());
  if (v.errors.length > 0) {
    lines.push('errors:');
    for (const e of v.errors) lines.push('  ' + e);
  }
  return lines;
}

/** Runs `peers`; returns the exit code. */
export async function peersCommand(conn: BusConnection, group: string | undefined, json: boolean, recheck: boolean, timeoutMs: number, out: (l: string) => void): Promise<number> {
  let view = peersView(await snapshot(conn, PATTERNS));
  if (view === null) {
    throw new CtlFailure('peers: no peer selection service has answered (is <daemon conntrack> running?)');
  }
  if (recheck) {
    const before = view.decisions;
    conn.turn((t, config) => t.message(config, record('conntrack-recheck')));
    try {
      await waitUntil(conn, PATTERNS, (present) => (peersView(present)?.decisions ?? 0) > before, timeoutMs);
    } catch (e) {
      if (e instanceof CtlTimeoutError) throw new CtlTimeoutError(`peers: ${e.message} waiting for the recheck`);
      throw e;
    }
    view = peersView(await snapshot(conn, PATTERNS))!;
  }
  if (group !== undefined) {
    view = { ...view, groups: view.groups.filter((g) => g.group === group) };
    if (view.groups.length === 0) {
      throw new CtlFailure(`peers: unknown group ${group}`);
    }
  }
  if (json) out(JSON.stringify(view, null, 2));
  else for (const l of peersTable(view)) out(l);
  return 0;
}
