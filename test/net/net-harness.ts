// Plumbing for the network tests: network namespaces named after this process (removed again
// by the tests' `after` hooks), and the interface monitor run as the bus runs it — a child
// process in the namespace, its OID 0 imported over stdio and handed `{machine: #:ds}`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Actor, P, settle, type Ref } from '../../src/bus/index.ts';
import { Dictionary, Embedded, sym } from '../../src/preserves/index.ts';
import { attachRelay, type RelayHandle } from '../../src/relay/relay.ts';
import { showAssertion } from '../../src/bus/index.ts';
import { addressRecord, interfaceRecord, routeRecord, type OperationalState } from '../../src/net/network-assertions.ts';

/** The repository's top folder. */
export const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TOOLS = ['ip', 'udhcpc', 'dnsmasq'] as const;

function which(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws one clear line unless the network tests can run here: iproute2, udhcpc and dnsmasq
 * installed, and network namespaces can be made (root). Never a skip.
 */
export function requireNetworkTesting(): void {
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length > 0) {
    throw new Error(`network tests need ${missing.join(', ')}: apt-get install -y --no-install-recommends udhcpc dnsmasq-base iproute2 (as .ci/run does)`);
  }
  const probe = `syn-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
  } catch (e) {
    const why = e instanceof Error && 'stderr' in e ? String((e as { stderr: unknown }).stderr).trim() : String(e);
    throw new Error(`network tests need to make network namespaces (run as root): ip netns add failed: ${why}`);
  }
  execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
}

let counter = 0;

/** A network namespace this test process made; `remove()` deletes it and kills what runs in it. */
export class Netns {
  readonly name: string;
  private constructor(name: string) {
    this.name = name;
  }

  /** Makes `syn-TAG-PID-N` with its loopback up. */
  static create(tag: string): Netns {
    const name = `syn-${tag}-${process.pid}-${counter++}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    const ns = new Netns(name);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** Runs `ip -n NAME ARGS…` and returns its output; throws with ip's error text. */
  ip(...args: string[]): string {
    try {
      return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? '';
      throw new Error(`ip -n ${this.name} ${args.join(' ')}: ${stderr.trim()}`);
    }
  }

  /** Runs a batch of ip commands (one per line, as `ip -batch`). */
  ipBatch(lines: readonly string[]): void {
    execFileSync('ip', ['-n', this.name, '-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
  }

  /** Pids of every process running in this namespace. */
  pids(): number[] {
    try {
      return execFileSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Kills what still runs in the namespace and deletes it. */
  remove(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone already */ }
    }
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch { /* already gone */ }
  }
}

/** Resolves when `pred()` holds, checking after the engine settles and every 10 ms. */
export async function until(pred: () => boolean, what: () => string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await settle();
    if (pred()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what());
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A running interface monitor and the machine dataspace it publishes into. */
export interface MonitorRun {
  readonly child: ChildProcess;
  /** Resolves when the monitor signals readiness on fd 3. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code or signal once the process ended. */
  readonly exited: Promise<string>;
  /** The network assertions now in the machine dataspace, as text, sorted (duplicates kept). */
  assertions(): string[];
  /** Everything the monitor wrote to stderr. */
  stderr(): string;
  /** Stops the bus side and kills the process. */
  stop(): Promise<void>;
}

/** The bus side: one actor holding the machine dataspace and a record of what is in it. */
export class MachineSpace {
  readonly actor: Actor;
  machine!: Ref;
  private readonly seen = new Map<number, string>();

  constructor() {
    this.actor = Actor.boot('test-bus', (t) => {
      this.machine = t.dataspace('machine');
      for (const label of ['interface', 'address', 'route']) {
        t.observe(this.machine, P.bind(P.rec(label)), {
          added: (_t, [v], h) => void this.seen.set(h, showAssertion(v!)),
          removed: (_t, _c, h) => void this.seen.delete(h),
        });
      }
    });
  }

  /** Every network assertion, as text, sorted. */
  assertions(): string[] {
    return [...this.seen.values()].sort();
  }

  /** Starts `bin/interface-monitor.js` in `ns` and hands it this machine dataspace. */
  startMonitor(ns: Netns): MonitorRun {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, path.join(TOP, 'bin/interface-monitor.js'), '--ready-fd', '3'],
      { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => void (err += d));
    const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(signal ?? String(code))));
    const ready = new Promise<void>((resolve, reject) => {
      const fd3 = child.stdio[3] as NodeJS.ReadableStream;
      fd3.on('data', () => resolve());
      void exited.then((how) => reject(new Error(`interface monitor ended (${how}) before it was ready: ${err}`)));
    });
    ready.catch(() => {});
    let relay!: RelayHandle;
    this.actor.root.turn((t) => {
      relay = attachRelay(t, child.stdout!, child.stdin!, { syntax: 'binary', importOid0: true, name: 'monitor' });
      const hello = new Dictionary<Ref>();
      hello.set(sym('machine'), new Embedded<Ref>(this.machine));
      t.assert(relay.peer!, hello);
    });
    return {
      child,
      ready,
      exited,
      assertions: () => this.assertions(),
      stderr: () => err,
      stop: async () => {
        this.actor.root.turn((t) => t.stop(relay.facet));
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
        await settle();
      },
    };
  }

  /** Ends the actor. */
  close(): void {
    this.actor.root.turn((t) => t.stopActor());
  }
}

interface IpLink { ifindex: number; ifname: string; flags: string[]; operstate: string; link_type: string; address?: string }
interface IpAddr extends IpLink { addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }
interface IpRoute { dst: string; gateway?: string; dev?: string; metric?: number; tos?: string; type?: string }

const OPER: { [k: string]: OperationalState } = {
  UNKNOWN: 'unknown', NOTPRESENT: 'down', DOWN: 'down', LOWERLAYERDOWN: 'lower-layer-down', TESTING: 'testing', DORMANT: 'dormant', UP: 'up',
};

/**
 * What the monitor should be asserting, computed independently of it from `ip -j` output:
 * the oracle of the convergence tests.
 */
export function kernelView(ns: Netns): string[] {
  const out: string[] = [];
  const links = JSON.parse(ns.ip('-j', 'link', 'show')) as IpLink[];
  for (const l of links) {
    out.push(showAssertion(interfaceRecord({
      name: l.ifname, index: l.ifindex, type: l.link_type === 'loopback' ? 'loopback' : 'normal',
      administrativeState: l.flags.includes('UP') ? 'up' : 'down',
      operationalState: OPER[l.operstate] ?? 'unknown',
      carrier: l.flags.includes('LOWER_UP') ? 'carrier' : 'no-carrier',
      linkAddr: l.address ?? '',
    })));
  }
  const addrs = JSON.parse(ns.ip('-j', 'addr', 'show')) as IpAddr[];
  for (const l of addrs) {
    for (const a of l.addr_info) {
      out.push(showAssertion(addressRecord({
        interfaceName: l.ifname, family: a.family === 'inet' ? 'ipv4' : 'ipv6', address: `${a.local}/${a.prefixlen}`,
        scope: a.scope === 'global' ? 'global' : a.scope === 'link' ? 'link' : a.scope === 'host' ? 'host' : a.scope === 'site' ? 'site' : 'nowhere',
      })));
    }
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    const routes = JSON.parse(ns.ip('-j', family === 'ipv4' ? '-4' : '-6', 'route', 'show', 'table', 'main')) as IpRoute[];
    for (const r of routes) {
      if (r.type !== undefined && r.type !== 'unicast') continue;
      const full = family === 'ipv4' ? '/32' : '/128';
      out.push(showAssertion(routeRecord({
        family, destination: r.dst === 'default' ? 'default' : r.dst.includes('/') ? r.dst : r.dst + full,
        priority: r.metric ?? 0, typeOfService: r.tos === undefined ? 0 : Number(r.tos),
        interfaceName: r.dev ?? null, gateway: r.gateway ?? null,
      })));
    }
  }
  return out.sort();
}

/** A process started in a namespace, with its output kept. */
export interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<string>;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `argv` inside `ns` (through `ip netns exec`, which execs it: the pid is the program's). */
export function startIn(ns: Netns, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Started {
  const child = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => void (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => void (out += d));
  const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(signal ?? String(code))));
  return {
    child,
    exited,
    output: () => out,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * dnsmasq as the DHCP server on `iface` in `ns` (which has ROUTER/24 on it), handing out
 * FIRST..LAST with ROUTER as the router; resolves once it listens on port 67.
 */
export async function startDhcpServer(ns: Netns, iface: string, router: string, first: string, last: string, dir: string): Promise<Started> {
  const d = startIn(ns, ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', `--interface=${iface}`,
    '--bind-interfaces', '--except-interface=lo', `--dhcp-range=${first},${last},255.255.255.0,1h`,
    `--dhcp-option=option:router,${router}`, `--dhcp-leasefile=${dir}/leases`, `--pid-file=${dir}/dnsmasq.pid`, '--no-ping']);
  await until(() => {
    const udp = execFileSync('ip', ['netns', 'exec', ns.name, 'cat', '/proc/net/udp'], { encoding: 'utf8' });
    return /:0043 /.test(udp) || d.child.exitCode !== null;
  }, () => 'dnsmasq to listen on port 67', 15_000);
  if (d.child.exitCode !== null) throw new Error(`dnsmasq ended: ${d.output()}`);
  return d;
}
