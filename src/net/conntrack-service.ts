// The selection service's actor logic (network.md §3): reads the configuration from the config
// dataspace (and conntrack.conf files it names), decides on every change of the machine's routes
// and addresses (after a settle delay), on `<conntrack-recheck>` and periodically, and keeps
// `<selected-peer GROUP TAG>` plus its own status in the config dataspace.
import fs from 'node:fs';
import path from 'node:path';
import { P, type Assertion, type Facet, type Handle, type Ref, type Turn } from '../bus/index.ts';
import { Dictionary, Double, peel, record, stringify, sym, type Value } from '../preserves/index.ts';
import { parseConntrackFile, type ConntrackFile } from './conntrack-config-file.ts';
import type { IpAddress } from './peer-address.ts';
import { DEFAULT_TEST_ADDRESS, PeerConfigError, briefly, parsePeerGroupAssertion, parseTestAddress, type PeerGroup } from './peer-group.ts';
import { decidePeers, type GroupDecision, type SourceLookup } from './peer-selection.ts';
import { joinPeerGroups } from './peer-sources.ts';

/** Defaults, as network.md: settle 250 ms (TrIPE 2 s), recheck every 30 s (as TrIPE). */
export const DEFAULT_SETTLE_MS = 250;
export const DEFAULT_RECHECK_INTERVAL_S = 30;
/** Bounds: a settle delay of at most an hour, a recheck interval from 0.1 s to a day, files up to 1 MiB. */
const MAX_SETTLE_MS = 3_600_000;
const MIN_INTERVAL_S = 0.1;
const MAX_INTERVAL_S = 86_400;
const MAX_FILE_BYTES = 1 << 20;

/** How the service is run. */
export interface ConntrackOptions {
  /** Lines for the operator (the daemon writes them to stderr, which the bus logs). */
  readonly report?: (line: string) => void;
  /** The source-address lookup (default: a fresh UDP socket per lookup). */
  readonly lookup?: SourceLookup;
}

/** Keeps a set of assertions at `ref` equal to a wanted set, changing only the differences. */
class AssertionSet {
  private readonly held = new Map<string, { h: Handle; v: Assertion }>();
  constructor(private readonly ref: Ref) {}
  /** Retracts what is not wanted, asserts what is new (all in the caller's turn); returns the changes. */
  sync(t: Turn, wanted: readonly Assertion[]): { added: Assertion[]; removed: Assertion[] } {
    const want = new Map(wanted.map((v) => [stringify(v), v] as const));
    const added: Assertion[] = [];
    const removed: Assertion[] = [];
    for (const [k, e] of this.held) if (!want.has(k)) { t.retract(e.h); this.held.delete(k); removed.push(e.v); }
    for (const [k, v] of want) if (!this.held.has(k)) { this.held.set(k, { h: t.assert(this.ref, v), v }); added.push(v); }
    return { added, removed };
  }
}

interface WatchedFile {
  users: number;
  stamp: string;
  parsed: ConntrackFile;
  watcher: fs.FSWatcher | null;
}

/** A non-negative number (integer or double), else null. */
const numberOf = (v: Assertion): number | null => {
  const n = peel(v);
  const x = typeof n === 'number' ? n : typeof n === 'bigint' ? Number(n) : n instanceof Double ? n.value : NaN;
  return Number.isFinite(x) && x >= 0 ? x : null;
};

const str = (a: IpAddress | null): Assertion => (a === null ? false : a.text);

/** A dictionary with symbol keys. */
const dict = (entries: [string, Assertion][]): Assertion => new Dictionary<Ref>(entries.map(([k, v]) => [sym(k), v]));

/** Starts the service in the active facet; it stops with that facet. */
export function runConntrack(t: Turn, config: Ref, machine: Ref | null, options: ConntrackOptions = {}): void {
  const report = options.report ?? (() => {});
  const facet: Facet = t.activeFacet;
  const prGroups = new Map<Handle, Value>();
  const testAddrs = new Map<Handle, Value>();
  const settles = new Map<Handle, number>();
  const intervals = new Map<Handle, number>();
  const fileUses = new Map<Handle, string>();
  const files = new Map<string, WatchedFile>();
  const selected = new AssertionSet(config);
  const groupState = new AssertionSet(config);
  const errorState = new AssertionSet(config);
  let statusHandle: Handle | undefined;
  let decisions = 0;
  let generation = 0;
  let running = false;
  let pending: string | null = null;
  let stopped = false;
  let intervalFacet: Facet | null = null;
  let intervalMs = -1;
  const reportedErrors = new Set<string>();

  const settleMs = () => Math.min(MAX_SETTLE_MS, settles.size === 0 ? DEFAULT_SETTLE_MS : Math.min(...settles.values()));

  /** A change that may move routes: decide once things have been quiet for the settle delay. */
  const trigger = (t: Turn, reason: string) => {
    const g = ++generation;
    const ms = settleMs();
    if (ms === 0) decideSoon(reason);
    else t.after(ms, () => { if (g === generation) decideSoon(reason); });
  };

  const decideSoon = (reason: string) => {
    if (stopped) return;
    if (running) { pending = reason; return; }
    running = true;
    void decide(reason).catch((e: unknown) => report(`conntrack: decision failed: ${(e as Error).message}`)).finally(() => {
      running = false;
      if (pending !== null) { const r = pending; pending = null; decideSoon(r); }
    });
  };

  const stampOf = (p: string): string => {
    try {
      const s = fs.statSync(p);
      return `${s.ino}/${s.size}/${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  };

  const readFile = (p: string): ConntrackFile => {
    const fail = (why: string): ConntrackFile => ({ testAddress: null, groups: [], errors: [new PeerConfigError(p, why)] });
    try {
      // Bounded work per input: a FIFO, a device or a runaway file is refused, not read.
      const st = fs.statSync(p);
      if (!st.isFile()) return fail('not a regular file');
      if (st.size > MAX_FILE_BYTES) return fail(`too large (${st.size} bytes; at most ${MAX_FILE_BYTES})`);
      return parseConntrackFile(p, fs.readFileSync(p, 'utf8'));
    } catch (e) {
      return fail(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };

  /** TrIPE checks its file at every decision; so do we (the watcher only makes it sooner). */
  const refreshFiles = () => {
    for (const [p, f] of files) {
      const s = stampOf(p);
      if (s !== f.stamp) { f.stamp = s; f.parsed = readFile(p); }
    }
  };

  const decide = async (reason: string) => {
    refreshFiles();
    const errors: PeerConfigError[] = [];
    const prList: PeerGroup[] = [];
    for (const v of prGroups.values()) {
      const r = parsePeerGroupAssertion(v);
      errors.push(...r.errors);
      if (r.group) prList.push(r.group);
    }
    const fileLists = [...files.values()].map((f) => { errors.push(...f.parsed.errors); return f.parsed.groups; });
    const joined = joinPeerGroups([prList, ...fileLists]);
    errors.push(...joined.errors);
    let testAddress: IpAddress | null = null;
    const tas = [...new Map([...testAddrs.values()].map((v) => [stringify(v), v] as const)).values()];
    if (tas.length > 1) {
      errors.push(new PeerConfigError(tas.map((v) => `<conntrack-test-address ${briefly(v)}>`).join(', '), 'several test addresses; using the default'));
    } else if (tas.length === 1) {
      try {
        testAddress = parseTestAddress(tas[0]);
      } catch (e) {
        if (!(e instanceof PeerConfigError)) throw e;
        errors.push(e);
      }
    }
    const result = await decidePeers(joined.groups, testAddress, options.lookup);
    facet.turn((t) => apply(t, result, joined.groups, errors, testAddress, reason));
  };

  const apply = (t: Turn, result: GroupDecision[], groups: PeerGroup[], errors: PeerConfigError[], testAddress: IpAddress | null, reason: string) => {
    decisions++;
    const change = selected.sync(t, result.filter((d) => d.peer !== null).map((d) => record<Ref>('selected-peer', d.group.name as Assertion, d.peer!.tag as Assertion)));
    const decided = new Map(result.map((d) => [d.group.nameText, d] as const));
    groupState.sync(t, groups.map((g) => {
      const d = decided.get(g.nameText);
      const patterns = g.patterns.map((p, i) => {
        const o = d?.group === g ? d.outcomes[i] : undefined;
        return dict([
          ['tag', p.tag as Assertion],
          ['target', p.target === null ? false : p.target.text],
          ['routed-to', o ? o.target.text : false],
          ['net', p.net.text],
          ['local', str(o?.local ?? null)],
          ['selected', o?.selected ?? false],
        ]);
      });
      return record<Ref>('conntrack-group', g.name as Assertion, dict([
        ['origin', g.origin],
        ['broken', g.broken],
        ['patterns', patterns],
      ]));
    }));
    const errorTexts = errors.map((e) => e.message);
    errorState.sync(t, errorTexts.map((m) => record<Ref>('conntrack-error', m)));
    for (const m of errorTexts) if (!reportedErrors.has(m)) report(`conntrack: ${m}`);
    reportedErrors.clear();
    for (const m of errorTexts) reportedErrors.add(m);
    statusHandle = t.replace(config, statusHandle, record<Ref>('conntrack-status', dict([
      ['decisions', decisions],
      ['reason', reason],
      ['test-address', testAddress?.text ?? DEFAULT_TEST_ADDRESS],
    ])));
    if (change.added.length > 0 || change.removed.length > 0) {
      const show = (l: Assertion[]) => l.map((v) => stringify(v)).join(' ');
      report(`conntrack: ${reason}: ${change.added.length ? 'selected ' + show(change.added) : ''}${change.added.length && change.removed.length ? '; ' : ''}${change.removed.length ? 'withdrew ' + show(change.removed) : ''}`);
    }
  };

  const setInterval_ = (t: Turn) => {
    const s = Math.max(MIN_INTERVAL_S, Math.min(MAX_INTERVAL_S, intervals.size === 0 ? DEFAULT_RECHECK_INTERVAL_S : Math.min(...intervals.values())));
    const ms = Math.round(s * 1000);
    if (ms === intervalMs) return;
    intervalMs = ms;
    if (intervalFacet) t.stop(intervalFacet);
    intervalFacet = t.facet((t) => {
      // TrIPE skips the periodic check while a delayed one is pending; ours is simply coalesced.
      t.every(ms, () => decideSoon('interval-timer'));
    });
  };

  const watchFile = (p: string) => {
    const f = files.get(p);
    if (f) { f.users++; return; }
    let watcher: fs.FSWatcher | null = null;
    try {
      // The folder, not the file: editors replace files by rename.
      watcher = fs.watch(path.dirname(p), (_e, name) => {
        if (name === null || name === path.basename(p)) facet.turn((t) => trigger(t, 'config-file-changed'));
      });
      watcher.on('error', () => {});
    } catch (e) {
      report(`conntrack: cannot watch ${path.dirname(p)} (${(e as NodeJS.ErrnoException).code}); ${p} is re-read at each decision only`);
    }
    files.set(p, { users: 1, stamp: '', parsed: { testAddress: null, groups: [], errors: [] }, watcher });
  };

  const unwatchFile = (p: string) => {
    const f = files.get(p);
    if (!f) return;
    if (--f.users > 0) return;
    f.watcher?.close();
    files.delete(p);
  };

  const configChanged = (t: Turn) => trigger(t, 'config-changed');
  const onMap = <T>(m: Map<Handle, T>, parse: (v: Assertion) => T | null, after: (t: Turn) => void) => ({
    added(t: Turn, c: Assertion[], h: Handle) {
      const v = parse(c[0]);
      if (v === null) { report(`conntrack: ignored ${stringify(c[0])}`); return; }
      m.set(h, v);
      after(t);
    },
    removed(t: Turn, _c: Assertion[], h: Handle) {
      if (m.delete(h)) after(t);
    },
  });

  t.observe(config, P.bind(P.rec('peer-group')), onMap(prGroups, (v) => v as Value, configChanged));
  t.observe(config, P.rec('conntrack-test-address', P.bind()), onMap(testAddrs, (v) => v as Value, configChanged));
  t.observe(config, P.rec('conntrack-settle-ms', P.bind()), onMap(settles, numberOf, () => {}));
  t.observe(config, P.rec('conntrack-recheck-interval', P.bind()), onMap(intervals, (v) => { const n = numberOf(v); return n !== null && n > 0 ? n : null; }, setInterval_));
  t.observe(config, P.rec('conntrack-config-file', P.bind()), {
    added(t, c, h) {
      const p = peel(c[0]);
      if (typeof p !== 'string' || !path.isAbsolute(p)) { report(`conntrack: <conntrack-config-file ${stringify(c[0])}>: PATH must be an absolute path string`); return; }
      fileUses.set(h, p);
      watchFile(p);
      configChanged(t);
    },
    removed(t, _c, h) {
      const p = fileUses.get(h);
      if (p === undefined) return;
      fileUses.delete(h);
      unwatchFile(p);
      configChanged(t);
    },
  });
  // Whole values are captured: an observer sees one event per distinct capture tuple, so a
  // pattern capturing nothing would hear of the first route only.
  const routing = (what: string) => ({ added: (t: Turn) => trigger(t, what), removed: (t: Turn) => trigger(t, what) });
  t.observe(config, P.bind(P.rec('default-route')), routing('default-route'));
  if (machine !== null) {
    t.observe(machine, P.bind(P.rec('route')), routing('route'));
    t.observe(machine, P.bind(P.rec('address')), routing('address'));
  }
  t.onMessage(config, P.rec('conntrack-recheck'), () => decideSoon('recheck'));
  setInterval_(t);
  trigger(t, 'start');
  t.onStop(() => {
    stopped = true;
    for (const f of files.values()) f.watcher?.close();
  });
}
