// The interface monitor: a protocol daemon (spec network.md §1, synit.md §4.2). The bus hands
// its main object `{machine: #:ds}`; from then on it keeps exactly one `<interface …>`,
// `<address …>` and `<route …>` per kernel object in that dataspace, each change replaced in the
// turn that carries its netlink burst. It subscribes first, then dumps links, addresses and
// routes, then replays what arrived meanwhile, so the first publication is the kernel's state.
import { closeSync, existsSync, writeSync } from 'node:fs';
import { settle, type Assertion, type Facet, type Handle, type Ref, type Turn } from '../bus/index.ts';
import { Dictionary, Embedded, peel, sym } from '../preserves/index.ts';
import { serveStdio } from '../relay/client.ts';
import { KernelState, type KernelMessage, type KernelTable } from './kernel-state.ts';
import { KernelWatch } from './kernel-watch.ts';

const USAGE = `usage: interface-monitor [--ready-fd N]
  A protocol daemon (protocol: application/syndicate) on stdin/stdout. Assert {machine: #:ds} at
  its OID 0; it publishes <interface …>, <address …> and <route …> there.
  --ready-fd N   write a newline to fd N once the first full dump is published (readyNotify: <fd N>)`;

/** Bad command-line arguments. */
export class MonitorUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitorUsageError';
  }
}

/** Parsed command line. */
export interface MonitorOptions {
  readonly readyFd: number | null;
}

/** Reads the command line. */
export function parseMonitorArgs(argv: readonly string[]): MonitorOptions {
  let readyFd: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ready-fd') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 3) throw new MonitorUsageError('--ready-fd needs a file descriptor number of 3 or more');
      readyFd = n;
    } else {
      throw new MonitorUsageError(a === '-h' || a === '--help' ? '' : `unknown argument ${a}`);
    }
  }
  return { readyFd };
}

/** `wireless` per spec: a wlan device has `/sys/class/net/NAME/wireless` or `phy80211`. */
export function isWirelessInterface(name: string): boolean {
  return existsSync(`/sys/class/net/${name}/wireless`) || existsSync(`/sys/class/net/${name}/phy80211`);
}

function note(line: string): void {
  process.stderr.write(`interface-monitor: ${line}\n`);
}

/** Links, addresses and routes: everything a full resynchronisation dumps. */
const ALL_TABLES: readonly KernelTable[] = ['link', 'address', 'route'];
/** Dumps that fail this many times in a row end the process (its supervisor restarts it). */
const MAX_DUMP_FAILURES = 3;

/** The monitor's moving parts, apart from stdio, so that it can be driven from any actor. */
export class InterfaceMonitor {
  private readonly state = new KernelState(isWirelessInterface);
  private readonly watch: KernelWatch;
  /** Events not applied yet: held while a dump is in flight. */
  private pending: KernelMessage[] = [];
  private dumping = 0;
  private routeDumpQueued = false;
  private dumpFailures = 0;
  private initialDone = false;
  private readySignalled = false;
  private machine: Ref | null = null;
  private holder: Facet | null = null;
  private readonly handles = new Map<string, Handle>();

  constructor(private readonly onReady: () => void, private readonly onFatal: (e: Error) => void) {
    this.watch = new KernelWatch({
      onEvents: (events) => {
        this.pending.push(...events);
        if (this.dumping === 0) this.drain();
      },
      onError: (e) => {
        note(`${e.message}; dumping everything again`);
        void this.resync(ALL_TABLES);
      },
    });
    void this.resync(ALL_TABLES).then(() => {
      this.initialDone = true;
      const c = this.state.counts();
      note(`${c.links} interfaces, ${c.addresses} addresses, ${c.routes} routes`);
      this.maybeReady();
    });
  }

  /** The bus handed us the machine dataspace: publish everything there, in a facet of `t`. */
  attach(t: Turn, machine: Ref): Facet {
    return t.facet((t) => {
      t.preventInertCheck();
      this.machine = machine;
      this.holder = t.activeFacet;
      for (const [key, { value }] of this.state.current()) this.handles.set(key, t.assert(machine, value));
      const me = t.activeFacet;
      t.onStop(() => {
        if (this.holder !== me) return;
        this.machine = null;
        this.holder = null;
        this.handles.clear();
      });
      this.maybeReady();
    });
  }

  /** Stops watching the kernel. */
  close(): void {
    this.watch.close();
  }

  private maybeReady(): void {
    if (this.readySignalled || !this.initialDone || this.machine === null) return;
    this.readySignalled = true;
    this.onReady();
  }

  private drain(): void {
    const events = this.pending;
    this.pending = [];
    let routesMayBeStale = false;
    for (const e of events) {
      this.state.apply(e);
      // Removing an address or taking a link down drops routes without a DELROUTE (IPv4).
      if (e.op === 'del' && e.kind !== 'route') routesMayBeStale = true;
      if (e.kind === 'link' && e.op === 'new' && e.msg.data.flags?.up !== true) routesMayBeStale = true;
    }
    this.publish();
    if (routesMayBeStale) this.queueRouteDump();
  }

  private queueRouteDump(): void {
    if (this.routeDumpQueued) return;
    this.routeDumpQueued = true;
    setImmediate(() => {
      this.routeDumpQueued = false;
      void this.resync(['route']);
    });
  }

  /** Dumps `tables` (serialised) and replaces them; events meanwhile are applied afterwards. */
  private async resync(tables: readonly KernelTable[]): Promise<void> {
    this.dumping++;
    try {
      for (const table of tables) this.state.replaceTable(table, await this.watch.dump(table));
      this.dumpFailures = 0;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      note(err.message);
      if (++this.dumpFailures >= MAX_DUMP_FAILURES) {
        this.onFatal(err);
        return;
      }
      this.dumping--;
      await new Promise((r) => setTimeout(r, 200 * this.dumpFailures));
      return this.resync(tables);
    }
    this.dumping--;
    if (this.dumping === 0) this.drain();
  }

  private publish(): void {
    const changes = this.state.takeChanges();
    const holder = this.holder;
    if (changes.size === 0 || holder === null) return;
    holder.turn((t) => {
      if (this.machine === null) return;
      for (const [key, value] of changes) {
        const h = t.replace(this.machine, this.handles.get(key), value ?? undefined);
        if (h === undefined) this.handles.delete(key);
        else this.handles.set(key, h);
      }
    });
  }
}

/** `{machine: #:ref}` → the ref, else null. */
function machineOf(v: Assertion): Ref | null {
  const d = peel(v);
  if (!(d instanceof Dictionary)) return null;
  const e = peel(d.get(sym('machine')) ?? false);
  return e instanceof Embedded ? (e.value as Ref) : null;
}

/** Runs the program: resolves to an exit code on bad usage, else runs until stdin closes. */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<number | undefined> {
  let options: MonitorOptions;
  try {
    options = parseMonitorArgs(argv);
  } catch (e) {
    if (!(e instanceof MonitorUsageError)) throw e;
    process.stderr.write((e.message ? `interface-monitor: ${e.message}\n` : '') + USAGE + '\n');
    return e.message ? 2 : 0;
  }
  const signalReady = () => {
    if (options.readyFd === null) return;
    const fd = options.readyFd;
    // Ready once the published turn has left through stdout, not merely been queued.
    void settle().then(() => process.stdout.write('', () => {
      try {
        writeSync(fd, '\n');
        closeSync(fd);
      } catch (e) {
        note(`cannot signal readiness on fd ${fd}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }));
  };
  const monitor = new InterfaceMonitor(signalReady, (e) => {
    note(`giving up: ${e.message}`);
    process.exit(1);
  });
  const attached = new Map<Handle, Facet>();
  await serveStdio((t) => t.ref({
    assert(t, v, h) {
      const machine = machineOf(v);
      if (machine === null) {
        note('ignoring an assertion that is not {machine: #:ref}');
        return;
      }
      for (const f of attached.values()) t.stop(f); // the newest hand-over wins
      attached.clear();
      attached.set(h, monitor.attach(t, machine));
    },
    retract(t, h) {
      const f = attached.get(h);
      if (f === undefined) return;
      attached.delete(h);
      t.stop(f);
    },
  }), { name: 'interface-monitor' });
  return undefined;
}
